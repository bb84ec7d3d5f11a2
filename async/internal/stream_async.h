// -----------------------------------------------------------------------------
// File: internal/stream_async.h
// -----------------------------------------------------------------------------
//
// The stream adapters and sources that are coroutines (async/stream.h):
// generators of troupe's own around their sources, and, where a stream must
// run apart from its consumer (Buffer, Merge, Batch, MapAsync), tasks
// started on the consumer's executor that pull the source into a channel.
// Included at the end of async/stream.h.
//
// A pump (a task pulling a source into a channel) sends each item as an OK
// absl::StatusOr, and the error its stream ended with, if any, as a failed
// one; an OK end just lets its sender go. The consumer's side ends when the
// channel is closed and drained (every pump done) or at the first error,
// and awaits its pumps before it ends, so that their frames (and their
// sources') are gone by then. Dropping the consumer's stream drops the
// pumps' handles, which cancels them.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_STREAM_ASYNC_H_
#define TROUPE_ASYNC_INTERNAL_STREAM_ASYNC_H_

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "async/channel.h"
#include "async/go.h"
#include "async/internal/context.h"
#include "async/internal/stream_fused.h"
#include "async/sleep.h"
#include "async/stream.h"
#include "async/task.h"
#include "channel/channel.h"

namespace troupe::async_internal {

// co_await ThisContext(): the strand the awaiting coroutine runs in, without
// suspending it.
class ThisContext {
 public:
  bool await_ready() const noexcept { return false; }
  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
    context_ = awaiting.promise().context();
    return false;
  }
  TaskContext* await_resume() const noexcept { return context_; }

 private:
  TaskContext* context_ = nullptr;
};

// The status of an adapter that must start tasks, pulled where there is no
// executor to start them on (BlockOn).
absl::Status NoExecutorError(std::string_view adapter);

// The item type of a function's result: X for Task<X>, else the result.
template <typename R>
struct AwaitedOf {
  using type = R;
};
template <typename X>
struct AwaitedOf<Task<X>> {
  using type = X;
};

// Runs `fn(item)` to its result, awaiting it if it is a task; an exception
// is the result's error.
template <typename F, typename T>
Task<typename AwaitedOf<std::invoke_result_t<F&, T&&>>::type> CallStage(F& fn, T item) {
  using R = std::invoke_result_t<F&, T&&>;
  if constexpr (kIsTask<R>) {
    co_return co_await std::invoke(fn, std::move(item));
  } else {
    absl::StatusOr<R> result;
    try {
      result = std::invoke(fn, std::move(item));
    } catch (...) {
      result = StatusFromStageException();
    }
    co_return result;
  }
}

// Braced temporaries in awaits: g++ 12 destroys a braced temporary (an
// aggregate's `Type{...}`, or a lambda's closure with init-captures) that
// is part of a co_await expression twice, once at the end of the full
// expression and again with the frame; with a member that owns something
// (an absl::Status) that is a double release. So the awaits here take such
// values from named locals (docs/architecture.md, "Streams"; the
// early-stop test in stream_async_test crashed without it).

// -- Sources ---------------------------------------------------------------------

// A failed receive as a stream's end: OK for a closed channel.
inline absl::Status EndOfReceiving(RecvError error) {
  return error == RecvError::kClosed ? absl::OkStatus() : ConsumerCancelled();
}

}  // namespace troupe::async_internal

namespace troupe {

template <AsyncStream A, AsyncStream B>
Stream<std::pair<typename A::value_type, typename B::value_type>> Zip(A a, B b) {
  while (true) {
    std::optional<typename A::value_type> x = co_await a.Next();
    if (!x) break;
    std::optional<typename B::value_type> y = co_await b.Next();
    if (!y) break;
    co_yield std::make_pair(std::move(*x), std::move(*y));
  }
  if (absl::Status status = a.status(); !status.ok()) co_yield EndStream(std::move(status));
  if (absl::Status status = b.status(); !status.ok()) co_yield EndStream(std::move(status));
}

}  // namespace troupe

