// -----------------------------------------------------------------------------
// File: when.h
// -----------------------------------------------------------------------------
//
// `WhenAll()` and `WhenAny()`: await several tasks at once.
//
//   troupe::Task<int> Price(std::string item);
//
//   std::vector<troupe::Task<int>> lookups;
//   for (const std::string& item : cart) lookups.push_back(Price(item));
//   std::vector<absl::StatusOr<int>> prices = co_await troupe::WhenAll(std::move(lookups));
//
//   auto [a, b] = co_await troupe::WhenAll(Price("tea"), Name(42));  // a tuple
//
//   troupe::WhenAnyResult<int> first = co_await troupe::WhenAny(std::move(mirrors));
//   // first.index: which task ended first; first.result: its result
//
// Each task runs as a strand of its own: they start one after another on
// the awaiting thread, each until it first waits, and are resumed on the
// awaiting task's executor, so tasks that wait overlap (and run in parallel
// on a pool). Compute-bound work that should use several cores goes to
// Go() instead.
//
// WhenAll waits for every task and gives every result (an error in one
// does not stop the others). WhenAny gives the first task to end, with its
// result whatever it is; the others are cancelled, and the await lasts
// until they have ended (their frames gone), so nothing they touch may die
// under them. Cancelling the awaiting task cancels all of them.

#ifndef TROUPE_ASYNC_WHEN_H_
#define TROUPE_ASYNC_WHEN_H_

#include <coroutine>
#include <cstddef>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "async/internal/fan_out.h"
#include "async/task.h"

namespace troupe {

// What WhenAny gives: the index of the task that ended first, and its result.
template <typename T>
struct WhenAnyResult {
  size_t index;
  TaskResult<T> result;
};

namespace async_internal {

// What WhenAll and WhenAny over a vector share: the tasks, a result slot
// each, and their start as children of one fan-out.
template <typename T>
class VectorFanOut {
 public:
  VectorFanOut(std::vector<Task<T>> tasks, bool first_wins)
      : tasks_(std::move(tasks)), fan_out_(first_wins) {}
  VectorFanOut(const VectorFanOut&) = delete;
  VectorFanOut& operator=(const VectorFanOut&) = delete;

  bool await_ready() const noexcept { return tasks_.empty(); }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    results_.resize(tasks_.size());
    fan_out_.Begin(awaiting.promise().context(), awaiting, tasks_.size());
    for (size_t i = 0; i < tasks_.size(); ++i) fan_out_.Add(std::move(tasks_[i]), &results_[i]);
    return fan_out_.Start();
  }

 protected:
  std::vector<Task<T>> tasks_;  // moved from once started; the size stays
  std::vector<std::optional<TaskResult<T>>> results_;
  FanOut fan_out_;
};

template <typename T>
class WhenAllAwaiter : public VectorFanOut<T> {
 public:
  explicit WhenAllAwaiter(std::vector<Task<T>> tasks)
      : VectorFanOut<T>(std::move(tasks), /*first_wins=*/false) {}

  std::vector<TaskResult<T>> await_resume() {
    this->fan_out_.Finish();
    std::vector<TaskResult<T>> results;
    results.reserve(this->results_.size());
    for (std::optional<TaskResult<T>>& result : this->results_) {
      results.push_back(std::move(*result));
    }
    return results;
  }
};

template <typename... Ts>
class WhenAllOfAwaiter {
 public:
  explicit WhenAllOfAwaiter(Task<Ts>... tasks) : tasks_(std::move(tasks)...) {}
  WhenAllOfAwaiter(const WhenAllOfAwaiter&) = delete;
  WhenAllOfAwaiter& operator=(const WhenAllOfAwaiter&) = delete;

  bool await_ready() const noexcept { return sizeof...(Ts) == 0; }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    fan_out_.Begin(awaiting.promise().context(), awaiting, sizeof...(Ts));
    AddAll(std::index_sequence_for<Ts...>());
    return fan_out_.Start();
  }

  std::tuple<TaskResult<Ts>...> await_resume() {
    fan_out_.Finish();
    return std::apply(
        [](std::optional<TaskResult<Ts>>&... results) {
          return std::tuple<TaskResult<Ts>...>(std::move(*results)...);
        },
        results_);
  }

 private:
  template <size_t... I>
  void AddAll(std::index_sequence<I...>) {
    (fan_out_.Add(std::move(std::get<I>(tasks_)), &std::get<I>(results_)), ...);
  }

  std::tuple<Task<Ts>...> tasks_;
  std::tuple<std::optional<TaskResult<Ts>>...> results_;
  FanOut fan_out_{/*first_wins=*/false};
};

template <typename T>
class WhenAnyAwaiter : public VectorFanOut<T> {
 public:
  explicit WhenAnyAwaiter(std::vector<Task<T>> tasks)
      : VectorFanOut<T>(std::move(tasks), /*first_wins=*/true) {}

  WhenAnyResult<T> await_resume() {
    if (this->tasks_.empty()) {
      return {FanOut::kNoWinner, absl::InvalidArgumentError("WhenAny of no tasks")};
    }
    this->fan_out_.Finish();
    const size_t winner = this->fan_out_.winner();
    return {winner, std::move(*this->results_[winner])};
  }
};

}  // namespace async_internal

// WhenAll()
//
// `co_await WhenAll(std::move(tasks))`: every task's result, in order.
template <typename T>
async_internal::WhenAllAwaiter<T> WhenAll(std::vector<Task<T>> tasks) {
  return async_internal::WhenAllAwaiter<T>(std::move(tasks));
}

// `co_await WhenAll(a(), b(), c())`: a tuple of their results.
template <typename... Ts>
async_internal::WhenAllOfAwaiter<Ts...> WhenAll(Task<Ts>... tasks) {
  return async_internal::WhenAllOfAwaiter<Ts...>(std::move(tasks)...);
}

// WhenAny()
//
// `co_await WhenAny(std::move(tasks))`: the first task to end and its
// result, once the others, cancelled, have ended too. An empty vector gives
// kInvalidArgument (index SIZE_MAX).
template <typename T>
async_internal::WhenAnyAwaiter<T> WhenAny(std::vector<Task<T>> tasks) {
  return async_internal::WhenAnyAwaiter<T>(std::move(tasks));
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_WHEN_H_
