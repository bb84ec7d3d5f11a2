// -----------------------------------------------------------------------------
// File: internal/stream_fused.h
// -----------------------------------------------------------------------------
//
// The stream adapters and sources that are plain objects, not coroutines
// (async/stream.h, "Fused"): each Next() returns an awaiter that wraps the
// source's, so a chain whose source has its items at once runs as a loop
// in the consumer's frame. Included at the end of async/stream.h.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_STREAM_FUSED_H_
#define TROUPE_ASYNC_INTERNAL_STREAM_FUSED_H_

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "async/stream.h"
#include "async/task.h"
#include "base/check.h"

namespace troupe::async_internal {

// MadeBy{make}: converts to what `make()` returns. `optional.emplace(
// MadeBy<F>{make})` builds the value straight from make()'s result (g++ and
// clang elide the move, as they do for a prvalue), where `emplace(make())`
// would move it in: a protobuf message's move is a default construction
// and a swap, and a destruction follows it (bench S3: ~55 instructions an
// item through Map).
template <typename Make>
struct MadeBy {
  Make& make;
  operator std::invoke_result_t<Make&>() const { return make(); }  // NOLINT: implicit on purpose
};

// Slot<T>: an optional T that is only ever built in place and read field
// by field. Adapters keep their source's awaiter and their item in slots,
// not in std::optional: a std::optional of a small T is copied as one
// 16-byte block, and reading back as one block what was just written as a
// value and a flag stalls on the store buffer every item (bench S1: ~20 ns
// an item with optionals).
template <typename T>
class Slot {
 public:
  Slot() noexcept {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() { Reset(); }

  // Builds the value from what `make()` returns, with no copy or move.
  template <typename Make>
  void EmplaceFrom(Make&& make) {
    TROUPE_DCHECK(!full_, "a stream slot built twice (an awaiter asked twice if it is ready?)");
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<Make>(make)());
    full_ = true;
  }
  void Emplace(T&& value) {
    EmplaceFrom([&value] { return std::move(value); });
  }

  bool full() const { return full_; }
  T& operator*() { return value_; }
  T* operator->() { return std::addressof(value_); }

  void Reset() {
    if (full_) {
      full_ = false;
      value_.~T();
    }
  }

  // The value, moved out (the slot is then empty), or nullopt.
  std::optional<T> Take() {
    if (!full_) return std::nullopt;
    std::optional<T> out(std::move(value_));
    Reset();
    return out;
  }

 private:
  union {
    T value_;
  };
  bool full_ = false;
};

// An awaitable whose item (or end) is known at once.
template <typename T>
class ReadyItem {
 public:
  ReadyItem() = default;  // the end
  explicit ReadyItem(T&& item) { item_.Emplace(std::move(item)); }
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  std::optional<T> await_resume() { return item_.Take(); }

 private:
  Slot<T> item_;
};

// Awaits `*awaiter` where it is. (g++ 12 copies an awaiter named by an
// lvalue in a co_await, which an adapter's in-place awaiters cannot be.)
// `asked`: its await_ready() has said false already; an awaiter is asked
// that only once (a channel's tries its channel there).
template <typename Awaiter>
class AwaitInPlace {
 public:
  explicit AwaitInPlace(Awaiter& awaiter, bool asked = false) : awaiter_(awaiter), asked_(asked) {}
  bool await_ready() { return !asked_ && awaiter_.await_ready(); }
  template <typename Promise>
  decltype(auto) await_suspend(std::coroutine_handle<Promise> awaiting) {
    return awaiter_.await_suspend(awaiting);
  }
  decltype(auto) await_resume() { return awaiter_.await_resume(); }

 private:
  Awaiter& awaiter_;
  const bool asked_;
};

// The awaitable that stream S's Next() returns.
template <typename S>
using NextOf = decltype(std::declval<S&>().Next());

// The part of an adapter's awaiter that forwards its source's: the adapter
// (`self_`), and the source's awaiter, in place (none once the adapter has
// ended), asked once whether it is ready, and suspended on as it is.
template <typename Adapter, typename S>
class ForwardingAwaiter {
 public:
  bool await_ready() { return !inner_.full() || inner_->await_ready(); }
  template <typename Promise>
  decltype(auto) await_suspend(std::coroutine_handle<Promise> consumer) {
    return inner_->await_suspend(consumer);
  }

