// Fuzzes LengthPrefixFramer against a reference model: the input parsed as
// 4-byte big-endian lengths and payloads in one go. Whatever the split into
// Push() calls, the framer must give the model's frames and fail exactly
// when an announced length exceeds the maximum; every frame must frame and
// read back as itself.

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
  std::vector<std::string> frames;
  bool failed = false;
};

Model Reference(std::string_view input, size_t max_frame) {
  Model model;
  size_t at = 0;
  while (input.size() - at >= 4) {
    const auto* p = reinterpret_cast<const unsigned char*>(input.data() + at);
    const size_t length = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (length > max_frame) {
      model.failed = true;
      return model;
    }
    if (input.size() - at - 4 < length) return model;  // incomplete: no error yet
    model.frames.emplace_back(input.substr(at + 4, length));
    at += 4 + length;
  }
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_frame = data[0] % 128;
  const uint8_t split_seed = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  troupe::net::LengthPrefixFramer framer(max_frame);
  std::vector<std::string> frames;
  bool failed = false;
  size_t at = 0;
  for (size_t step = 0; at < input.size() && !failed; ++step) {
    const size_t chunk = 1 + (split_seed + step * 5) % 11;
    failed = !framer.Push(input.substr(at, chunk)).ok();
    at += chunk;
    while (std::optional<std::string> frame = framer.Next()) frames.push_back(*std::move(frame));
  }

  const Model model = Reference(input, max_frame);
  TROUPE_CHECK(failed == model.failed, "framer failed: {}, model failed: {}", failed, model.failed);
  if (!failed) {
    TROUPE_CHECK(frames == model.frames, "the framer's frames differ from the model's");
  } else {
    TROUPE_CHECK(frames.size() <= model.frames.size(), "more frames than the model");
    for (size_t i = 0; i < frames.size(); ++i)
      TROUPE_CHECK(frames[i] == model.frames[i], "frame {}", i);
  }
  for (const std::string& frame : frames) {
    const absl::StatusOr<std::string> framed = troupe::net::LengthPrefixFramer::Frame(frame);
    TROUPE_CHECK(framed.ok(), "Frame(): {}", framed.status().ToString());
    troupe::net::LengthPrefixFramer again(frame.size());
    TROUPE_CHECK(again.Push(*framed).ok(), "a framed payload did not read back");
    std::optional<std::string> back = again.Next();
    TROUPE_CHECK(back.has_value() && *back == frame && !again.Next().has_value(),
                 "a framed payload read back as something else");
  }
  return 0;
}
