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
// Components. troupe's own lines belong to a component ("actor", "net",
// "threads"), named at the start of the line, and each component may have a
// level of its own; a component without one follows the global level:
//
//   troupe::SetLogLevel("net", troupe::LogLevel::kDebug);  // net in detail
//   const troupe::LogComponent& kLog = troupe::LogComponent::Named("billing");
//   troupe::LogInfo(kLog, "invoice {} sent", id);  // "[billing] invoice 7 sent"
//
// Tags. A line written while an actor handles a message also names the actor
// and the message's type ("[actor] counter#3 <counter.Increment>: ..."); the
// actor layer supplies the tag through SetLogTagSource().
//
// The initial levels come from TROUPE_LOG_LEVEL, read when the logger is
// first used: a level (trace, debug, info, warning, error, critical, off),
// then optional `component=level` pairs, comma-separated:
// "info,net=debug". The default is `kInfo`. `SetLogger()` swaps in a logger
// of the application's (with its own sinks and pattern); tests use it to
// capture output.
//
// Lifetime: the logger is never destroyed, so a pool or actor system that
// logs while it shuts down during static destruction is still safe.

#ifndef TROUPE_BASE_LOGGING_H_
#define TROUPE_BASE_LOGGING_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "base/stringify.h"

namespace troupe {

enum class LogLevel { kTrace, kDebug, kInfo, kWarning, kError, kCritical, kOff };

// "trace", "debug", "info", "warning", "error", "critical", "off": the
// spellings ParseLogLevel() reads.
std::string_view LogLevelName(LogLevel level);
template <typename Sink>
void AbslStringify(Sink& sink, LogLevel level) {
  sink.Append(LogLevelName(level));
}

// The environment variable read for the initial levels.
inline constexpr char kLogLevelEnv[] = "TROUPE_LOG_LEVEL";

// ParseLogLevel()
//
// "trace", "debug", "info", "warning" (or "warn"), "error", "critical", "off",
// in any case. Returns nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

// Logger()
//
// The troupe logger. Thread-safe; the reference stays valid for the whole
// process, but a later `SetLogger()` makes new log calls go elsewhere. Its
// spdlog level is kept at the most verbose of troupe's levels (troupe
// filters each line by its component first): change levels with
// SetLogLevel(), not on the logger.
spdlog::logger& Logger();

// SetLogger()
//
// Replaces the troupe logger (its sinks and pattern); its level becomes the
// global level. The previous one is kept alive, since other threads may be
// writing to it. Thread-safe.
void SetLogger(std::shared_ptr<spdlog::logger> logger);

// LogComponent
//
// A part of a program whose lines are named and filtered together. Made on
// first use by Named() and never destroyed: keep the reference.
class LogComponent {
 public:
  // LogComponent::Named()
  //
  // The component called `name` (the same object for the same name).
  // Thread-safe.
  static const LogComponent& Named(std::string_view name);

  // The component of lines logged without one (untagged).
  static const LogComponent& Default();

  const std::string& name() const { return name_; }

  // The component's own level; nullopt if it follows the global level.
  std::optional<LogLevel> own_level() const {
    const int level = level_.load(std::memory_order_relaxed);
    if (level < 0) return std::nullopt;
    return static_cast<LogLevel>(level);
  }

  // True if a line at `level` would be written: the component's own level
  // if it has one, else the global level. One or two relaxed loads.
  bool ShouldLog(LogLevel level) const;

  LogComponent(const LogComponent&) = delete;
  LogComponent& operator=(const LogComponent&) = delete;

 private:
  friend void SetLogLevel(std::string_view component, std::optional<LogLevel> level);
  explicit LogComponent(std::string name) : name_(std::move(name)) {}

  const std::string name_;
  std::atomic<int> level_{-1};  // a LogLevel, or -1: follow the global level
};

// The components of troupe's own layers.
const LogComponent& ActorLog();    // "actor": actors, supervision, dead letters
const LogComponent& NetLog();      // "net": the reactor, listeners, connections
const LogComponent& ThreadsLog();  // "threads": the pool

// SetLogLevel() / GetLogLevel()
//
// The global level, below which lines are discarded, and a component's own
// (nullopt: follow the global level again). Thread-safe.
void SetLogLevel(LogLevel level);
void SetLogLevel(std::string_view component, std::optional<LogLevel> level);
LogLevel GetLogLevel();
LogLevel GetLogLevel(std::string_view component);

// SetLogTagSource()
//
// Installs `source`, called on the logging thread for every line written
// with a component: it appends what the thread is doing (the actor layer:
// the actor and the message being handled) to `out`, or nothing. Must be
// thread-safe and cheap; set once, before logging starts.
using LogTagSource = void (*)(std::string* out);
void SetLogTagSource(LogTagSource source);

namespace base_internal {
spdlog::level::level_enum ToSpdlog(LogLevel level);
extern std::atomic<int> global_log_level;
// Writes one formatted line: the component, the tag, then `text`.
void WriteLogLine(const LogComponent& component, LogLevel level, std::string_view text);
}  // namespace base_internal

inline bool LogComponent::ShouldLog(LogLevel level) const {
  int threshold = level_.load(std::memory_order_relaxed);
  if (threshold < 0) threshold = base_internal::global_log_level.load(std::memory_order_relaxed);
  return static_cast<int>(level) >= threshold;
}

// Log()
//
// Formats and writes one line at `level`, if that level is enabled for the
// component. The check comes first, so a disabled level costs no formatting.
template <typename... Args>
void Log(const LogComponent& component, LogLevel level, fmt::format_string<Args...> format,
         Args&&... args) {
  if (!component.ShouldLog(level)) return;
  base_internal::WriteLogLine(component, level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  Log(LogComponent::Default(), level, format, std::forward<Args>(args)...);
}

#define TROUPE_LOG_LEVEL_FUNCTION(Name, level)                                                   \
  template <typename... Args>                                                                    \
  void Name(const LogComponent& component, fmt::format_string<Args...> format, Args&&... args) { \
    Log(component, level, format, std::forward<Args>(args)...);                                  \
  }                                                                                              \
  template <typename... Args>                                                                    \
  void Name(fmt::format_string<Args...> format, Args&&... args) {                                \
    Log(LogComponent::Default(), level, format, std::forward<Args>(args)...);                    \
  }

// LogTrace() ... LogError()
//
// Log() at one level, with or without a component.
TROUPE_LOG_LEVEL_FUNCTION(LogTrace, LogLevel::kTrace)
TROUPE_LOG_LEVEL_FUNCTION(LogDebug, LogLevel::kDebug)
TROUPE_LOG_LEVEL_FUNCTION(LogInfo, LogLevel::kInfo)
TROUPE_LOG_LEVEL_FUNCTION(LogWarning, LogLevel::kWarning)
TROUPE_LOG_LEVEL_FUNCTION(LogError, LogLevel::kError)
#undef TROUPE_LOG_LEVEL_FUNCTION

}  // namespace troupe

#endif  // TROUPE_BASE_LOGGING_H_