 protected:
  // `pull`: false once the adapter has ended (the source is not pulled).
  ForwardingAwaiter(Adapter* self, S& source, bool pull) : self_(self) {
    if (pull) inner_.EmplaceFrom([&source] { return source.Next(); });
  }
  // The source's item; nullopt at its end, or if it was not pulled.
  std::optional<typename S::value_type> TakeInner() {
    if (!inner_.full()) return std::nullopt;
    return inner_->await_resume();
  }

  Adapter* const self_;

 private:
  Slot<NextOf<S>> inner_;
};

// MapStream: see StreamOps::Map().
template <typename S, typename F>
class MapStream : public StreamOps<MapStream<S, F>> {
 public:
  using value_type = std::remove_cvref_t<std::invoke_result_t<F&, typename S::value_type&&>>;

  MapStream(S source, F fn) : source_(std::move(source)), fn_(std::move(fn)) {}

  // Forwards the source's wait; maps the item as the consumer takes it.
  class Awaiter : public ForwardingAwaiter<MapStream, S> {
   public:
    explicit Awaiter(MapStream* self)
        : ForwardingAwaiter<MapStream, S>(self, self->source_, self->failure_.ok()) {}
    std::optional<value_type> await_resume() {
      std::optional<value_type> mapped;  // one return: built in the caller's
      std::optional<typename S::value_type> item = this->TakeInner();
      if (item) {
        try {
          auto map = [&] { return std::invoke(this->self_->fn_, std::move(*item)); };
          mapped.emplace(MadeBy<decltype(map)>{map});
        } catch (...) {
          this->self_->failure_ = async_internal::StatusFromStageException();
        }
      }
      return mapped;
    }
  };

  Awaiter Next() { return Awaiter(this); }
  absl::Status status() const { return failure_.ok() ? source_.status() : failure_; }

 private:
  S source_;
  F fn_;
  absl::Status failure_;
};

// FilterStream: see StreamOps::Filter().
template <typename S, typename P>
class FilterStream : public StreamOps<FilterStream<S, P>> {
 public:
  using value_type = typename S::value_type;

  FilterStream(S source, P pred) : source_(std::move(source)), pred_(std::move(pred)) {}

  // Pulls in await_ready() for as long as the source's items come at once;
  // when the source must wait, the rest of the pull runs in a small
  // coroutine (PullRest) that the consumer awaits.
  class Awaiter {
   public:
    explicit Awaiter(FilterStream* self) : self_(self) {}

    bool await_ready() {
      if (!self_->failure_.ok()) return true;
      while (true) {
        pending_.EmplaceFrom([this] { return self_->source_.Next(); });
        if (!pending_->await_ready()) return false;
        std::optional<value_type> item = pending_->await_resume();
        pending_.Reset();
        if (self_->Settles(item)) {
          if (item) item_.Emplace(std::move(*item));
          return true;
        }
      }
    }
    template <async_internal::TaskPromise Promise>
    void await_suspend(std::coroutine_handle<Promise> consumer) {
      rest_ = self_->PullRest(&pending_, &item_);
      async_internal::TaskAwaiter<void>{rest_.handle()}.await_suspend(consumer);
    }
    std::optional<value_type> await_resume() {
      if (rest_.valid()) {
        // PullRest catches what the predicate throws; anything else that
        // ends it early is a bug of troupe's.
        absl::Status ended = rest_.handle().promise().TakeResult();
        TROUPE_CHECK(ended.ok(), "a stream's filter ended with {}", ended.ToString());
      }
      return item_.Take();
    }

   private:
    FilterStream* self_;
    async_internal::Slot<async_internal::NextOf<S>> pending_;
    async_internal::Slot<value_type> item_;
    Task<void> rest_;
  };

  Awaiter Next() { return Awaiter(this); }
  absl::Status status() const { return failure_.ok() ? source_.status() : failure_; }

 private:
  // True if `item` ends the pull: the source's end, an item the predicate
  // keeps, or an exception from the predicate (which ends the stream).
  bool Settles(std::optional<value_type>& item) {
    if (!item) return true;
    try {
      if (std::invoke(pred_, std::as_const(*item))) return true;
    } catch (...) {
      failure_ = async_internal::StatusFromStageException();
      item.reset();
      return true;
    }
    return false;
  }

