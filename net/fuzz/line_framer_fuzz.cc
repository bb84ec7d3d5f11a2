// Fuzzes LineFramer against a reference model: the whole input split on
// "\n" at once. Whatever the split into Push() calls (the first input bytes
// choose it, and the maximum line length), the framer must give the lines
// the model gives, fail exactly when the model says a line is too long, and
// every line it gives must frame and read back as itself, or be refused by
// Frame() for ending in "\r".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "net/framing.h"

namespace {

struct Model {
  std::vector<std::string> lines;
  bool failed = false;
};

// The contract of LineFramer, written as plainly as possible.
Model Reference(std::string_view input, size_t max_line) {
  Model model;
  size_t at = 0;
  while (true) {
    const size_t end = input.find('\n', at);
    if (end == std::string_view::npos) {
      // An incomplete line may hold one byte more: a "\r" its end may drop.
      if (input.size() - at > max_line + 1) model.failed = true;
      return model;
    }
    std::string line(input.substr(at, end - at));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > max_line) {
      model.failed = true;
      return model;
    }
    model.lines.push_back(std::move(line));
    at = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_line = data[0] % 64;
  const uint8_t split_seed = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  troupe::net::LineFramer framer(max_line);
  std::vector<std::string> lines;
  bool failed = false;
  size_t at = 0;
  size_t step = 0;
  while (at < input.size() && !failed) {
    const size_t chunk = 1 + (split_seed + step * 7) % 13;  // 1..13 bytes, varying
    ++step;
    failed = !framer.Push(input.substr(at, chunk)).ok();
    at += chunk;
    while (std::optional<std::string> line = framer.Next()) lines.push_back(*std::move(line));
  }

  const Model model = Reference(input, max_line);
  TROUPE_CHECK(failed == model.failed, "framer failed: {}, model failed: {}", failed, model.failed);
  if (!failed) {
    TROUPE_CHECK(lines == model.lines, "the framer's lines differ from the model's");
  } else {
    // Lines before the failure still came out, as the model's did.
    TROUPE_CHECK(lines.size() <= model.lines.size(), "more lines than the model");
    for (size_t i = 0; i < lines.size(); ++i)
      TROUPE_CHECK(lines[i] == model.lines[i], "line {}", i);
  }
  for (const std::string& line : lines) {
    const absl::StatusOr<std::string> framed = troupe::net::LineFramer::Frame(line);
    const bool ends_in_cr = !line.empty() && line.back() == '\r';
    TROUPE_CHECK(framed.ok() == !ends_in_cr, "Frame() of a line read back: {}",
                 framed.status().ToString());
    if (!framed.ok()) continue;
    troupe::net::LineFramer again(line.size());
    TROUPE_CHECK(again.Push(*framed).ok(), "a framed line did not read back");
    std::optional<std::string> back = again.Next();
    TROUPE_CHECK(back.has_value() && *back == line && !again.Next().has_value(),
                 "a framed line read back as something else");
  }
  return 0;
}
