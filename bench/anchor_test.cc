#include "bench/anchor.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace troupe::bench {
namespace {

TEST(AnchorTest, ReadsTheNamedFigure) {
  absl::StatusOr<double> figure = ParseAnchorFigure(
      "C4 rendezvous unbuffered ms=264.3 ns_per_roundtrip=264.31 check=ok\n", "ns_per_roundtrip");
  ASSERT_TRUE(figure.ok()) << figure.status();
  EXPECT_DOUBLE_EQ(*figure, 264.31);
}

TEST(AnchorTest, AnAnchorThatDidNotCheckItsResultIsAnError) {
  EXPECT_EQ(
      ParseAnchorFigure("C5 select ns_per_msg=83.1 check=FAIL\n", "ns_per_msg").status().code(),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseAnchorFigure("C5 select ns_per_msg=83.1\n", "ns_per_msg").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AnchorTest, AMissingFigureIsAnError) {
  EXPECT_EQ(ParseAnchorFigure("C4 ms=264.3 check=ok\n", "ns_per_roundtrip").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseAnchorFigure("", "ns_per_roundtrip").status().code(), absl::StatusCode::kDataLoss);
}

TEST(AnchorTest, WithoutTheVariableTheRowsAreAsTheyWere) {
  unsetenv("TROUPE_GO_ANCHOR");
  absl::StatusOr<Rows> rows =
      WithAnchor(Rows{{"K4", 120}}, kGoAnchor, "K4", "c4", "ns_per_roundtrip");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].id, "K4");
}

TEST(AnchorTest, ABinaryThatFailsIsAnError) {
  setenv("TROUPE_GO_ANCHOR", "/bin/false", 1);
  EXPECT_FALSE(WithAnchor(Rows{{"K4", 120}}, kGoAnchor, "K4", "c4", "ns_per_roundtrip").ok());
  unsetenv("TROUPE_GO_ANCHOR");
}

// A stand-in anchor binary: prints a moodycamel-shaped line for whatever
// workload it is given.
std::string WriteFakeAnchor() {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/fake_mc_anchor.sh";
  std::ofstream(path) << "#!/bin/sh\necho \"M1 mc-ConcurrentQueue($1) ms=80.0 ns_per_msg=8.00 "
                         "avg_batch=12.0 check=ok\"\n";
  chmod(path.c_str(), 0755);
  return path;
}

TEST(AnchorTest, TheMoodycamelAnchorAddsItsFigureAndTheRatioUnderItsOwnTag) {
  const std::string binary = WriteFakeAnchor();
  setenv("TROUPE_GO_ANCHOR", "/bin/false", 1);  // another anchor's variable: not run
  setenv("TROUPE_MC_ANCHOR", binary.c_str(), 1);
  absl::StatusOr<Rows> rows = WithAnchor(Rows{{"M1", 6.0}, {"M1-new", 30.0}}, kMoodycamelAnchor,
                                         "M1", "m1-imp", "ns_per_msg");
  unsetenv("TROUPE_MC_ANCHOR");
  unsetenv("TROUPE_GO_ANCHOR");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[2].id, "M1-mc");
  EXPECT_DOUBLE_EQ((*rows)[2].value, 8.0);
  EXPECT_EQ((*rows)[3].id, "M1/mc");
  EXPECT_DOUBLE_EQ((*rows)[3].value, 0.75);  // M1's own row, not M1-new's
  EXPECT_EQ(AnchorRatioRow(kMoodycamelAnchor, "M1", "m1-imp", "<= 1").id, "M1/mc");
}

}  // namespace
}  // namespace troupe::bench
