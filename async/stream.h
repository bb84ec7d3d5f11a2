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
// The parts, each consuming the stream it is called on (`std::move(s).Map(f)`
// or a temporary's):
// - Fused adapters, plain objects around their source: Map(fn),
//   Filter(pred), Take(n), TakeWhile(pred).
// - Adapters that are generators of troupe's: FlatMap(fn), Batch(n,
//   max_delay), and the free functions Merge(streams...) and Zip(a, b).
// - Asynchronous boundaries, running the source in tasks of its own on the
//   consumer's executor: Buffer(n), MapAsync(fn, k), MapAsyncUnordered(fn, k)
//   (and Batch and Merge, which need it too).
// - Terminals, a Task that owns the stream: Collect(), Fold(init, fn),
//   Count(), ForEach(fn), ToChannel(tx).
// - Sources: a generator, Range(begin, end), Iterate(container),
//   FromChannel(rx), Interval(period), FileLines(path); in the layers
//   above, FromActor() (actor/actor_stream.h, which also has ToActor()) and
//   a connection's frames (net/frame_stream.h).

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
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "async/internal/context.h"
#include "async/internal/trampoline.h"
#include "async/task.h"
#include "base/check.h"
#include "channel/channel.h"

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
concept AsyncStream = std::move_constructible<S> && requires(S& stream, const S& ended) {
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

// The status of a stream whose consumer was cancelled.
absl::Status ConsumerCancelled();

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
      producer.End(ConsumerCancelled());
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
      producer.End(ConsumerCancelled());
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

namespace async_internal {
// The adapters (internal/stream_fused.h, internal/stream_async.h).
template <typename S, typename F>
class MapStream;
template <typename S, typename P>
class FilterStream;
template <typename S>
class TakeStream;
template <typename S, typename P>
class TakeWhileStream;
template <std::integral T>
class RangeStream;
template <std::ranges::random_access_range Container>
class IterateStream;
template <typename S, typename F>
auto FlatMapOf(S source, F fn);
template <typename S, typename F>
auto MapAsyncOf(S source, F fn, size_t max_in_flight, bool ordered);
template <typename S>
Stream<std::vector<typename S::value_type>> BatchOf(S source, size_t n, absl::Duration max_delay);
template <typename S>
class BufferStream;
template <typename T>
class ChannelStream;
template <typename S>
Task<absl::Status> ToChannelOf(S source, Sender<typename S::value_type> tx);
}  // namespace async_internal

// StreamOps<Derived>
//
// The adapters and terminals every stream has (a base of each stream type).
// Each consumes the stream it is called on.
template <typename Derived>
class StreamOps {
 public:
  // -- Fused: plain objects around their source -------------------------

  // Map(fn): each item `x` becomes `fn(std::move(x))`.
  template <typename F>
  auto Map(F fn) && {
    return async_internal::MapStream<Derived, F>(std::move(self()), std::move(fn));
  }

  // Filter(pred): only the items for which `pred(item)` is true.
  template <typename P>
  auto Filter(P pred) && {
    return async_internal::FilterStream<Derived, P>(std::move(self()), std::move(pred));
  }

  // Take(n): the first `n` items; the source is not pulled after them, and
  // the stream then ends OK whatever the source would have done next.
  auto Take(int64_t n) && { return async_internal::TakeStream<Derived>(std::move(self()), n); }

  // TakeWhile(pred): the items up to the first for which `pred` is false
  // (which is dropped); then the stream ends OK.
  template <typename P>
  auto TakeWhile(P pred) && {
    return async_internal::TakeWhileStream<Derived, P>(std::move(self()), std::move(pred));
  }

  // -- Coroutines: a generator of troupe's around the source -------------

  // FlatMap(fn): `fn(item)` returns a stream; its items, each stream's in
  // turn. An inner stream's error ends the whole.
  template <typename F>
  auto FlatMap(F fn) && {
    return async_internal::FlatMapOf(std::move(self()), std::move(fn));
  }

  // Batch(n, max_delay): items in vectors of `n`, a shorter one when
  // `max_delay` has passed (on the consumer's clock) since its first item,
  // and what is left at the end. The source is pulled by a task of its own
  // on the consumer's executor, so that time can pass while it waits.
  auto Batch(size_t n, absl::Duration max_delay) && {
    return async_internal::BatchOf(std::move(self()), n, max_delay);
  }

  // -- Asynchronous boundaries: the source runs in tasks of its own ------
  // These start tasks on the executor of the task that pulls (a Go task, a
  // TaskScope child, an actor); pulled from BlockOn, which has none, they
  // end at once with kFailedPrecondition.

  // MapAsync(fn, max_in_flight): `fn(item)` (a coroutine returning
  // Task<U>, or a plain function) runs on up to `max_in_flight` items at
  // once; the results come in the order of their items. A failed result
  // ends the stream with its error (after the results before it); the
  // calls in flight are cancelled.
  template <typename F>
  auto MapAsync(F fn, size_t max_in_flight) && {
    return async_internal::MapAsyncOf(std::move(self()), std::move(fn), max_in_flight,
                                      /*ordered=*/true);
  }
  // MapAsyncUnordered(): the same, each result as soon as it is ready.
  template <typename F>
  auto MapAsyncUnordered(F fn, size_t max_in_flight) && {
    return async_internal::MapAsyncOf(std::move(self()), std::move(fn), max_in_flight,
                                      /*ordered=*/false);
  }

  // Buffer(n): the source runs ahead of the consumer by up to `n` items,
  // pulled by a task of its own into a bounded channel: a decoupling point
  // with memory bounded by `n` (plus the one item each side holds).
  auto Buffer(size_t n) && { return async_internal::BufferStream<Derived>(std::move(self()), n); }

  // -- Terminals: a Task that owns the stream -----------------------------

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

  // ToChannel(tx): sends every item on `tx` (awaiting room), then lets `tx`
  // go (the channel closes when its last sender has). The result: the
  // stream's status; kFailedPrecondition if the channel closed first (the
  // rest of the stream is dropped: its producer unwinds); kCancelled.
  template <typename D = Derived>  // (Derived is incomplete where this is declared)
  Task<absl::Status> ToChannel(Sender<typename D::value_type> tx) && {
    return async_internal::ToChannelOf(std::move(self()), std::move(tx));
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

template <typename T>
Stream<T> async_internal::StreamPromise<T>::get_return_object() noexcept {
  return Stream<T>(std::coroutine_handle<StreamPromise<T>>::from_promise(*this));
}

// -- Sources ---------------------------------------------------------------------

// Range(begin, end): the integers [begin, end), each at once.
template <std::integral T>
async_internal::RangeStream<T> Range(T begin, T end) {
  return async_internal::RangeStream<T>(begin, end);
}

// Iterate(container): its elements in order, each at once, moved out; the
// stream owns the container (a vector, a deque, an array: anything indexed).
template <std::ranges::random_access_range Container>
auto Iterate(Container&& items) {
  return async_internal::IterateStream<std::remove_cvref_t<Container>>(
      std::forward<Container>(items));
}

// FromChannel(rx): what `rx` receives, until the channel is closed and
// drained (then the stream ends OK).
template <typename T>
async_internal::ChannelStream<T> FromChannel(Receiver<T> rx) {
  return async_internal::ChannelStream<T>(std::move(rx));
}

// Interval(period): 0, 1, 2, ... one every `period` on the consumer's clock
// (the test kit's virtual clock can drive it), counted from the first pull;
// it never ends by itself (Take() it, or drop it).
Stream<int64_t> Interval(absl::Duration period);

// FileLines(path): the file's lines, without their line ends. kNotFound or
// another error if it cannot be opened or read. Reads are blocking file
// reads, a line at a time, on the thread that pulls; put a Buffer() behind
// a slow disk.
Stream<std::string> FileLines(std::string path);

// Merge(streams...): the items of all of them, each as soon as its stream
// has it; each stream is pulled by a task of its own (one item in flight
// each). Ends when all have ended; the first error ends it at once, and the
// other streams are dropped.
template <AsyncStream First, AsyncStream... Rest>
Stream<typename First::value_type> Merge(First first, Rest... rest);

// Zip(a, b): pairs of one item of each, pulled in turn; ends when either
// ends (with its status).
template <AsyncStream A, AsyncStream B>
Stream<std::pair<typename A::value_type, typename B::value_type>> Zip(A a, B b);

}  // namespace troupe

// The adapters' definitions (stream_async.h builds on stream_fused.h's
// in-place slots, and includes it first).
#include "async/internal/stream_async.h"  // IWYU pragma: export
#include "async/internal/stream_fused.h"  // IWYU pragma: export

#endif  // TROUPE_ASYNC_STREAM_H_
