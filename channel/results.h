// -----------------------------------------------------------------------------
// File: results.h
// -----------------------------------------------------------------------------
//
// What channel operations return. A send that fails hands the value back
// with the error, so nothing is lost on a full or closed channel; a receive
// that fails says why.
//
//   troupe::SendResult<Job> sent = tx.TrySend(std::move(job));
//   if (!sent.ok() && sent.error() == troupe::SendError::kFull) Retry(sent.TakeValue());
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
#include "base/stringify.h"

namespace troupe {

// The two errors mirror each other, as crossbeam's TrySendError and
// TryRecvError do: "full" is a send's "empty"; closed and timed out mean the
// same on both sides.
enum class SendError : unsigned char {
  kFull,       // TrySend on a full bounded channel, or no receiver waiting (capacity 0)
  kClosed,     // the channel is closed, or every receiver is gone
  kTimedOut,   // SendFor/SendUntil ran out of time
  kCancelled,  // the task waiting to send was cancelled (async/channel.h)
};

enum class RecvError : unsigned char {
  kEmpty,      // TryRecv found nothing (or no sender waiting, capacity 0)
  kClosed,     // closed and drained: nothing more will ever arrive
  kTimedOut,   // RecvFor/RecvUntil ran out of time
  kCancelled,  // the task waiting to receive was cancelled (async/channel.h)
};

// "full", "empty", "closed", "timed out", "cancelled".
std::string_view SendErrorName(SendError error);
std::string_view RecvErrorName(RecvError error);

template <typename Sink>
void AbslStringify(Sink& sink, SendError error) {
  sink.Append(SendErrorName(error));
}
template <typename Sink>
void AbslStringify(Sink& sink, RecvError error) {
  sink.Append(RecvErrorName(error));
}

// SendResult<T>
//
// Success, or the error and the value that could not be sent. Asking a
// result for what it does not hold (the error of a success, the value of a
// success) is a bug in the caller: TROUPE_CHECK, as for RecvResult.
template <typename T>
class [[nodiscard]] SendResult {
 public:
  // GCC 12 may warn that returning an empty optional copies its unset
  // payload (GCC bug 80635, a false positive for trivially copyable T).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  static SendResult Sent() { return SendResult(); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  static SendResult Failed(SendError error, T value) {
    SendResult r;
    r.error_ = error;
    r.value_.emplace(std::move(value));
    return r;
  }

  bool ok() const { return !value_.has_value(); }
  explicit operator bool() const { return ok(); }

  SendError error() const {
    TROUPE_CHECK(!ok(), "SendResult::error() on a send that succeeded");
    return error_;
  }
  // The value that was not sent.
  T& value() & {
    TROUPE_CHECK(!ok(), "SendResult::value() on a send that succeeded");
    return *value_;
  }
  T TakeValue() {
    TROUPE_CHECK(!ok(), "SendResult::TakeValue() on a send that succeeded");
    return std::move(*value_);
  }

 private:
  SendResult() = default;
  SendError error_ = SendError::kClosed;
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
    TROUPE_CHECK(!ok(), "RecvResult::error() on a receive that succeeded");
    return error_;
  }
  T& value() & {
    TROUPE_CHECK(ok(), "RecvResult::value() on a failed receive ({})", RecvErrorName(error_));
    return *value_;
  }
  T&& value() && {
    TROUPE_CHECK(ok(), "RecvResult::value() on a failed receive ({})", RecvErrorName(error_));
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
