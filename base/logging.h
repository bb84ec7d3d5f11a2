// -----------------------------------------------------------------------------
// File: logging.h
// -----------------------------------------------------------------------------
//
// troupe's logger: one named spdlog logger ("troupe") shared by every layer,
// with format strings checked at compile time by fmt.
//
//   troupe::LogInfo("actor {} started", name);
//   troupe::LogWarning("dropped {} dead letters", count);
//   troupe::SetLogLevel(troupe::LogLevel::kDebug);
//
// The initial level is `kInfo`, or the value of TROUPE_LOG_LEVEL (trace,
// debug, info, warning, error, critical, off) read when the logger is first
// used. `SetLogger()` swaps in a logger of the application's (with its own
// sinks and pattern); tests use it to capture output.
//
// Lifetime: the logger is never destroyed, so a pool or actor system that
// logs while it shuts down during static destruction is still safe.

#ifndef TROUPE_BASE_LOGGING_H_
#define TROUPE_BASE_LOGGING_H_

#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace troupe {

enum class LogLevel { kTrace, kDebug, kInfo, kWarning, kError, kCritical, kOff };

// The environment variable read for the initial level.
inline constexpr char kLogLevelEnv[] = "TROUPE_LOG_LEVEL";

// ParseLogLevel()
//
// "trace", "debug", "info", "warning" (or "warn"), "error", "critical", "off",
// in any case. Returns nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

// Logger()
//
// The troupe logger. Thread-safe; the reference stays valid for the whole
// process, but a later `SetLogger()` makes new log calls go elsewhere.
spdlog::logger& Logger();

// SetLogger()
//
// Replaces the troupe logger (its sinks, pattern and level). The previous one
// is kept alive, since other threads may be writing to it. Thread-safe.
void SetLogger(std::shared_ptr<spdlog::logger> logger);

// SetLogLevel() / GetLogLevel()
//
// The level below which troupe's messages are discarded. Thread-safe.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

namespace base_internal {
spdlog::level::level_enum ToSpdlog(LogLevel level);
}  // namespace base_internal

// Log()
//
// Formats and writes one line at `level`, if that level is enabled. The
// check comes first, so a disabled level costs no formatting.
template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  spdlog::logger& logger = Logger();
  const auto spd_level = base_internal::ToSpdlog(level);
  if (!logger.should_log(spd_level)) return;
  logger.log(spd_level, format, std::forward<Args>(args)...);
}

template <typename... Args>
void LogTrace(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kTrace, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogDebug(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kDebug, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogInfo(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kInfo, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogWarning(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kWarning, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogError(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kError, format, std::forward<Args>(args)...);
}

}  // namespace troupe

#endif  // TROUPE_BASE_LOGGING_H_
