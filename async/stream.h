// -----------------------------------------------------------------------------
// File: stream.h
// -----------------------------------------------------------------------------
//
// Streams: a flow of items pulled one at a time by a task. `Stream<T>` is an
// async generator — a coroutine that `co_yield`s items and may `co_await`
// anything a task can — and every stream, a generator or one of the
// adapters below, is consumed the same way:
//
//   troupe::Stream<int> Squares(int n) {
//     for (int i = 0; i < n; ++i) co_yield i * i;
//   }
//
//   troupe::Task<int64_t> SumOfEvenSquares() {
//     troupe::Stream<int> squares = Squares(100);
//     int64_t sum = 0;
//     while (std::optional<int> x = co_await squares.Next()) {
//       if (*x % 2 == 0) sum += *x;
//     }
//     if (!squares.status().ok()) co_return squares.status();  // how it ended
//     co_return sum;
//   }
//
//   // The same, with adapters; the terminal is a Task that owns the chain.
//   co_await Squares(100).Filter([](int x) { return x % 2 == 0; })
//                        .Fold(int64_t{0}, [](int64_t s, int x) { return s + x; });
//
// What a stream promises:
// - Pull-based: `Next()` pulls exactly one item through the whole chain of
//   adapters; nothing is produced ahead or buffered unless asked for. So a
//   slow consumer holds back its producer, and memory stays bounded however
//   fast the source is.
// - Fused: an adapter is a plain object around its source, not a coroutine.
//   When the source has its item at once (a range, a container), a pull
//   through Map, Filter and a Fold runs as an ordinary loop; only a source
//   that must wait suspends the consumer, and only then does an adapter
//   that loops (Filter) start a small coroutine to go on pulling.
// - An end that says how: after `Next()` gave nullopt, `status()` is OK for
//   a normal end, or the error the stream ended with — a producer's
//   `co_yield EndStream(status)`, an exception that escaped a producer or an
//   adapter's function (kInternal, with its text), or kCancelled. The items
//   before an error are delivered first; nothing comes after it.
// - Cancellation: a generator runs in its consumer's strand, so cancelling
//   the consumer ends the producer's waits with kCancelled, and a `Next()`
//   awaited by a cancelled task delivers nothing more: the stream ends with
//   kCancelled. A computation that never waits (a range through Map) is not
//   interrupted, as a task that never waits is not.
// - Dropping a stream destroys its producer's frame, wherever it was
//   suspended, running the destructors of its locals; the same rule as for
//   a Task applies: not while its consumer awaits it.
// - Move-only; one consumer at a time. A stream may be pulled by different
//   tasks over its life, one after the other.
//
// Adapters (members, consuming the stream: `std::move(s).Map(f)` or on a
// temporary): Map(fn), Filter(pred), Take(n), TakeWhile(pred). Terminals
// return a Task that owns the stream: Collect(), Fold(init, fn), Count(),
// ForEach(fn). Sources: a generator, `Range(begin, end)`, `Iterate(container)`.

#ifndef TROUPE_ASYNC_STREAM_H_
#define TROUPE_ASYNC_STREAM_H_

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
#include <vector>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/internal/trampoline.h"
#include "async/task.h"
#include "base/check.h"

namespace troupe {

// StreamEnd / EndStream()
//
// `co_yield EndStream(status)` ends a generator's stream with `status` (an
// error; OK ends it normally, as `co_return;` does). The producer is not
// resumed again.
struct StreamEnd {
  absl::Status status;
};
inline StreamEnd EndStream(absl::Status status) { return StreamEnd{std::move(status)}; }

// AsyncStream
//
// What every stream offers: its item type, `Next()` (an awaitable whose
// result is a `std::optional<value_type>`, nullopt at the end) and
// `status()` (how it ended, once it has).
template <typename S>
concept AsyncStream = std::movable<S> && requires(S& stream, const S& ended) {
  typename S::value_type;
  stream.Next();
  { ended.status() } -> std::convertible_to<absl::Status>;
};

template <typename Derived>
class StreamOps;

template <typename T>
class Stream;

namespace async_internal {

// The status for an exception that escaped an adapter's function.
absl::Status StatusFromStageException();

// -- The generator -----------------------------------------------------------

template <typename T>
class StreamPromise : public PromiseBase {
 public:
  Stream<T> get_return_object() noexcept;

  // After each item, and at the end, control goes back to the consumer that
  // pulled, as the trampoline's next step.
  struct YieldAwaiter {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<StreamPromise> self) noexcept {
      Transfer(self.promise().continuation());
    }
    void await_resume() noexcept {}
  };