namespace troupe::async_internal {

// Awaits `awaiter`'s suspension, as a bool: true to stay suspended.
template <typename Awaiter, typename Promise>
bool SuspendOn(Awaiter& awaiter, std::coroutine_handle<Promise> awaiting) {
  if constexpr (std::is_void_v<decltype(awaiter.await_suspend(awaiting))>) {
    awaiter.await_suspend(awaiting);
    return true;
  } else {
    return awaiter.await_suspend(awaiting);
  }
}

// ChannelStream: see FromChannel(). Fused: Next() is the channel's own Recv
// awaiter, its result mapped to an item or the end.
template <typename T>
class ChannelStream : public StreamOps<ChannelStream<T>> {
 public:
  using value_type = T;

  explicit ChannelStream(Receiver<T> rx) : rx_(std::move(rx)) {}

  class Awaiter {
   public:
    explicit Awaiter(ChannelStream* self) : self_(self) {
      if (!self->ended_) recv_.EmplaceFrom([self] { return Recv(self->rx_); });
    }
    bool await_ready() { return !recv_.full() || recv_->await_ready(); }
    template <TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> consumer) {
      return SuspendOn(*recv_, consumer);
    }
    std::optional<T> await_resume() {
      if (!recv_.full()) return std::nullopt;
      return self_->Take(recv_->await_resume());
    }

   private:
    ChannelStream* self_;
    Slot<RecvAwaiter<T>> recv_;
  };

  Awaiter Next() { return Awaiter(this); }
  absl::Status status() const { return status_; }

 private:
  std::optional<T> Take(RecvResult<T> got) {
    if (got.ok()) return std::optional<T>(std::move(got).value());
    ended_ = true;
    status_ = EndOfReceiving(got.error());
    return std::nullopt;
  }

  Receiver<T> rx_;
  bool ended_ = false;
  absl::Status status_;
};

// How a Buffer's pump ended, written before it lets its sender go: the
// channel's close orders the write before the consumer's read.
struct PumpEnd {
  absl::Status status;
};

// Pulls `source` into `tx` until it ends, the channel closes, or the pump is
// cancelled. What the source has at once is sent in runs of up to
// `run_max` (a run of ring slots claimed at once, one wake-up check), and
// the run so far goes out before the pump waits on its source, so nothing
// waits in the pump for longer than the source does. The source is moved
// into the body, so that it is destroyed (and whatever its status shares
// with `end`'s) before `tx` goes.
template <typename S>
Task<void> PumpInto(S source, Sender<typename S::value_type> tx, std::shared_ptr<PumpEnd> end,
                    size_t run_max) {
  using T = typename S::value_type;
  S pulled = std::move(source);
  std::vector<T> run;
  Slot<NextOf<S>> next;
  bool drained = false;
  while (!drained || !run.empty()) {
    bool must_wait = false;
    while (!drained && run.size() < run_max) {
      next.EmplaceFrom([&] { return pulled.Next(); });
      if (!next->await_ready()) {
        must_wait = true;
        break;
      }
      std::optional<T> item = next->await_resume();
      next.Reset();
      if (!item) {
        drained = true;
        break;
      }
      run.push_back(std::move(*item));
    }
    for (size_t sent = 0; sent < run.size();) {
      if (const size_t n = tx.TrySendBatch(run, sent); n > 0) {
        sent += n;
        continue;
      }
      SendResult<T> result = co_await Send(tx, std::move(run[sent]));  // awaits room
      if (!result.ok()) co_return;  // the consumer is gone, or cancelled
      ++sent;
    }
    run.clear();
    if (must_wait) {
      std::optional<T> item = co_await AwaitInPlace(*next, /*asked=*/true);
      next.Reset();
      if (item) {
        run.push_back(std::move(*item));
      } else {
        drained = true;
      }
    }
  }
  end->status = pulled.status();
}

// BufferStream: see StreamOps::Buffer(). The consumer's side is fused: it
// takes what the channel holds in runs (one claim of the ring and one
// wake-up check per run, not per item), and awaits the channel's Recv only
// when nothing is ready. The first pull starts the pump on the puller's
// executor.
template <typename S>
class BufferStream : public StreamOps<BufferStream<S>> {
 public:
  using value_type = typename S::value_type;

