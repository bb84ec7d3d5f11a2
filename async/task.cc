#include "async/task.h"

#include <atomic>

#include "mailbox/node_pool.h"

namespace troupe::async_internal {
namespace {

// Relaxed: a counter read by tests after the tasks they count have been
// joined by other means (BlockOn's notification, a thread join), which order
// the reads after the updates.
std::atomic<long> live_frames{0};

}  // namespace

// Frames come from the node pool. Building with
// --copt=-DTROUPE_ASYNC_FRAMES_FROM_NEW takes them from operator new
// instead: the comparison bench row K0 was measured with (bench/WORKLOADS.md).
void* AllocateFrame(size_t size) {
  if constexpr (kCountsFrames) live_frames.fetch_add(1, std::memory_order_relaxed);
#ifdef TROUPE_ASYNC_FRAMES_FROM_NEW
  return ::operator new(size);
#else
  return PoolAllocate(size);
#endif
}

void FreeFrame(void* frame, size_t size) noexcept {
  if constexpr (kCountsFrames) live_frames.fetch_sub(1, std::memory_order_relaxed);
#ifdef TROUPE_ASYNC_FRAMES_FROM_NEW
  ::operator delete(frame, size);
#else
  PoolFree(frame, size);
#endif
}

long LiveFrames() { return live_frames.load(std::memory_order_relaxed); }

absl::Status StatusFromTaskException() {
  return threads_internal::StatusFromCurrentException("a Task");
}

}  // namespace troupe::async_internal
