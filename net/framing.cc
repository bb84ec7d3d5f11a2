#include "net/framing.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace troupe::net {

absl::Status LineFramer::Push(std::string_view bytes) {
  if (!status_.ok()) return status_;
  while (!bytes.empty()) {
    const size_t end = bytes.find('\n');
    partial_.append(bytes.substr(0, end));  // at most one read's worth
    // Without its end yet, a line may hold one more byte: a "\r" to drop.
    const bool complete = end != std::string_view::npos;
    if (complete && !partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    if (partial_.size() > max_line_ + (complete ? 0 : 1)) {
      status_ =
          absl::ResourceExhaustedError(absl::StrCat("line longer than ", max_line_, " bytes"));
      partial_.clear();
      return status_;
    }
    if (!complete) break;
    lines_.push_back(std::move(partial_));
    partial_.clear();
    bytes.remove_prefix(end + 1);
  }
  return absl::OkStatus();
}

std::optional<std::string> LineFramer::Next() {
  if (lines_.empty()) return std::nullopt;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

absl::StatusOr<std::string> LineFramer::Frame(std::string_view line) {
  if (const size_t at = line.find('\n'); at != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("a line cannot hold \"\\n\" (at byte ", at,
                                                   " of ", line.size(),
                                                   "): it would be read back as two lines"));
  }
  if (!line.empty() && line.back() == '\r') {
    return absl::InvalidArgumentError(
        "a line cannot end in \"\\r\": the reader drops a \"\\r\" before the end");
  }
  std::string framed(line);
  framed.push_back('\n');
  return framed;
}

absl::Status LengthPrefixFramer::Push(std::string_view bytes) {
  if (!status_.ok()) return status_;
  buffer_.append(bytes);
  size_t at = 0;
  while (buffer_.size() - at >= 4) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + at);
    const size_t length = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (length > max_frame_) {
      status_ = absl::ResourceExhaustedError(
          absl::StrCat("frame of ", length, " bytes exceeds the maximum of ", max_frame_));
      buffer_.clear();
      return status_;
    }
    if (buffer_.size() - at - 4 < length) break;
    frames_.push_back(buffer_.substr(at + 4, length));
    at += 4 + length;
  }
  buffer_.erase(0, at);
  return absl::OkStatus();
}

std::optional<std::string> LengthPrefixFramer::Next() {
  if (frames_.empty()) return std::nullopt;
  std::string frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

absl::StatusOr<std::string> LengthPrefixFramer::Frame(std::string_view payload) {
  const size_t n = payload.size();
  if (n > 0xffff'ffffu) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a payload of ", n, " bytes does not fit a 4-byte length (at most 4294967295)"));
  }
  std::string framed;
  framed.reserve(4 + n);
  framed.push_back(static_cast<char>((n >> 24) & 0xff));
  framed.push_back(static_cast<char>((n >> 16) & 0xff));
  framed.push_back(static_cast<char>((n >> 8) & 0xff));
  framed.push_back(static_cast<char>(n & 0xff));
  framed.append(payload);
  return framed;
}

}  // namespace troupe::net
