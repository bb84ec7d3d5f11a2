#include "base/stress.h"

#include <algorithm>
#include <cmath>

#include "gtest/gtest.h"

namespace troupe {
namespace {

TEST(StressScaleTest, ParsesPositiveNumbers) {
  EXPECT_EQ(ParseStressScale("0.1"), 0.1);
  EXPECT_EQ(ParseStressScale("2"), 2.0);
  EXPECT_EQ(ParseStressScale("1e-2"), 0.01);
}

TEST(StressScaleTest, RejectsGarbageZeroAndNegative) {
  EXPECT_EQ(ParseStressScale(""), std::nullopt);
  EXPECT_EQ(ParseStressScale("fast"), std::nullopt);
  EXPECT_EQ(ParseStressScale("0.5x"), std::nullopt);
  EXPECT_EQ(ParseStressScale("0"), std::nullopt);
  EXPECT_EQ(ParseStressScale("-1"), std::nullopt);
  EXPECT_EQ(ParseStressScale("inf"), std::nullopt);
  EXPECT_EQ(ParseStressScale("nan"), std::nullopt);
}

TEST(StressScaleTest, ScaledCountFollowsTheEnvironment) {
  // The test runs under whatever scale the command line set; the relation
  // between the two functions holds for every scale.
  const double scale = StressScale();
  EXPECT_GT(scale, 0);
  EXPECT_EQ(ScaledCount(1000, 1), std::max<int64_t>(1, std::llround(1000 * scale)));
}

TEST(StressScaleTest, ScaledCountNeverGoesBelowTheMinimum) {
  EXPECT_GE(ScaledCount(0, 7), 7);
  EXPECT_GE(ScaledCount(1, 1), 1);
}

}  // namespace
}  // namespace troupe
