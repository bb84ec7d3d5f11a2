#include "threads/rw_mutex.h"

#include <atomic>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/barrier.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

// These tests probe the lock with try-locks whose outcome is the point of the
// test, which the static analysis cannot follow; they are checked at run time.
void ProbeSharedAndExclusive(RwMutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu.ReaderLock();
  EXPECT_TRUE(mu.TryReaderLock());  // a second reader gets in
  EXPECT_FALSE(mu.TryLock());       // a writer does not
  mu.ReaderUnlock();
  mu.ReaderUnlock();
  ASSERT_TRUE(mu.TryLock());
  EXPECT_FALSE(mu.TryReaderLock());
  mu.Unlock();
}

TEST(RwMutexTest, ReadersShareWritersExclude) {
  RwMutex mu;
  ProbeSharedAndExclusive(mu);
}

TEST(RwMutexTest, ManyReadersHoldItAtOnce) {
  constexpr int kReaders = 4;
  RwMutex mu;
  Barrier all_inside(kReaders);  // deadlocks unless the readers overlap
  std::vector<Thread<void>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back("reader", [&] {
      ReaderLock lock(mu);
      all_inside.ArriveAndWait();
    });
  }
  for (auto& r : readers) ASSERT_TRUE(r.Join().ok());
}

void ExpectWaitingWriterBlocksNewReaders(RwMutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu.ReaderLock();
  Notification writer_started;
  Thread writer("writer", [&] {
    writer_started.Notify();
    WriterLock lock(mu);
  });
  writer_started.WaitForNotification();
  // Once the writer is queued, a new reader must not barge in.
  bool writer_queued = false;
  for (int i = 0; i < 100000 && !writer_queued; ++i) {  // up to ~10 s under load
    if (!mu.TryReaderLock()) {
      writer_queued = true;
    } else {
      mu.ReaderUnlock();
      absl::SleepFor(absl::Microseconds(100));
    }
  }
  EXPECT_TRUE(writer_queued);
  mu.ReaderUnlock();
  ASSERT_TRUE(writer.Join().ok());
}

TEST(RwMutexTest, WaitingWriterBlocksNewReaders) {
  RwMutex mu;
  ExpectWaitingWriterBlocksNewReaders(mu);
}

TEST(RwMutexStressTest, WritersAreExclusiveReadersSeeConsistentPairs) {
  const int64_t iterations = ScaledCount(20'000);
  RwMutex mu;
  int64_t a = 0, b = 0;  // invariant under the lock: a == b
  std::atomic<int64_t> torn{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back("rw", [&, t] {
      for (int64_t i = 0; i < iterations; ++i) {
        if (t < 2) {
          WriterLock lock(mu);
          ++a;
          ++b;
        } else {
          ReaderLock lock(mu);
          if (a != b) torn.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a, 2 * iterations);
}

}  // namespace
}  // namespace troupe
