#include "threads/internal/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace troupe::threads_internal {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex needs a plain 32-bit word");

BeforeSleep& CurrentBeforeSleep() {
  thread_local BeforeSleep before_sleep;
  return before_sleep;
}

bool FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Time deadline) {
  if (const BeforeSleep& before = CurrentBeforeSleep(); before.fn != nullptr) before.fn(before.arg);
  auto* address = reinterpret_cast<uint32_t*>(word);
  if (deadline == absl::InfiniteFuture()) {
    syscall(SYS_futex, address, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
    return true;
  }
  // FUTEX_WAIT_BITSET takes an absolute deadline, so a spurious wake-up and
  // the re-check that follows never stretch the total wait.
  const absl::Duration since_epoch = deadline - absl::UnixEpoch();
  if (since_epoch <= absl::ZeroDuration()) return false;
  timespec ts = absl::ToTimespec(since_epoch);
  const long rc = syscall(SYS_futex, address, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME,
                          expected, &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT) return false;
  return true;
}

int FutexWake(std::atomic<uint32_t>* word, int count) {
  auto* address = reinterpret_cast<uint32_t*>(word);
  const long rc = syscall(SYS_futex, address, FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

}  // namespace troupe::threads_internal