  BufferStream(S source, size_t n) : source_(std::move(source)), end_(new PumpEnd) {
    if (n == 0) {
      Fail(absl::InvalidArgumentError("Buffer(0): a buffer holds at least one item"));
      return;
    }
    // The pump's run and the consumer's are each up to a quarter of n (at
    // most 64); the channel holds the rest.
    run_max_ = std::clamp<size_t>(n / 4, 1, 64);
    auto [tx, rx] = Channel<value_type>::Bounded(n > 2 * run_max_ ? n - 2 * run_max_ : 1);
    tx_.emplace(std::move(tx));
    rx_.emplace(std::move(rx));
  }

  class Awaiter {
   public:
    explicit Awaiter(BufferStream* self) : self_(self) {}

    bool await_ready() {
      if (self_->ended_ || self_->TakeRun()) return true;
      if (!self_->pump_.valid()) return false;  // await_suspend starts it
      recv_.EmplaceFrom([this] { return Recv(*self_->rx_); });
      return recv_->await_ready();
    }
    template <TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> consumer) {
      if (!recv_.full()) {  // the first pull
        if (!self_->Start(*consumer.promise().context())) return false;
        if (self_->TakeRun()) return false;
        recv_.EmplaceFrom([this] { return Recv(*self_->rx_); });
        if (recv_->await_ready()) return false;
      }
      return SuspendOn(*recv_, consumer);
    }
    std::optional<value_type> await_resume() {
      if (!recv_.full()) return self_->NextOfRun();
      RecvResult<value_type> got = recv_->await_resume();
      if (got.ok()) return std::optional<value_type>(std::move(got).value());
      // Closed: the pump has written how its source ended and let go.
      self_->Fail(got.error() == RecvError::kClosed ? self_->end_->status : ConsumerCancelled());
      return std::nullopt;
    }

   private:
    BufferStream* self_;
    Slot<RecvAwaiter<value_type>> recv_;
  };

  Awaiter Next() { return Awaiter(this); }
  absl::Status status() const { return status_; }

 private:
  bool Start(TaskContext& context) {
    if (context.executor() == nullptr) {
      Fail(NoExecutorError("Buffer()"));
      return false;
    }
    pump_ = Go(*context.executor(), context.clock(), &PumpInto<S>, std::move(*source_),
               std::move(*tx_), end_, run_max_);
    source_.reset();
    tx_.reset();
    return true;
  }
  void Fail(absl::Status status) {
    ended_ = true;
    status_ = std::move(status);
  }

  // True if the local run has an item, taking a batch from the channel if
  // it was empty.
  bool TakeRun() {
    if (taken_ < run_.size()) return true;
    run_.clear();
    taken_ = 0;
    return pump_.valid() && rx_->TryRecvBatch(run_, run_max_) > 0;
  }
  std::optional<value_type> NextOfRun() {
    if (taken_ >= run_.size()) return std::nullopt;  // ended
    return std::optional<value_type>(std::move(run_[taken_++]));
  }

  std::optional<S> source_;  // until the pump takes it
  std::shared_ptr<PumpEnd> end_;
  std::optional<Sender<value_type>> tx_;  // likewise
  std::optional<Receiver<value_type>> rx_;
  std::vector<value_type> run_;  // taken from the channel, not yet pulled
  size_t taken_ = 0;
  size_t run_max_ = 1;
  JoinHandle<void> pump_;  // dropped with the stream: the pump is cancelled
  bool ended_ = false;
  absl::Status status_;
};

// -- Terminals -------------------------------------------------------------------

template <typename S>
Task<absl::Status> ToChannelOf(S source, Sender<typename S::value_type> tx) {
  while (std::optional<typename S::value_type> item = co_await source.Next()) {
    SendResult<typename S::value_type> sent = co_await Send(tx, std::move(*item));
    if (!sent.ok()) {
      if (sent.error() == SendError::kClosed) {
        co_return absl::FailedPreconditionError(
            "ToChannel(): the channel closed before the stream ended");
      }
      co_return ConsumerCancelled();
    }
  }
  co_return source.status();
}

// -- Generators around a source --------------------------------------------------

