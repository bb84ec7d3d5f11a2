// -----------------------------------------------------------------------------
// File: priority.h
// -----------------------------------------------------------------------------
//
// `Priority`: the three scheduling levels of the thread pool's tasks
// (ThreadPool::Execute(task, priority)) and of actors
// (SpawnOptions::priority, ActorRef::SetPriority()).
//
//   pool.Execute([] { Heartbeat(); }, troupe::Priority::kHigh);
//   pool.Execute([] { Compact(); }, troupe::Priority::kLow);
//
// What each level promises, on every worker of a pool:
//   * kHigh runs before any normal or low work that is waiting: a worker
//     looks at the high queue before each task it takes. It does not
//     interrupt a task that is running.
//   * kNormal is the default, scheduled as before priorities existed.
//   * kLow runs only when no high or normal work is visible, except for the
//     aging rule: a worker looks at the low queue at least once per
//     kLowPriorityAgingInterval tasks it runs, and takes what waits there
//     first. So the low task at the head of that queue starts after at most
//     that many other tasks on any one worker, however busy the pool is (a
//     bound in tasks, not in time; it holds under a high-priority flood
//     too). The low queue is FIFO: the k-th low task waits at most k times
//     as long.

#ifndef TROUPE_THREADS_PRIORITY_H_
#define TROUPE_THREADS_PRIORITY_H_

#include <cstdint>
#include <string_view>

namespace troupe {

// kNormal is zero, so that a zeroed flag word means the default.
enum class Priority : uint8_t { kNormal = 0, kHigh = 1, kLow = 2 };

// The aging bound, in tasks a worker runs (see the file comment).
inline constexpr uint32_t kLowPriorityAgingInterval = 64;

// True for the three named levels (a Priority cast from a bad integer is not).
constexpr bool IsValidPriority(Priority priority) {
  return static_cast<uint8_t>(priority) <= static_cast<uint8_t>(Priority::kLow);
}

constexpr std::string_view PriorityName(Priority priority) {
  switch (priority) {
    case Priority::kNormal:
      return "normal";
    case Priority::kHigh:
      return "high";
    case Priority::kLow:
      return "low";
  }
  return "invalid";
}

}  // namespace troupe

#endif  // TROUPE_THREADS_PRIORITY_H_