  // An rvalue is handed over where it is (it lives until the producer
  // resumes, after the consumer has moved it out); anything else is
  // copied or converted into the promise first.
  YieldAwaiter yield_value(T&& item) noexcept {
    item_ = std::addressof(item);
    return {};
  }
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !(std::is_same_v<std::remove_cvref_t<U>, T> &&
                                                !std::is_lvalue_reference_v<U>)) YieldAwaiter
      yield_value(U&& item) {
    owned_.emplace(std::forward<U>(item));
    item_ = std::addressof(*owned_);
    return {};
  }
  YieldAwaiter yield_value(StreamEnd end) noexcept {
    End(std::move(end.status));
    return {};
  }

  void return_void() noexcept { ended_ = true; }
  void unhandled_exception() noexcept { End(StatusFromTaskException()); }

  bool ended() const { return ended_; }
  const absl::Status& status() const { return status_; }
  void End(absl::Status status) {
    ended_ = true;
    status_ = std::move(status);
  }

  // The item the producer just yielded, moved out; nullopt if it ended.
  std::optional<T> TakeItem() {
    T* item = std::exchange(item_, nullptr);
    if (item == nullptr) return std::nullopt;
    std::optional<T> out(std::move(*item));
    owned_.reset();
    return out;
  }

 private:
  T* item_ = nullptr;
  std::optional<T> owned_;
  bool ended_ = false;
  absl::Status status_;
};

// `co_await stream.Next()` on a generator: resumes the producer in the
// consumer's strand until its next yield or its end.
template <typename T>
class GeneratorNext {
 public:
  explicit GeneratorNext(std::coroutine_handle<StreamPromise<T>> producer) : producer_(producer) {}

  bool await_ready() const noexcept { return producer_.promise().ended(); }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> consumer) noexcept {
    StreamPromise<T>& producer = producer_.promise();
    TaskContext* context = consumer.promise().context();
    if (context->cancel_requested()) {  // nothing is delivered after a cancel
      producer.End(absl::CancelledError("the stream's consumer was cancelled"));
      return false;
    }
    producer.set_continuation(consumer);
    producer.set_context(context);
    context_ = context;
    Transfer(producer_);
    return true;
  }

  std::optional<T> await_resume() {
    StreamPromise<T>& producer = producer_.promise();
    // A cancel that came while the producer ran (it may have ignored the
    // kCancelled its own wait got) still ends the stream here.
    if (context_ != nullptr && !producer.ended() && context_->cancel_requested()) {
      producer.End(absl::CancelledError("the stream's consumer was cancelled"));
      (void)producer.TakeItem();
      return std::nullopt;
    }
    return producer.TakeItem();
  }

 private:
  std::coroutine_handle<StreamPromise<T>> producer_;
  TaskContext* context_ = nullptr;
};

// -- Terminals -----------------------------------------------------------------

template <AsyncStream S>
Task<std::vector<typename S::value_type>> CollectAll(S stream) {
  std::vector<typename S::value_type> items;
  while (std::optional<typename S::value_type> item = co_await stream.Next()) {
    items.push_back(std::move(*item));
  }
  if (absl::Status status = stream.status(); !status.ok()) co_return status;
  co_return items;
}

template <AsyncStream S, typename U, typename F>
Task<U> FoldAll(S stream, U accumulator, F fn) {
  while (std::optional<typename S::value_type> item = co_await stream.Next()) {
    accumulator = std::invoke(fn, std::move(accumulator), std::move(*item));
  }
  if (absl::Status status = stream.status(); !status.ok()) co_return status;
  co_return accumulator;
}

template <AsyncStream S>
Task<int64_t> CountAll(S stream) {
  int64_t count = 0;
  while (co_await stream.Next()) ++count;
  if (absl::Status status = stream.status(); !status.ok()) co_return status;
  co_return count;
}

template <typename R>
inline constexpr bool kIsTask = false;
template <typename R>
inline constexpr bool kIsTask<Task<R>> = true;

