#include "base/logging.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace troupe {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
    case LogLevel::kOff:
      return "off";
  }
  return "unknown";
}

namespace base_internal {
// Constant-initialised, so it is right before any static initialiser runs;
// the environment is applied by `env_applied` below.
std::atomic<int> global_log_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace base_internal

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

// Serialises installing loggers and changing levels.
std::mutex& InstallMutex() {
  static auto* mu = new std::mutex();
  return *mu;
}

// The components, by name. Leaked, like the loggers: a component may be
// used from any thread until the process ends.
struct Components {
  std::mutex mu;
  absl::node_hash_map<std::string, std::unique_ptr<LogComponent>> by_name;
};
Components& AllComponents() {
  static auto* components = new Components();
  return *components;
}

std::atomic<LogTagSource> tag_source{nullptr};

// Lets through `logger` whatever troupe's levels let through: the most
// verbose of the global level and the components' own. Troupe filters each
// line by its component before it reaches the logger. Caller holds
// InstallMutex().
void UpdateLoggerLevelLocked(spdlog::logger& logger) {
  int most_verbose = base_internal::global_log_level.load(std::memory_order_relaxed);
  Components& components = AllComponents();
  std::lock_guard<std::mutex> lock(components.mu);
  for (const auto& [name, component] : components.by_name) {
    if (std::optional<LogLevel> own = component->own_level()) {
      most_verbose = std::min(most_verbose, static_cast<int>(*own));
    }
  }
  logger.set_level(base_internal::ToSpdlog(static_cast<LogLevel>(most_verbose)));
}

// Keeps `logger` alive for good and makes it current. Caller holds InstallMutex().
spdlog::logger* InstallLocked(std::shared_ptr<spdlog::logger> logger) {
  spdlog::logger* raw = logger.get();
  UpdateLoggerLevelLocked(*raw);
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
  return InstallLocked(std::move(logger));
}

// TROUPE_LOG_LEVEL: "level[,component=level]...". Parts that do not parse
// are ignored.
bool ApplyEnvironment() {
  const char* env = std::getenv(kLogLevelEnv);
  if (env == nullptr) return false;
  for (absl::string_view piece : absl::StrSplit(env, ',', absl::SkipWhitespace())) {
    piece = absl::StripAsciiWhitespace(piece);
    const std::string_view part(piece.data(), piece.size());  // Debian's absl has its own
    const size_t equals = part.find('=');
    if (equals == std::string_view::npos) {
      if (std::optional<LogLevel> level = ParseLogLevel(part)) SetLogLevel(*level);
    } else if (std::optional<LogLevel> level = ParseLogLevel(part.substr(equals + 1))) {
      SetLogLevel(part.substr(0, equals), *level);
    }
  }
  return true;
}
[[maybe_unused]] const bool env_applied = ApplyEnvironment();

LogLevel FromSpdlog(spdlog::level::level_enum level) {
  switch (level) {
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

void WriteLogLine(const LogComponent& component, LogLevel level, std::string_view text) {
  std::string line;
  if (&component != &LogComponent::Default()) absl::StrAppend(&line, "[", component.name(), "] ");
  if (LogTagSource source = tag_source.load(std::memory_order_acquire)) {
    const size_t before = line.size();
    source(&line);
    if (line.size() != before) line += ": ";
  }
  line.append(text);
  Logger().log(ToSpdlog(level), "{}", line);
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
  base_internal::global_log_level.store(static_cast<int>(FromSpdlog(logger->level())),
                                        std::memory_order_relaxed);
  InstallLocked(std::move(logger));
}

const LogComponent& LogComponent::Named(std::string_view name) {
  Components& components = AllComponents();
  std::lock_guard<std::mutex> lock(components.mu);
  std::unique_ptr<LogComponent>& slot = components.by_name[std::string(name)];
  if (slot == nullptr) slot.reset(new LogComponent(std::string(name)));
  return *slot;
}

const LogComponent& LogComponent::Default() {
  static const LogComponent& component = Named("troupe");
  return component;
}

const LogComponent& ActorLog() {
  static const LogComponent& component = LogComponent::Named("actor");
  return component;
}
const LogComponent& NetLog() {
  static const LogComponent& component = LogComponent::Named("net");
  return component;
}
const LogComponent& ThreadsLog() {
  static const LogComponent& component = LogComponent::Named("threads");
  return component;
}

void SetLogLevel(LogLevel level) {
  std::lock_guard<std::mutex> lock(InstallMutex());
  base_internal::global_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
  if (spdlog::logger* logger = current_logger.load(std::memory_order_acquire)) {
    UpdateLoggerLevelLocked(*logger);
  }
}

void SetLogLevel(std::string_view component, std::optional<LogLevel> level) {
  const LogComponent& named = LogComponent::Named(component);
  std::lock_guard<std::mutex> lock(InstallMutex());
  const_cast<LogComponent&>(named).level_.store(level ? static_cast<int>(*level) : -1,
                                                std::memory_order_relaxed);
  if (spdlog::logger* logger = current_logger.load(std::memory_order_acquire)) {
    UpdateLoggerLevelLocked(*logger);
  }
}

LogLevel GetLogLevel() {
  return static_cast<LogLevel>(base_internal::global_log_level.load(std::memory_order_relaxed));
}

LogLevel GetLogLevel(std::string_view component) {
  return LogComponent::Named(component).own_level().value_or(GetLogLevel());
}

void SetLogTagSource(LogTagSource source) { tag_source.store(source, std::memory_order_release); }

}  // namespace troupe
