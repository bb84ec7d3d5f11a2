#include "bench/harness.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace troupe::bench {
namespace {

int runs = 0;

const bool registered = [] {
  RegisterWorkload({{{"T1", "counts its runs", "runs", "<= 5"}, {"T1-x", "twice that", "x", ""}},
                    []() -> absl::StatusOr<Rows> {
                      ++runs;
                      return Rows{{"T1", static_cast<double>(runs)}, {"T1-x", 2.0 * runs}};
                    }});
  RegisterWorkload({{{"T2", "fails its own check", "n", ""}},
                    []() -> absl::StatusOr<Rows> { return absl::InternalError("wrong count"); }});
  return true;
}();

int RunBench(std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string program = "bench";
  argv.push_back(program.data());
  for (std::string& arg : args) argv.push_back(arg.data());
  return RunMain(static_cast<int>(argv.size()), argv.data());
}

TEST(HarnessTest, ReportsTheMedianOfRepetitionsAsJson) {
  runs = 0;
  testing::internal::CaptureStdout();
  EXPECT_EQ(RunBench({"--filter=^T1$", "--json", "--repetitions=5"}), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(runs, 5);
  // Runs report 1..5: the median is 3, and 6 for the second row.
  EXPECT_NE(out.find(R"({"id": "T1", "name": "counts its runs", "value": 3.000, "unit": "runs"})"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("id": "T1-x")"), std::string::npos);
  EXPECT_NE(out.find(R"("value": 6.000)"), std::string::npos);
  EXPECT_EQ(out.front(), '[');
}

TEST(HarnessTest, AFailedResultCheckFailsTheRun) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunBench({"--filter=T2", "--repetitions=1"}), 1);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("wrong count"), std::string::npos);
}

TEST(HarnessTest, BadArgumentsAreRejected) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunBench({"--frobnicate"}), 2);
  EXPECT_EQ(RunBench({"--filter=("}), 2);
  EXPECT_EQ(RunBench({"--repetitions=0"}), 2);
  testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace troupe::bench
