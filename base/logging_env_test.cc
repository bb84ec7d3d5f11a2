#include "base/logging.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

// BUILD.bazel runs this binary with TROUPE_LOG_LEVEL=ERROR,net=debug.
TEST(LoggingEnvTest, InitialLevelComesFromTheEnvironment) {
  EXPECT_EQ(GetLogLevel(), LogLevel::kError);
  EXPECT_FALSE(LogComponent::Default().ShouldLog(LogLevel::kWarning));
  EXPECT_TRUE(LogComponent::Default().ShouldLog(LogLevel::kError));
}

// ... whose "net=debug" gives that component a level of its own.
TEST(LoggingEnvTest, ComponentLevelsComeFromTheEnvironment) {
  EXPECT_EQ(GetLogLevel("net"), LogLevel::kDebug);
  EXPECT_TRUE(LogComponent::Named("net").ShouldLog(LogLevel::kDebug));
  EXPECT_FALSE(LogComponent::Named("actor").ShouldLog(LogLevel::kWarning));
}

}  // namespace
}  // namespace troupe
