// -----------------------------------------------------------------------------
// File: framing.h
// -----------------------------------------------------------------------------
//
// Turning a byte stream into messages: lines, or length-prefixed frames (a
// 4-byte big-endian length, then that many bytes: the usual way to carry
// protobuf messages on a stream).
//
//   troupe::net::LineFramer lines(/*max_line=*/4096);
//   .On<troupe::net::Received>([this](const troupe::net::Received& r) {
//     if (absl::Status s = lines_.Push(r.data); !s.ok()) {
//       connection_.Abort(std::string(s.message()));   // over-long: drop the client
//       return;
//     }
//     while (std::optional<std::string> line = lines_.Next()) Handle(*line);
//   })
//
//   absl::StatusOr<std::string> framed =
//       troupe::net::LengthPrefixFramer::Frame(message.SerializeAsString());
//   if (framed.ok()) connection.Write(*std::move(framed));
//
// Frame() refuses what its reader could not give back unchanged: a line
// with "\n" in it (it would arrive as two lines) or ending in "\r" (the
// reader drops a "\r" before the end), a payload of 4 GiB or more (the length
// has 4 bytes). Both are kInvalidArgument, never a silently altered message.
//
// A framer keeps its partial input between Push() calls; it is the
// connection actor's own state (not thread-safe, and needs not be).

#ifndef TROUPE_NET_FRAMING_H_
#define TROUPE_NET_FRAMING_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace troupe::net {

// Lines end with "\n" (a "\r" before it is dropped too). A line longer than
// `max_line` bytes (without its end) is an error: kResourceExhausted from
// Push(), after which the framer stays failed.
class LineFramer {
 public:
  explicit LineFramer(size_t max_line = 64 << 10) : max_line_(max_line) {}

  absl::Status Push(std::string_view bytes);
  // The next complete line, without its end; nullopt if none is complete.
  std::optional<std::string> Next();
  // Bytes of an incomplete line held back.
  size_t partial() const { return partial_.size(); }

  // `line` + "\n"; kInvalidArgument if `line` holds a "\n" or ends in "\r".
  static absl::StatusOr<std::string> Frame(std::string_view line);

 private:
  const size_t max_line_;
  std::string partial_;
  std::deque<std::string> lines_;
  absl::Status status_;
};

// Frames of at most `max_frame` bytes; a larger announced length is an
// error (kResourceExhausted), after which the framer stays failed.
class LengthPrefixFramer {
 public:
  explicit LengthPrefixFramer(size_t max_frame = 16 << 20) : max_frame_(max_frame) {}

  absl::Status Push(std::string_view bytes);
  std::optional<std::string> Next();
  size_t partial() const { return buffer_.size(); }

  // The 4-byte big-endian length of `payload`, then `payload`;
  // kInvalidArgument if the length does not fit in 4 bytes.
  static absl::StatusOr<std::string> Frame(std::string_view payload);

 private:
  const size_t max_frame_;
  std::string buffer_;
  std::deque<std::string> frames_;
  absl::Status status_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_FRAMING_H_