  // The rest of a pull whose source had to wait: `pending` (the source's
  // awaiter, in the consumer's Awaiter, which outlives this) first.
  Task<void> PullRest(async_internal::Slot<async_internal::NextOf<S>>* pending,
                      async_internal::Slot<value_type>* out) {
    std::optional<value_type> item =
        co_await async_internal::AwaitInPlace(**pending, /*asked=*/true);
    pending->Reset();
    while (!Settles(item)) {
      pending->EmplaceFrom([this] { return source_.Next(); });
      item = co_await async_internal::AwaitInPlace(**pending);
      pending->Reset();
    }
    if (item) out->Emplace(std::move(*item));
  }

  S source_;
  P pred_;
  absl::Status failure_;
};

// TakeStream: see StreamOps::Take().
template <typename S>
class TakeStream : public StreamOps<TakeStream<S>> {
 public:
  using value_type = typename S::value_type;

  TakeStream(S source, int64_t n) : source_(std::move(source)), left_(n) {}

  class Awaiter : public ForwardingAwaiter<TakeStream, S> {
   public:
    explicit Awaiter(TakeStream* self)
        : ForwardingAwaiter<TakeStream, S>(self, self->source_, self->left_ > 0) {}
    std::optional<value_type> await_resume() {
      std::optional<value_type> item = this->TakeInner();
      if (item) --this->self_->left_;
      return item;
    }
  };

  Awaiter Next() { return Awaiter(this); }
  // Ended by the count: OK, whatever the source would have done next.
  absl::Status status() const { return left_ <= 0 ? absl::OkStatus() : source_.status(); }

 private:
  S source_;
  int64_t left_;
};

// TakeWhileStream: see StreamOps::TakeWhile().
template <typename S, typename P>
class TakeWhileStream : public StreamOps<TakeWhileStream<S, P>> {
 public:
  using value_type = typename S::value_type;

  TakeWhileStream(S source, P pred) : source_(std::move(source)), pred_(std::move(pred)) {}

  class Awaiter : public ForwardingAwaiter<TakeWhileStream, S> {
   public:
    explicit Awaiter(TakeWhileStream* self)
        : ForwardingAwaiter<TakeWhileStream, S>(self, self->source_, !self->stopped_) {}
    std::optional<value_type> await_resume() {
      std::optional<value_type> item = this->TakeInner();
      if (!item) return std::nullopt;
      try {
        if (std::invoke(this->self_->pred_, std::as_const(*item))) return item;
      } catch (...) {
        this->self_->failure_ = async_internal::StatusFromStageException();
      }
      this->self_->stopped_ = true;
      return std::nullopt;
    }
  };

  Awaiter Next() { return Awaiter(this); }
  absl::Status status() const {
    if (!failure_.ok()) return failure_;
    return stopped_ ? absl::OkStatus() : source_.status();
  }

 private:
  S source_;
  P pred_;
  bool stopped_ = false;
  absl::Status failure_;
};

// -- Sources -------------------------------------------------------------------

// RangeStream: see Range().
template <std::integral T>
class RangeStream : public StreamOps<RangeStream<T>> {
 public:
  using value_type = T;

  RangeStream(T begin, T end) : next_(begin), end_(end) {}

  async_internal::ReadyItem<T> Next() {
    if (next_ >= end_) return async_internal::ReadyItem<T>();
    return async_internal::ReadyItem<T>(next_++);
  }
  absl::Status status() const { return absl::OkStatus(); }

 private:
  T next_;
  T end_;
};

// IterateStream: see Iterate().
template <std::ranges::random_access_range Container>
class IterateStream : public StreamOps<IterateStream<Container>> {
 public:
  using value_type = typename Container::value_type;

  explicit IterateStream(Container items) : items_(std::move(items)) {}
  IterateStream(IterateStream&& other) noexcept
      : items_(std::move(other.items_)), taken_(std::exchange(other.taken_, 0)) {}
  IterateStream& operator=(IterateStream&& other) noexcept {
    items_ = std::move(other.items_);
    taken_ = std::exchange(other.taken_, 0);
    return *this;
  }

  async_internal::ReadyItem<value_type> Next() {
    if (taken_ >= std::ranges::size(items_)) return async_internal::ReadyItem<value_type>();
    return async_internal::ReadyItem<value_type>(std::move(std::ranges::begin(items_)[taken_++]));
  }
  absl::Status status() const { return absl::OkStatus(); }

 private:
  Container items_;
  size_t taken_ = 0;
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_STREAM_FUSED_H_