template <typename S, typename F>
auto FlatMapOf(S source, F fn) {
  using Inner = std::invoke_result_t<F&, typename S::value_type&&>;
  static_assert(AsyncStream<Inner>, "FlatMap(fn): fn must return a stream");
  return [](S source, F fn) -> Stream<typename Inner::value_type> {
    while (std::optional<typename S::value_type> item = co_await source.Next()) {
      std::optional<Inner> inner;
      absl::Status failed;
      try {
        inner.emplace(std::invoke(fn, std::move(*item)));
      } catch (...) {
        failed = StatusFromStageException();  // (no co_yield inside a handler)
      }
      if (!failed.ok()) co_yield EndStream(std::move(failed));
      while (std::optional<typename Inner::value_type> x = co_await inner->Next()) {
        co_yield std::move(*x);
      }
      if (absl::Status status = inner->status(); !status.ok())
        co_yield EndStream(std::move(status));
    }
    if (absl::Status status = source.status(); !status.ok()) co_yield EndStream(std::move(status));
  }(std::move(source), std::move(fn));
}

// -- Pumps -------------------------------------------------------------------------

// Cancels every task in `handles` and waits until they have ended, so that
// nothing they held (a source, a status shared with the consumer) is freed
// on another thread after the stream has ended. In a cancelled strand the
// waits end at once, and the tasks finish on their own.
template <typename Handles>
Task<void> StopAll(Handles& handles) {
  for (auto& handle : handles) {
    if (handle.valid()) handle.Cancel();
  }
  for (auto& handle : handles) {
    if (handle.valid()) (void)co_await std::move(handle);
  }
}

template <typename T>
using Pumped = absl::StatusOr<T>;

// Merge's: pulls `source` into `tx` until it ends (its error, if any, sent
// last), the channel closes, or the pump is cancelled.
template <typename S>
Task<void> Pump(S source, Sender<Pumped<typename S::value_type>> tx) {
  using T = typename S::value_type;
  while (std::optional<T> item = co_await source.Next()) {
    SendResult<Pumped<T>> sent = co_await Send(tx, Pumped<T>(std::move(*item)));
    if (!sent.ok()) co_return;
  }
  if (absl::Status status = source.status(); !status.ok()) {
    (void)co_await Send(tx, Pumped<T>(std::move(status)));
  }
}

}  // namespace troupe::async_internal

namespace troupe {

template <AsyncStream First, AsyncStream... Rest>
Stream<typename First::value_type> Merge(First first, Rest... rest) {
  using T = typename First::value_type;
  static_assert((std::is_same_v<typename Rest::value_type, T> && ...),
                "Merge(): every stream must have the same item type");
  using async_internal::Pumped;
  async_internal::TaskContext* context = co_await async_internal::ThisContext();
  if (context->executor() == nullptr)
    co_yield EndStream(async_internal::NoExecutorError("Merge()"));
  // A rendezvous: each source's pump holds its one item until it is taken.
  auto [made_tx, rx] = Channel<Pumped<T>>::Rendezvous();
  Sender<Pumped<T>> tx = std::move(made_tx);  // (clang 14 cannot capture a binding)
  std::vector<JoinHandle<void>> pumps;
  auto start = [&](auto& source) {
    using S = std::remove_cvref_t<decltype(source)>;
    pumps.push_back(Go(*context->executor(), context->clock(), &async_internal::Pump<S>,
                       std::move(source), tx));
  };
  start(first);
  (start(rest), ...);
  { Sender<Pumped<T>> pumps_only = std::move(tx); }  // closed once every pump lets go
  while (true) {
    RecvResult<Pumped<T>> got = co_await Recv(rx);
    absl::Status end;
    if (!got.ok()) {
      end = async_internal::EndOfReceiving(got.error());  // OK when closed
    } else if (!got->ok()) {
      end = got->status();  // a source's error ends the merge at once
    } else {
      co_yield std::move(**got);
      continue;
    }
    (void)co_await async_internal::StopAll(pumps);
    if (!end.ok()) co_yield EndStream(std::move(end));
    co_return;
  }
}

}  // namespace troupe

