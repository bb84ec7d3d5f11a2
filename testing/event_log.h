// -----------------------------------------------------------------------------
// File: event_log.h
// -----------------------------------------------------------------------------
//
// `EventLog`: a thread-safe list of events that actors add to and a
// real-time test waits for.
//
//   troupe::testkit::EventLog log;                   // actors call log.Add("a")
//   EXPECT_THAT(log.WaitForSize(3), ElementsAre("a", "b", "c"));

#ifndef TROUPE_TESTING_EVENT_LOG_H_
#define TROUPE_TESTING_EVENT_LOG_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe::testkit {

class EventLog {
 public:
  void Add(std::string event) {
    MutexLock lock(mu_);
    events_.push_back(std::move(event));
    cv_.SignalAll();
  }

  // EventLog::WaitForSize()
  //
  // Waits until there are at least `n` events (failing the test after
  // `timeout`), and returns them all.
  std::vector<std::string> WaitForSize(size_t n, absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(mu_);
    while (events_.size() < n) {
      if (!cv_.WaitUntil(mu_, deadline) && absl::Now() >= deadline) break;
    }
    EXPECT_GE(events_.size(), n) << "timed out waiting for events";
    return events_;
  }

  std::vector<std::string> Snapshot() {
    MutexLock lock(mu_);
    return events_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_EVENT_LOG_H_
