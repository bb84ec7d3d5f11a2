#include "base/logging.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

// BUILD.bazel runs this binary with TROUPE_LOG_LEVEL=ERROR.
TEST(LoggingEnvTest, InitialLevelComesFromTheEnvironment) {
  EXPECT_EQ(GetLogLevel(), LogLevel::kError);
  EXPECT_FALSE(Logger().should_log(spdlog::level::warn));
  EXPECT_TRUE(Logger().should_log(spdlog::level::err));
}

}  // namespace
}  // namespace troupe
