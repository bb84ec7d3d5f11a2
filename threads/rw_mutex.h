// -----------------------------------------------------------------------------
// File: rw_mutex.h
// -----------------------------------------------------------------------------
//
// `RwMutex`: a reader-writer lock. Many readers or one writer. Writers are
// preferred: once a writer waits, new readers queue behind it, so a steady
// stream of readers cannot starve writers.
//
//   troupe::RwMutex mu;
//   Config config ABSL_GUARDED_BY(mu);
//
//   { troupe::ReaderLock lock(mu); Use(config); }
//   { troupe::WriterLock lock(mu); config = Reload(); }
//
// Memory ordering: as for Mutex: an unlock (shared or exclusive)
// happens-before the next exclusive lock, and an exclusive unlock
// happens-before every later shared lock.

#ifndef TROUPE_THREADS_RW_MUTEX_H_
#define TROUPE_THREADS_RW_MUTEX_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe {

class ABSL_LOCKABLE RwMutex {
 public:
  RwMutex() = default;
  RwMutex(const RwMutex&) = delete;
  RwMutex& operator=(const RwMutex&) = delete;

  // RwMutex::Lock() / Unlock(): exclusive (writer) access.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION();
  void Unlock() ABSL_UNLOCK_FUNCTION();

  // RwMutex::ReaderLock() / ReaderUnlock(): shared (reader) access.
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION();
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION();

  // RwMutex::TryLock() / TryReaderLock(): take it only if free now.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);
  bool TryReaderLock() ABSL_SHARED_TRYLOCK_FUNCTION(true);

  // std::SharedMutex spellings (std::shared_lock, std::unique_lock).
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { Lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { Unlock(); }
  void lock_shared() ABSL_SHARED_LOCK_FUNCTION() { ReaderLock(); }
  void unlock_shared() ABSL_UNLOCK_FUNCTION() { ReaderUnlock(); }

 private:
  Mutex mu_;
  CondVar readers_cv_;
  CondVar writers_cv_;
  int64_t readers_ ABSL_GUARDED_BY(mu_) = 0;  // holding it shared
  bool writer_ ABSL_GUARDED_BY(mu_) = false;  // holding it exclusively
  int64_t writers_waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

// ReaderLock / WriterLock
//
// RAII guards for shared and exclusive access.
class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(RwMutex& mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_.ReaderLock(); }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() { mu_.ReaderUnlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  RwMutex& mu_;
};

class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(RwMutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  RwMutex& mu_;
};

}  // namespace troupe

#endif  // TROUPE_THREADS_RW_MUTEX_H_
