// Fuzzes the sample's HTTP request parser. The reference model is the
// parser itself fed the whole input at once: fed in pieces (the first input
// byte chooses them) it must give the same requests and the same verdict.
// And whatever the input: no crash, an error is 400 or 431, a method or
// target never holds a space or a line break, a head over the limit is 431.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "samples/http_hello/http_parser.h"

namespace {

struct Outcome {
  std::vector<std::string> requests;  // "METHOD TARGET keep-alive?"
  int error = 0;
};

Outcome Parse(std::string_view input, size_t chunk_seed, bool whole) {
  http_hello::HttpParser parser;
  Outcome outcome;
  size_t at = 0;
  for (size_t step = 0; at < input.size(); ++step) {
    const size_t chunk = whole ? input.size() : 1 + (chunk_seed + step * 11) % 29;
    parser.Push(input.substr(at, chunk));
    at += chunk;
    while (std::optional<http_hello::HttpParser::Request> request = parser.Next()) {
      for (const std::string* field : {&request->method, &request->target}) {
        TROUPE_CHECK(field->find_first_of(" \r\n") == std::string::npos,
                     "a method or target with a space or line break: {}", *field);
      }
      outcome.requests.push_back(request->method + " " + request->target +
                                 (request->keep_alive ? " keep-alive" : " close"));
    }
    TROUPE_CHECK(parser.partial() <= at, "more partial bytes than were pushed");
    if (parser.failed()) break;
  }
  outcome.error = parser.error_status();
  TROUPE_CHECK(outcome.error == 0 || outcome.error == 400 || outcome.error == 431,
               "error status {}", outcome.error);
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = Parse(input, 0, /*whole=*/true);
  const Outcome pieces = Parse(input, data[0], /*whole=*/false);
  TROUPE_CHECK(whole.requests == pieces.requests, "pieces gave other requests than the whole");
  TROUPE_CHECK(whole.error == pieces.error, "pieces failed with {}, the whole with {}",
               pieces.error, whole.error);
  return 0;
}
