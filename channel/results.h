// -----------------------------------------------------------------------------
// File: results.h
// -----------------------------------------------------------------------------
//
// What channel operations return. A send that fails hands the value back
// with the reason, so nothing is lost on a full or closed channel; a receive
// that fails says why.
//
//   troupe::SendResult<Job> sent = tx.TrySend(std::move(job));
//   if (!sent.ok() && sent.reason() == troupe::SendErrorReason::kFull) Retry(sent.TakeValue());
//
//   troupe::RecvResult<Job> got = rx.RecvFor(absl::Seconds(1));
//   if (got.ok()) Run(*got);
//   else if (got.error() == troupe::RecvError::kClosed) return;   // drained and closed
//
// Both are small, [[nodiscard]] value types (channel operations are hot
// paths, so no absl::Status here; see docs/api_contract.md).

#ifndef TROUPE_CHANNEL_RESULTS_H_
#define TROUPE_CHANNEL_RESULTS_H_

#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>

#include "base/check.h"

namespace troupe {

enum class SendErrorReason : unsigned char {
  kFull,      // TrySend on a full bounded channel, or no receiver waiting (capacity 0)
  kClosed,    // the channel is closed, or every receiver is gone
  kTimedOut,  // SendFor/SendUntil ran out of time
};

enum class RecvError : unsigned char {
  kEmpty,     // TryRecv found nothing (or no sender waiting, capacity 0)
  kClosed,    // closed and drained: nothing more will ever arrive
  kTimedOut,  // RecvFor/RecvUntil ran out of time
};

std::string_view ToString(SendErrorReason reason);
std::string_view ToString(RecvError error);

// SendResult<T>
//
// Success, or the reason and the value that could not be sent.
template <typename T>
class [[nodiscard]] SendResult {
 public:
  static SendResult Sent() { return SendResult(); }
  static SendResult Failed(SendErrorReason reason, T value) {
    SendResult r;
    r.reason_ = reason;
    r.value_.emplace(std::move(value));
    return r;
  }

  bool ok() const { return !value_.has_value(); }
  explicit operator bool() const { return ok(); }

  // The reason and the returned value; only when !ok().
  SendErrorReason reason() const {
    TROUPE_DCHECK(!ok());
    return reason_;
  }
  T& value() & {
    TROUPE_DCHECK(!ok());
    return *value_;
  }
  T TakeValue() {
    TROUPE_DCHECK(!ok());
    return std::move(*value_);
  }

 private:
  SendResult() = default;
  SendErrorReason reason_ = SendErrorReason::kClosed;
  std::optional<T> value_;
};

// RecvResult<T>
//
// A received value, or why there is none.
template <typename T>
class [[nodiscard]] RecvResult {
 public:
  RecvResult(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  RecvResult(RecvError error) : error_(error) {}     // NOLINT

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  RecvError error() const {
    TROUPE_DCHECK(!ok());
    return error_;
  }
  T& value() & {
    TROUPE_CHECK(ok(), "RecvResult::value() on a failed receive ({})", ToString(error_));
    return *value_;
  }
  T&& value() && {
    TROUPE_CHECK(ok(), "RecvResult::value() on a failed receive ({})", ToString(error_));
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }

 private:
  std::optional<T> value_;
  RecvError error_ = RecvError::kEmpty;
};

namespace channel_internal {

// The input iterator behind range-for over a receiver (`Receiver` needs a
// `Recv()` returning RecvResult<T>): it receives until closed and drained.
template <typename Receiver, typename T>
class RecvIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  using pointer = T*;
  using reference = T&;

  RecvIterator() = default;  // the end
  explicit RecvIterator(Receiver* receiver) : receiver_(receiver) { Advance(); }

  T& operator*() { return *current_; }
  T* operator->() { return &*current_; }
  RecvIterator& operator++() {
    Advance();
    return *this;
  }
  bool operator==(const RecvIterator& other) const { return receiver_ == other.receiver_; }
  bool operator!=(const RecvIterator& other) const { return !(*this == other); }

 private:
  void Advance() {
    RecvResult<T> next = receiver_->Recv();
    if (next.ok()) {
      current_.emplace(std::move(next).value());
    } else {
      current_.reset();
      receiver_ = nullptr;  // become the end iterator
    }
  }
  Receiver* receiver_ = nullptr;
  std::optional<T> current_;
};

}  // namespace channel_internal
}  // namespace troupe

#endif  // TROUPE_CHANNEL_RESULTS_H_
