#include "base/log_capture.h"

#include <mutex>

#include "base/logging.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace troupe {

class LogCapture::Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    text_.append(line.data(), line.size());
  }
  void flush_() override {}

 private:
  std::string text_;  // guarded by base_sink's mutex_
};

LogCapture::LogCapture(Install install)
    : sink_(std::make_shared<Sink>()), logger_(std::make_shared<spdlog::logger>("troupe", sink_)) {
  logger_->set_pattern("%l %v");
  if (install == kInstall) SetLogger(logger_);
}

LogCapture::~LogCapture() {
  SetLogger(std::make_shared<spdlog::logger>("troupe",
                                             std::make_shared<spdlog::sinks::stderr_sink_mt>()));
}

std::string LogCapture::Output() const { return sink_->Text(); }

}  // namespace troupe