namespace troupe::async_internal {

// -- MapAsync ----------------------------------------------------------------------

template <typename S, typename F>
using MapAsyncItem = typename AwaitedOf<std::invoke_result_t<F&, typename S::value_type&&>>::type;

// In input order: the handles wait in a queue, the oldest awaited first.
template <typename S, typename F>
Stream<MapAsyncItem<S, F>> MapAsyncInOrder(S source, F fn, size_t max_in_flight) {
  using T = typename S::value_type;
  using U = MapAsyncItem<S, F>;
  TaskContext* context = co_await ThisContext();
  if (context->executor() == nullptr) co_yield EndStream(NoExecutorError("MapAsync()"));
  std::deque<JoinHandle<U>> in_flight;
  bool drained = false;
  while (true) {
    while (!drained && in_flight.size() < max_in_flight) {
      std::optional<T> item = co_await source.Next();
      if (!item) {
        drained = true;
        break;
      }
      // Go keeps its arguments (here a copy of fn) until the task ends.
      in_flight.push_back(Go(
          *context->executor(), context->clock(),
          [](F&& fn, T&& item) { return CallStage(fn, std::move(item)); }, fn, std::move(*item)));
    }
    if (in_flight.empty()) break;
    absl::StatusOr<U> result = co_await std::move(in_flight.front());
    in_flight.pop_front();
    if (!result.ok()) {
      (void)co_await StopAll(in_flight);
      co_yield EndStream(result.status());
    }
    co_yield std::move(*result);
  }
  if (absl::Status status = source.status(); !status.ok()) co_yield EndStream(std::move(status));
}

// A call of MapAsyncUnordered's, done: which slot it ran in, and its result.
template <typename U>
struct Finished {
  size_t slot;
  absl::StatusOr<U> result;
};

template <typename F, typename T, typename U>
Task<void> CallAndReport(F fn, T item, size_t slot, Sender<Finished<U>> done) {
  absl::StatusOr<U> result = co_await CallStage(fn, std::move(item));
  Finished<U> finished{slot, std::move(result)};
  (void)co_await Send(done, std::move(finished));  // (braced temporaries in awaits)
}

// As they finish: each call reports to a channel, naming its slot.
template <typename S, typename F>
Stream<MapAsyncItem<S, F>> MapAsyncAsReady(S source, F fn, size_t max_in_flight) {
  using T = typename S::value_type;
  using U = MapAsyncItem<S, F>;
  TaskContext* context = co_await ThisContext();
  if (context->executor() == nullptr) co_yield EndStream(NoExecutorError("MapAsyncUnordered()"));
  auto [done_tx, done_rx] = Channel<Finished<U>>::Unbounded();
  std::vector<JoinHandle<void>> slots(max_in_flight);
  std::vector<size_t> free_slots;
  for (size_t slot = max_in_flight; slot > 0; --slot) free_slots.push_back(slot - 1);
  bool drained = false;
  while (true) {
    while (!drained && !free_slots.empty()) {
      std::optional<T> item = co_await source.Next();
      if (!item) {
        drained = true;
        break;
      }
      const size_t slot = free_slots.back();
      free_slots.pop_back();
      slots[slot] = Go(*context->executor(), context->clock(), &CallAndReport<F, T, U>, fn,
                       std::move(*item), slot, done_tx);
    }
    if (free_slots.size() == max_in_flight) break;  // nothing in flight
    RecvResult<Finished<U>> got = co_await Recv(done_rx);
    if (!got.ok()) {  // never closed (done_tx is here): cancelled
      (void)co_await StopAll(slots);
      co_yield EndStream(ConsumerCancelled());
    }
    Finished<U> finished = std::move(got).value();
    (void)co_await std::move(slots[finished.slot]);  // it has reported: it is ending
    free_slots.push_back(finished.slot);
    if (!finished.result.ok()) {
      (void)co_await StopAll(slots);
      co_yield EndStream(finished.result.status());
    }
    co_yield std::move(*finished.result);
  }
  if (absl::Status status = source.status(); !status.ok()) co_yield EndStream(std::move(status));
}

// A stream that ends at once with `error` (an adapter's bad argument).
template <typename T>
Stream<T> FailedStream(absl::Status error) {
  co_yield EndStream(std::move(error));
}

template <typename S, typename F>
auto MapAsyncOf(S source, F fn, size_t max_in_flight, bool ordered) {
  if (max_in_flight == 0) {
    return FailedStream<MapAsyncItem<S, F>>(
        absl::InvalidArgumentError("MapAsync(): max_in_flight must be at least 1"));
  }
  if (ordered) return MapAsyncInOrder(std::move(source), std::move(fn), max_in_flight);
  return MapAsyncAsReady(std::move(source), std::move(fn), max_in_flight);
}

// -- Batch -------------------------------------------------------------------------

// What Batch's consumer side receives: an item from its pump, the end of
// the source (its status, OK or not), or a timer's tick for a batch.
struct SourceEnd {
  absl::Status status;
};
struct Tick {
  uint64_t batch;  // the number of the batch it was started for
};
template <typename T>
using BatchEvent = std::variant<T, SourceEnd, Tick>;

template <typename S>
Task<void> PumpEvents(S source, Sender<BatchEvent<typename S::value_type>> tx) {
  using T = typename S::value_type;
  while (std::optional<T> item = co_await source.Next()) {
    SendResult<BatchEvent<T>> sent = co_await Send(tx, BatchEvent<T>(std::move(*item)));
    if (!sent.ok()) co_return;
  }
  BatchEvent<T> end(SourceEnd{source.status()});
  (void)co_await Send(tx, std::move(end));  // (braced temporaries in awaits)
}

template <typename T>
Task<void> TickAfter(absl::Duration delay, uint64_t batch, Sender<BatchEvent<T>> tx) {
  absl::Status slept = co_await Sleep(delay);
  if (!slept.ok()) co_return;  // cancelled: the batch went out
  BatchEvent<T> tick(Tick{batch});
  (void)co_await Send(tx, std::move(tick));
}

template <typename S>
Stream<std::vector<typename S::value_type>> BatchOf(S source, size_t n, absl::Duration max_delay) {
  using T = typename S::value_type;
  if (n == 0)
    co_yield EndStream(absl::InvalidArgumentError("Batch(0, ...): a batch holds an item"));
  TaskContext* context = co_await ThisContext();
  if (context->executor() == nullptr) co_yield EndStream(NoExecutorError("Batch()"));
  Executor& executor = *context->executor();
  Clock& clock = context->clock();
  auto [tx, rx] = Channel<BatchEvent<T>>::Rendezvous();
  JoinHandle<void> pump = Go(executor, clock, &PumpEvents<S>, std::move(source), tx);
  std::vector<T> batch;
  uint64_t batch_number = 0;  // of the batch being filled
  JoinHandle<void> timer;     // its tick, once it has an item
  absl::Status end;
  while (true) {
    RecvResult<BatchEvent<T>> got = co_await Recv(rx);
    if (!got.ok()) {  // tx is here, so never closed: cancelled
      end = ConsumerCancelled();
      break;
    }
    BatchEvent<T> event = std::move(got).value();
    if (T* item = std::get_if<T>(&event)) {
      if (batch.empty()) timer = Go(executor, clock, &TickAfter<T>, max_delay, batch_number, tx);
      batch.push_back(std::move(*item));
      if (batch.size() < n) continue;
    } else if (SourceEnd* source_end = std::get_if<SourceEnd>(&event)) {
      end = std::move(source_end->status);
      break;
    } else if (std::get<Tick>(event).batch != batch_number) {
      continue;  // the tick of a batch that went out full
    }
    ++batch_number;
    timer = JoinHandle<void>();  // a pending tick is cancelled
    co_yield std::exchange(batch, {});
  }
  // The pump has ended, or is cancelled with the timer: both are awaited, so
  // that their frames (and the source's) are gone when the stream ends.
  JoinHandle<void> tasks[] = {std::move(timer), std::move(pump)};
  (void)co_await StopAll(tasks);
  if (!batch.empty() && end.code() != absl::StatusCode::kCancelled) co_yield std::move(batch);
  if (!end.ok()) co_yield EndStream(std::move(end));
}

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_STREAM_ASYNC_H_