// `fn(item)` may return nothing, an absl::Status, or a Task (awaited before
// the next pull); a failed status or a failed task's error ends the loop
// and is the result.
template <AsyncStream S, typename F>
Task<absl::Status> ForEachOf(S stream, F fn) {
  using Item = typename S::value_type;
  using R = std::invoke_result_t<F&, Item&&>;
  while (std::optional<Item> item = co_await stream.Next()) {
    if constexpr (kIsTask<R>) {
      auto done = co_await std::invoke(fn, std::move(*item));
      absl::Status status;
      if constexpr (std::is_same_v<decltype(done), absl::Status>) {
        status = std::move(done);
      } else {
        status = done.status();
      }
      if (!status.ok()) co_return status;
    } else if constexpr (std::is_convertible_v<R, absl::Status>) {
      absl::Status status = std::invoke(fn, std::move(*item));
      if (!status.ok()) co_return status;
    } else {
      std::invoke(fn, std::move(*item));
    }
  }
  co_return stream.status();
}

}  // namespace async_internal

template <typename S, typename F>
class MapStream;
template <typename S, typename P>
class FilterStream;
template <typename S>
class TakeStream;
template <typename S, typename P>
class TakeWhileStream;

// StreamOps<Derived>
//
// The adapters and terminals every stream has (a base of each stream type).
// Each consumes the stream it is called on.
template <typename Derived>
class StreamOps {
 public:
  // Map(fn): each item `x` becomes `fn(std::move(x))`.
  template <typename F>
  MapStream<Derived, F> Map(F fn) && {
    return MapStream<Derived, F>(std::move(self()), std::move(fn));
  }

  // Filter(pred): only the items for which `pred(item)` is true.
  template <typename P>
  FilterStream<Derived, P> Filter(P pred) && {
    return FilterStream<Derived, P>(std::move(self()), std::move(pred));
  }

  // Take(n): the first `n` items; the source is not pulled after them, and
  // the stream then ends OK whatever the source would have done next.
  TakeStream<Derived> Take(int64_t n) && { return TakeStream<Derived>(std::move(self()), n); }

  // TakeWhile(pred): the items up to the first for which `pred` is false
  // (which is dropped); then the stream ends OK.
  template <typename P>
  TakeWhileStream<Derived, P> TakeWhile(P pred) && {
    return TakeWhileStream<Derived, P>(std::move(self()), std::move(pred));
  }

  // Collect(): every item, in order, or the error the stream ended with.
  auto Collect() && { return async_internal::CollectAll(std::move(self())); }

  // Fold(init, fn): `fn(fn(init, x0), x1)...`, or the stream's error.
  template <typename U, typename F>
  Task<U> Fold(U init, F fn) && {
    return async_internal::FoldAll(std::move(self()), std::move(init), std::move(fn));
  }

  // Count(): how many items, or the stream's error.
  Task<int64_t> Count() && { return async_internal::CountAll(std::move(self())); }

