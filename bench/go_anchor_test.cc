#include "bench/go_anchor.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace troupe::bench {
namespace {

TEST(GoAnchorTest, ReadsTheNamedFigure) {
  absl::StatusOr<double> figure = ParseGoAnchorFigure(
      "C4 rendezvous unbuffered ms=264.3 ns_per_roundtrip=264.31 check=ok\n", "ns_per_roundtrip");
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_DOUBLE_EQ(*figure, 264.31);
}

TEST(GoAnchorTest, AnAnchorThatDidNotCheckItsResultIsAnError) {
  EXPECT_EQ(
      ParseGoAnchorFigure("C5 select ns_per_msg=83.1 check=FAIL\n", "ns_per_msg").status().code(),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseGoAnchorFigure("C5 select ns_per_msg=83.1\n", "ns_per_msg").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(GoAnchorTest, AMissingFigureIsAnError) {
  EXPECT_EQ(ParseGoAnchorFigure("C4 ms=264.3 check=ok\n", "ns_per_roundtrip").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseGoAnchorFigure("", "ns_per_roundtrip").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(GoAnchorTest, WithoutTheVariableTheRowsAreAsTheyWere) {
  unsetenv("TROUPE_GO_ANCHOR");
  absl::StatusOr<Rows> rows = WithGoAnchor(Rows{{"K4", 120}}, "K4", "c4", "ns_per_roundtrip");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].id, "K4");
}

TEST(GoAnchorTest, ABinaryThatFailsIsAnError) {
  setenv("TROUPE_GO_ANCHOR", "/bin/false", 1);
  EXPECT_FALSE(WithGoAnchor(Rows{{"K4", 120}}, "K4", "c4", "ns_per_roundtrip").ok());
  unsetenv("TROUPE_GO_ANCHOR");
}

}  // namespace
}  // namespace troupe::bench
