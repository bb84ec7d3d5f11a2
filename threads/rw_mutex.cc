#include "threads/rw_mutex.h"

#include "base/check.h"

namespace troupe {

// The state lives under mu_; the analysis cannot follow a lock whose holding
// spans two calls (Lock() returns with the logical lock held but mu_ free).
void RwMutex::Lock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu_);
  ++writers_waiting_;
  while (writer_ || readers_ > 0) writers_cv_.Wait(mu_);
  --writers_waiting_;
  writer_ = true;
}

void RwMutex::Unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu_);
  TROUPE_DCHECK(writer_, "RwMutex::Unlock() without the write lock");
  writer_ = false;
  if (writers_waiting_ > 0) writers_cv_.Signal();
  readers_cv_.SignalAll();
}

void RwMutex::ReaderLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu_);
  while (writer_ || writers_waiting_ > 0) readers_cv_.Wait(mu_);
  ++readers_;
}

void RwMutex::ReaderUnlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu_);
  TROUPE_DCHECK(readers_ > 0, "RwMutex::ReaderUnlock() without a read lock");
  if (--readers_ == 0 && writers_waiting_ > 0) writers_cv_.Signal();
}

bool RwMutex::TryLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu_);
  if (writer_ || readers_ > 0) return false;
  writer_ = true;
  return true;
}

bool RwMutex::TryReaderLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu_);
  if (writer_ || writers_waiting_ > 0) return false;
  ++readers_;
  return true;
}

}  // namespace troupe