  // ForEach(fn): runs `fn(item)` for each item in turn. `fn` may return
  // nothing, an absl::Status or a Task (awaited before the next pull); its
  // first error stops the loop. The result: that error, or the stream's
  // status.
  template <typename F>
  Task<absl::Status> ForEach(F fn) && {
    return async_internal::ForEachOf(std::move(self()), std::move(fn));
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

// Stream<T>
//
// An async generator: the return type of a coroutine that `co_yield`s
// items of type T. Lazy: the body starts at the first `Next()`.
template <typename T>
class [[nodiscard]] Stream : public StreamOps<Stream<T>> {
 public:
  using value_type = T;
  using promise_type = async_internal::StreamPromise<T>;

  // An empty stream: pulling it is a bug; it only exists to be assigned to.
  Stream() = default;
  Stream(Stream&& other) noexcept : producer_(std::exchange(other.producer_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept {
    if (this != &other) {
      Reset();
      producer_ = std::exchange(other.producer_, nullptr);
    }
    return *this;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { Reset(); }

  bool valid() const { return producer_ != nullptr; }

  // co_await stream.Next()
  //
  // The next item, or nullopt at the end (then see status()).
  async_internal::GeneratorNext<T> Next() {
    TROUPE_CHECK(producer_ != nullptr,
                 "Next() on an empty Stream (default-constructed or moved from)");
    return async_internal::GeneratorNext<T>(producer_);
  }

  // How the stream ended: OK while it has not, or when it ended normally.
  absl::Status status() const {
    return producer_ ? producer_.promise().status() : absl::OkStatus();
  }

 private:
  friend promise_type;
  explicit Stream(std::coroutine_handle<promise_type> producer) : producer_(producer) {}

  void Reset() {
    if (producer_) std::exchange(producer_, nullptr).destroy();
  }

  std::coroutine_handle<promise_type> producer_;
};

namespace async_internal {

template <typename T>
Stream<T> StreamPromise<T>::get_return_object() noexcept {
  return Stream<T>(std::coroutine_handle<StreamPromise<T>>::from_promise(*this));
}

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
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<Make>(make)());
    full_ = true;
  }
  template <typename... Args>
  void Emplace(Args&&... args) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<Args>(args)...);
    full_ = true;
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
template <typename Awaiter>
class AwaitInPlace {
 public:
  explicit AwaitInPlace(Awaiter& awaiter) : awaiter_(awaiter) {}
  bool await_ready() { return awaiter_.await_ready(); }
  template <typename Promise>
  decltype(auto) await_suspend(std::coroutine_handle<Promise> awaiting) {
    return awaiter_.await_suspend(awaiting);
  }
  decltype(auto) await_resume() { return awaiter_.await_resume(); }

 private:
  Awaiter& awaiter_;
};

// The awaitable that stream S's Next() returns.
template <typename S>
using NextOf = decltype(std::declval<S&>().Next());

}  // namespace async_internal

// MapStream: see StreamOps::Map().
template <typename S, typename F>
class MapStream : public StreamOps<MapStream<S, F>> {
 public:
  using value_type = std::remove_cvref_t<std::invoke_result_t<F&, typename S::value_type&&>>;

  MapStream(S source, F fn) : source_(std::move(source)), fn_(std::move(fn)) {}

  // Forwards the source's wait; maps the item as the consumer takes it.
  class Awaiter {
   public:
    explicit Awaiter(MapStream* self) : self_(self) {
      if (self->failure_.ok()) inner_.EmplaceFrom([self] { return self->source_.Next(); });
    }
    bool await_ready() { return !inner_.full() || inner_->await_ready(); }
    template <typename Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> consumer) {
      return inner_->await_suspend(consumer);
    }
    std::optional<value_type> await_resume() {
      if (!inner_.full()) return std::nullopt;
      std::optional<typename S::value_type> item = inner_->await_resume();
      if (!item) return std::nullopt;
      try {
        return std::optional<value_type>(std::invoke(self_->fn_, std::move(*item)));
      } catch (...) {
        self_->failure_ = async_internal::StatusFromStageException();
        return std::nullopt;
      }
    }

   private:
    MapStream* self_;
    async_internal::Slot<async_internal::NextOf<S>> inner_;
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
    std::optional<value_type> item = co_await async_internal::AwaitInPlace(**pending);
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

  class Awaiter {
   public:
    explicit Awaiter(TakeStream* self) : self_(self) {
      if (self->left_ > 0) inner_.EmplaceFrom([self] { return self->source_.Next(); });
    }
    bool await_ready() { return !inner_.full() || inner_->await_ready(); }
    template <typename Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> consumer) {
      return inner_->await_suspend(consumer);
    }
    std::optional<value_type> await_resume() {
      if (!inner_.full()) return std::nullopt;
      std::optional<value_type> item = inner_->await_resume();
      if (item) --self_->left_;
      return item;
    }

   private:
    TakeStream* self_;
    async_internal::Slot<async_internal::NextOf<S>> inner_;
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

  class Awaiter {
   public:
    explicit Awaiter(TakeWhileStream* self) : self_(self) {
      if (!self->stopped_) inner_.EmplaceFrom([self] { return self->source_.Next(); });
    }
    bool await_ready() { return !inner_.full() || inner_->await_ready(); }
    template <typename Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> consumer) {
      return inner_->await_suspend(consumer);
    }
    std::optional<value_type> await_resume() {
      if (!inner_.full()) return std::nullopt;
      std::optional<value_type> item = inner_->await_resume();
      if (!item) return std::nullopt;
      try {
        if (std::invoke(self_->pred_, std::as_const(*item))) return item;
      } catch (...) {
        self_->failure_ = async_internal::StatusFromStageException();
      }
      self_->stopped_ = true;
      return std::nullopt;
    }

   private:
    TakeWhileStream* self_;
    async_internal::Slot<async_internal::NextOf<S>> inner_;
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

// RangeStream / Range(begin, end)
//
// The integers [begin, end), each at once.
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

template <std::integral T>
RangeStream<T> Range(T begin, T end) {
  return RangeStream<T>(begin, end);
}

// IterateStream / Iterate(container)
//
// The container's elements, in order, each at once, moved out: the stream
// owns the container (a vector, a deque, an array: anything indexed).
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

template <std::ranges::random_access_range Container>
IterateStream<std::remove_cvref_t<Container>> Iterate(Container&& items) {
  return IterateStream<std::remove_cvref_t<Container>>(std::forward<Container>(items));
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_STREAM_H_
