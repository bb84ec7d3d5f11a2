#include "base/check.h"

#include "gtest/gtest.h"

namespace troupe {
namespace {

TEST(CheckTest, PassingCheckEvaluatesConditionOnce) {
  int evaluations = 0;
  TROUPE_CHECK(++evaluations == 1);
  EXPECT_EQ(evaluations, 1);
}

TEST(CheckDeathTest, FailingCheckAbortsWithConditionAndMessage) {
  const int capacity = 4;
  EXPECT_DEATH(TROUPE_CHECK(capacity > 8, "capacity {} too small", capacity),
               "TROUPE_CHECK failed: capacity > 8: capacity 4 too small");
}

TEST(CheckDeathTest, FailingCheckWithoutMessageNamesTheCondition) {
  int* pointer = nullptr;
  EXPECT_DEATH(TROUPE_CHECK(pointer != nullptr), "check_test.cc:.*pointer != nullptr");
}

#ifndef NDEBUG
TEST(CheckDeathTest, DcheckFiresInDebugBuilds) {
  EXPECT_DEATH(TROUPE_DCHECK(1 + 1 == 3), "1 \\+ 1 == 3");
}
#else
TEST(CheckTest, DcheckDoesNotEvaluateInOptimisedBuilds) {
  int evaluations = 0;
  TROUPE_DCHECK(++evaluations == 100);
  EXPECT_EQ(evaluations, 0);
}
#endif

}  // namespace
}  // namespace troupe
