// -----------------------------------------------------------------------------
// File: internal/fan_out.h
// -----------------------------------------------------------------------------
//
// `FanOut`: one awaiting coroutine running several child tasks as strands of
// their own (WhenAll, WhenAny), resumed when the last child has ended.
//
// Children start on the awaiting thread's trampoline, one after another,
// each running until it first waits; their resumptions go to the parent's
// executor, so once they wait they run in parallel there. Each child has
// its own context (its own cancellation); cancelling the parent cancels
// every child, and a "first wins" fan-out cancels the others when one
// ends. Either way the parent resumes only after every child has ended and
// its frames are gone: nothing a child touches outlives the await.
//
// The count of children still running starts at N + 1: the extra one is
// the starting await_suspend's, so that children ending while it still
// runs cannot resume a parent that has not suspended yet.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_FAN_OUT_H_
#define TROUPE_ASYNC_INTERNAL_FAN_OUT_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/internal/root_runner.h"
#include "async/task.h"

namespace troupe::async_internal {

class FanOut;

// A child's strand.
class FanOutChild final : public RootStrand {
 public:
  FanOutChild(FanOut* group, size_t index, const TaskContext& parent)
      : RootStrand(parent.executor()), group_(group), index_(index) {}
  ~FanOutChild() = default;

  // The frame running the child, and what abandoning it does to its result
  // slot (fills it with kCancelled).
  void Bind(std::coroutine_handle<> root, void (*abandon_result)(void*), void* result) {
    root_ = root;
    abandon_result_ = abandon_result;
    result_ = result;
  }

  // The child's frame has ended (and is destroyed).
  void Ended() noexcept override;

  void Abandon() noexcept override;

  Clock& clock() const override;  // the parent's

 private:
  FanOut* const group_;
  const size_t index_;
  std::coroutine_handle<> root_;
  void (*abandon_result_)(void*) = nullptr;
  void* result_ = nullptr;
};

// The body a child's RootRunner frame runs: the task, its result into the
// group's slot.
template <typename T>
RootRunner RunChild(Task<T> task, std::optional<TaskResult<T>>* result) {
  result->emplace(co_await std::move(task));
}

class FanOut final : public Canceller {
 public:
  static constexpr size_t kNoWinner = std::numeric_limits<size_t>::max();

  explicit FanOut(bool first_wins) : first_wins_(first_wins) {}
  FanOut(const FanOut&) = delete;
  FanOut& operator=(const FanOut&) = delete;

  // FanOut::Add()
  //
  // A child running `task`, its result to `*result`. Call between Begin()
  // and Start(), from await_suspend.
  template <typename T>
  void Add(Task<T> task, std::optional<TaskResult<T>>* result) {
    auto child = std::make_unique<FanOutChild>(this, children_.size(), *parent_);
    std::coroutine_handle<RootRunner::promise_type> root =
        RunChild<T>(std::move(task), result).BindTo(child.get());
    child->Bind(root, &AbandonResult<T>, result);
    roots_.push_back(root);
    children_.push_back(std::move(child));
  }

  // FanOut::Begin()
  //
  // The first step of await_suspend.
  void Begin(TaskContext* parent, std::coroutine_handle<> awaiting, size_t children) {
    parent_ = parent;
    awaiting_ = awaiting;
    children_.reserve(children);
    roots_.reserve(children);
  }

  // FanOut::Start()
  //
  // The last step of await_suspend: starts the children. Returns false if
  // there was nothing to wait for (no children).
  bool Start();

  // FanOut::Finish()
  //
  // The first step of await_resume.
  void Finish() noexcept {
    if (registered_) parent_->Unregister(this);
  }

  // The awaiting strand: its children run on its executor and its clock.
  TaskContext& parent() const { return *parent_; }

  // The index of the child that ended first (first-wins fan-outs).
  size_t winner() const { return winner_.load(std::memory_order_relaxed); }

  // A child has ended; called once per child, from its last step.
  void ChildEnded(size_t index) noexcept;

 private:
  template <typename T>
  static void AbandonResult(void* result) {
    static_cast<std::optional<TaskResult<T>>*>(result)->emplace(
        absl::CancelledError("the executor shut down before the task finished"));
  }

  // The parent was cancelled: so is every child. It keeps waiting for them.
  std::coroutine_handle<> CancelWait() noexcept override {
    CancelChildren(kNoWinner);
    return nullptr;
  }

  void CancelChildren(size_t except) noexcept;

  const bool first_wins_;
  TaskContext* parent_ = nullptr;
  std::coroutine_handle<> awaiting_;
  bool registered_ = false;
  std::vector<std::unique_ptr<FanOutChild>> children_;
  std::vector<std::coroutine_handle<>> roots_;
  std::atomic<size_t> remaining_{0};
  std::atomic<size_t> winner_{kNoWinner};
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_FAN_OUT_H_
