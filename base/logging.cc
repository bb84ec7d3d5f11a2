#include "base/logging.h"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace troupe {
namespace {

// The current logger. Loggers are never freed (see `Retired()`), so a raw
// pointer read with acquire is enough: it pairs with the release store in
// SetLogger(), which publishes a fully constructed logger.
std::atomic<spdlog::logger*> current_logger{nullptr};

// Every logger ever installed, kept alive for the rest of the process. Leaked
// on purpose: destroying loggers at exit races with threads that still log.
std::vector<std::shared_ptr<spdlog::logger>>& Retired() {
  static auto* retired = new std::vector<std::shared_ptr<spdlog::logger>>();
  return *retired;
}

std::mutex& InstallMutex() {
  static auto* mu = new std::mutex();
  return *mu;
}

// Keeps `logger` alive for good and makes it current. Caller holds InstallMutex().
spdlog::logger* InstallLocked(std::shared_ptr<spdlog::logger> logger) {
  spdlog::logger* raw = logger.get();
  Retired().push_back(std::move(logger));
  current_logger.store(raw, std::memory_order_release);
  return raw;
}

spdlog::logger* MakeDefaultLogger() {
  std::lock_guard<std::mutex> lock(InstallMutex());
  // Another thread may have won the race to create it.
  if (spdlog::logger* existing = current_logger.load(std::memory_order_acquire)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(
      "troupe", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] [tid %t] %v");
  LogLevel level = LogLevel::kInfo;
  if (const char* env = std::getenv(kLogLevelEnv)) {
    if (std::optional<LogLevel> parsed = ParseLogLevel(env)) level = *parsed;
  }
  logger->set_level(base_internal::ToSpdlog(level));
  return InstallLocked(std::move(logger));
}

}  // namespace

namespace base_internal {
spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kCritical:
      return spdlog::level::critical;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}
}  // namespace base_internal

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "trace") return LogLevel::kTrace;
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  if (lower == "critical") return LogLevel::kCritical;
  if (lower == "off") return LogLevel::kOff;
  return std::nullopt;
}

spdlog::logger& Logger() {
  spdlog::logger* logger = current_logger.load(std::memory_order_acquire);
  if (logger == nullptr) logger = MakeDefaultLogger();
  return *logger;
}

void SetLogger(std::shared_ptr<spdlog::logger> logger) {
  if (logger == nullptr) return;
  std::lock_guard<std::mutex> lock(InstallMutex());
  InstallLocked(std::move(logger));
}

void SetLogLevel(LogLevel level) { Logger().set_level(base_internal::ToSpdlog(level)); }

LogLevel GetLogLevel() {
  switch (Logger().level()) {
    case spdlog::level::trace:
      return LogLevel::kTrace;
    case spdlog::level::debug:
      return LogLevel::kDebug;
    case spdlog::level::info:
      return LogLevel::kInfo;
    case spdlog::level::warn:
      return LogLevel::kWarning;
    case spdlog::level::err:
      return LogLevel::kError;
    case spdlog::level::critical:
      return LogLevel::kCritical;
    default:
      return LogLevel::kOff;
  }
}

}  // namespace troupe
