// -----------------------------------------------------------------------------
// File: leak_check_test_base.h
// -----------------------------------------------------------------------------
//
// `LeakCheckedTest`: the fixture of async/'s tests. Every test ends with
// every coroutine frame and shared state freed (counted in builds with
// assertions). Frames of detached or cancelled tasks are freed on pool
// threads, so the check waits for them, bounded.
//
//   class GoTest : public troupe::async_internal::LeakCheckedTest {};
//
// For tests only.

#ifndef TROUPE_ASYNC_LEAK_CHECK_TEST_BASE_H_
#define TROUPE_ASYNC_LEAK_CHECK_TEST_BASE_H_

#include "absl/time/time.h"
#include "async/task.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"

namespace troupe::async_internal {

class LeakCheckedTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (kCountsFrames) {
      EXPECT_TRUE(testkit::Eventually([] { return LiveFrames() == 0; }, absl::Seconds(10)))
          << LiveFrames() << " frames still allocated";
    }
  }
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_LEAK_CHECK_TEST_BASE_H_
