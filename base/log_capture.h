// -----------------------------------------------------------------------------
// File: log_capture.h
// -----------------------------------------------------------------------------
//
// `LogCapture` (tests only): records what troupe logs, one "level message"
// line per call, so a test can assert on it.
//
//   troupe::LogCapture capture;            // installs itself as troupe's logger
//   troupe::LogWarning("dropped {}", 3);
//   EXPECT_EQ(capture.Output(), "warning dropped 3\n");
//
// `LogCapture(LogCapture::kDoNotInstall)` only builds the logger, for code
// that installs one itself (ActorSystemOptions::logger). The destructor puts
// back a plain stderr logger. The captured text lives in the sink, which the
// logger owns, so a thread that logs late writes into valid memory.

#ifndef TROUPE_BASE_LOG_CAPTURE_H_
#define TROUPE_BASE_LOG_CAPTURE_H_

#include <memory>
#include <string>

#include "spdlog/logger.h"

namespace troupe {

class LogCapture {
 public:
  enum Install { kInstall, kDoNotInstall };

  explicit LogCapture(Install install = kInstall);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Everything logged through the capture so far.
  std::string Output() const;

  const std::shared_ptr<spdlog::logger>& logger() const { return logger_; }

 private:
  class Sink;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace troupe

#endif  // TROUPE_BASE_LOG_CAPTURE_H_
