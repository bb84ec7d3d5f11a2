#include "base/logging.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log_capture.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

// Counts how often fmt formats it.
struct CountsFormatting {
  int* count;
};

}  // namespace
}  // namespace troupe

template <>
struct fmt::formatter<troupe::CountsFormatting> : fmt::formatter<std::string_view> {
  auto format(const troupe::CountsFormatting& value, fmt::format_context& ctx) const {
    ++*value.count;
    return fmt::formatter<std::string_view>::format("counted", ctx);
  }
};

namespace troupe {
namespace {

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kInfo); }
  std::string Output() { return capture_.Output(); }

  LogCapture capture_;
};

TEST_F(LoggingTest, WritesFormattedLinesAtEnabledLevels) {
  LogInfo("actor {} handled {} messages", "counter", 42);
  LogWarning("mailbox depth {}", 7);
  EXPECT_EQ(Output(), "info actor counter handled 42 messages\nwarning mailbox depth 7\n");
}

TEST_F(LoggingTest, DiscardsLinesBelowTheLevelWithoutFormatting) {
  SetLogLevel(LogLevel::kWarning);
  int formatted = 0;
  LogInfo("hidden {}", CountsFormatting{&formatted});
  LogDebug("hidden too");
  LogError("shown {}", CountsFormatting{&formatted});
  EXPECT_EQ(Output(), "error shown counted\n");
  EXPECT_EQ(formatted, 1);  // Only the enabled line paid for formatting.
  EXPECT_EQ(GetLogLevel(), LogLevel::kWarning);
}

TEST_F(LoggingTest, OffSilencesEverything) {
  SetLogLevel(LogLevel::kOff);
  LogError("nothing");
  EXPECT_EQ(Output(), "");
}

TEST_F(LoggingTest, ManyThreadsLogWholeLines) {
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) LogInfo("thread {} line {}", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string output = Output();
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), kThreads * kLines);
  EXPECT_NE(output.find("info thread 3 line 199\n"), std::string::npos);
}

TEST_F(LoggingTest, ComponentLinesNameTheirComponent) {
  const LogComponent& billing = LogComponent::Named("billing");
  LogInfo(billing, "invoice {} sent", 7);
  LogInfo("untagged");
  EXPECT_EQ(Output(), "info [billing] invoice 7 sent\ninfo untagged\n");
  EXPECT_EQ(&LogComponent::Named("billing"), &billing);  // one object per name
}

TEST_F(LoggingTest, AComponentLevelOverridesTheGlobalOneBothWays) {
  const LogComponent& chatty = LogComponent::Named("chatty");
  const LogComponent& quiet = LogComponent::Named("quiet");
  SetLogLevel("chatty", LogLevel::kDebug);
  SetLogLevel("quiet", LogLevel::kError);
  LogDebug(chatty, "shown");
  LogDebug("global debug hidden");
  LogWarning(quiet, "hidden");
  LogError(quiet, "shown");
  EXPECT_EQ(Output(), "debug [chatty] shown\nerror [quiet] shown\n");
  EXPECT_EQ(GetLogLevel("chatty"), LogLevel::kDebug);
  EXPECT_EQ(GetLogLevel("unset"), LogLevel::kInfo);  // follows the global level

  SetLogLevel("chatty", std::nullopt);  // back to the global level
  LogDebug(chatty, "hidden again");
  EXPECT_EQ(Output(), "debug [chatty] shown\nerror [quiet] shown\n");
  SetLogLevel("quiet", std::nullopt);
}

// A tag source that says which "job" this thread runs, as the actor layer does.
thread_local const char* current_job = nullptr;
void AppendJob(std::string* out) {
  if (current_job != nullptr) out->append(current_job);
}

TEST_F(LoggingTest, LinesCarryTheTagOfWhatTheThreadRuns) {
  SetLogTagSource(&AppendJob);
  LogInfo("outside");
  current_job = "counter#3 <counter.Increment>";
  LogInfo(LogComponent::Named("actor"), "inside");
  current_job = nullptr;
  SetLogTagSource(nullptr);
  EXPECT_EQ(Output(), "info outside\ninfo [actor] counter#3 <counter.Increment>: inside\n");
}

TEST(LogLevelTest, ParsesNamesInAnyCase) {
  EXPECT_EQ(ParseLogLevel("trace"), LogLevel::kTrace);
  EXPECT_EQ(ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("Info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("critical"), LogLevel::kCritical);
  EXPECT_EQ(ParseLogLevel("off"), LogLevel::kOff);
  EXPECT_EQ(ParseLogLevel("loud"), std::nullopt);
  EXPECT_EQ(ParseLogLevel(""), std::nullopt);
}

TEST(LogLevelTest, EveryLevelsNameParsesBackToIt) {
  for (LogLevel level : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                         LogLevel::kError, LogLevel::kCritical, LogLevel::kOff}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(level)), level) << level;
  }
  EXPECT_EQ(fmt::format("level {}", LogLevel::kWarning), "level warning");
}

}  // namespace
}  // namespace troupe
