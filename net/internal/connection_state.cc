// ConnectionState's lifecycle: start, events from the loop, close and abort,
// the timers, and the one place a connection finishes. Reading and writing
// the socket are in connection_io.cc.

#include "net/internal/connection_state.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log_limiter.h"
#include "base/logging.h"

namespace troupe::net::net_internal {

namespace {
std::atomic<uint64_t> next_connection_id{1};
}  // namespace

ConnectionState::ConnectionState(ActorSystem& system, std::shared_ptr<IoLoop> loop, int fd,
                                 SocketAddress peer, SocketAddress local, ConnectionOptions options,
                                 std::shared_ptr<std::atomic<int64_t>> open)
    : system_(system),
      loop_holder_(std::move(loop)),
      loop_(*loop_holder_),
      fd_(fd),
      peer_(peer),
      local_(local),
      options_(options),
      id_(next_connection_id.fetch_add(1, std::memory_order_relaxed)),
      open_(std::move(open)) {
  if (open_ != nullptr) open_->fetch_add(1, std::memory_order_relaxed);
}

ConnectionState::~ConnectionState() {
  if (!closed_) {  // never started: the loop never owned it
    close(fd_);
    if (open_ != nullptr) open_->fetch_sub(1, std::memory_order_relaxed);
  }
}

std::shared_ptr<ConnectionState> ConnectionState::self() {
  return std::static_pointer_cast<ConnectionState>(shared_from_this());
}

Connection ConnectionState::handle() { return Connection(self()); }

void ConnectionState::Start(ActorRef owner) {
  const bool posted =
      loop_.Post([self = self(), owner]() mutable { self->DoStart(std::move(owner)); });
  // The loop stopped first (the reactor is shutting down): the owner still
  // gets the one Closed it is promised. (The socket closes with this state.)
  if (!posted && owner) owner.Tell(Closed{CloseReason::kShutdown, "the reactor shut down", 0});
}

void ConnectionState::Write(std::string bytes) {
  loop_.Post(
      [self = self(), bytes = std::move(bytes)]() mutable { self->DoWrite(std::move(bytes)); });
}

void ConnectionState::Close() {
  loop_.Post([self = self()] { self->DoClose(); });
}

void ConnectionState::Abort(std::string why) {
  loop_.Post([self = self(), why = std::move(why)]() mutable { self->DoAbort(std::move(why)); });
}

void ConnectionState::NotifyWhenWritten() {
  loop_.Post([self = self()] { self->DoNotifyWhenWritten(); });
}

void ConnectionState::FrameReceived() {
  loop_.Post([self = self()] {
    self->frame_seen_ = true;
    self->bytes_at_frame_ = self->bytes_read_;  // bytes after this are the next frame's
  });
}

void ConnectionState::ReturnInput(size_t bytes) {
  // The common case costs one atomic: no hop to the loop unless reading is
  // paused and this return brings the input under the limit. A Dekker pair
  // with PauseReading(): we subtract then look at the flag; it sets the flag
  // then looks at the count (all seq_cst), so at least one of us sees the
  // other and reading never stays paused with room to read.
  const size_t before = unprocessed_.fetch_sub(bytes, std::memory_order_seq_cst);
  if (reading_paused_.load(std::memory_order_seq_cst) &&
      before - bytes < options_.max_unprocessed_input) {
    loop_.Post([self = self()] { self->ResumeReading(); });
  }
  // After EOF, the last credit back means the peer's input is all handled
  // (the same Dekker pattern with OnInputEnd()).
  if (before == bytes && input_ended_.load(std::memory_order_seq_cst)) {
    loop_.Post([self = self()] { self->CheckInputEnd(); });
  }
}

void ConnectionState::DoStart(ActorRef owner) {
  owner_ = std::move(owner);
  if (!owner_) {
    LogWarning(NetLog(), "connection {} from {}: no actor to own it; aborted", id_,
               peer_.ToString());
    Finish(CloseReason::kAborted, "no owner", /*reset=*/true);
    return;
  }
  interest_ = EPOLLIN | EPOLLRDHUP;
  if (absl::Status s = loop_.Add(fd_, interest_, self()); !s.ok()) {
    Finish(CloseReason::kError, std::string(s.message()));
    return;
  }
  registered_ = true;
  Touch();
  started_at_ = window_start_ = last_activity_;
  ArmTimer();
  if (pending_output_ > 0) Flush();  // written before the loop registered it
}

void ConnectionState::OnEvents(uint32_t events) {
  if (closed_) return;
  if ((events & EPOLLOUT) != 0) Flush();
  if (closed_) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    if ((interest_ & EPOLLIN) != 0) {
      ReadSome();
    } else if ((events & (EPOLLHUP | EPOLLERR)) != 0 && !suspended_) {
      // A hung-up peer cannot take output: the write fails and ends it.
      if (pending_output_ > 0) Flush();
      if (closed_) return;
      // Paused, and the socket hung up: epoll would report that forever.
      // Leave epoll until the actor catches up (DoReturnInput), then read
      // what is left.
      loop_.Remove(fd_);
      suspended_ = true;
    }
  }
}

void ConnectionState::DoClose() {
  if (closed_) return;
  close_after_flush_ = true;
  close_reason_ = CloseReason::kLocalClose;
  if (pending_output_ == 0 && registered_) Finish(CloseReason::kLocalClose, "");
}

void ConnectionState::DoAbort(std::string why) {
  if (closed_) return;
  if (!why.empty())
    LogInfo(NetLog(), "connection {} to {} aborted: {}", id_, peer_.ToString(), why);
  Finish(CloseReason::kAborted, std::move(why), /*reset=*/true);
}

void ConnectionState::DoNotifyWhenWritten() {
  if (closed_) return;
  if (pending_output_ == 0) {
    owner_.Tell(WriteDone());
  } else {
    write_done_at_.push_back(bytes_written_ + pending_output_);
  }
}

void ConnectionState::Touch() { last_activity_ = system_.clock().Now(); }

absl::Time ConnectionState::NextCheck() const {
  absl::Time next = absl::InfiniteFuture();
  if (options_.idle_timeout != absl::InfiniteDuration()) {
    next = std::min(next, last_activity_ + options_.idle_timeout);
  }
  if (options_.first_frame_timeout != absl::InfiniteDuration() && !frame_seen_) {
    next = std::min(next, started_at_ + options_.first_frame_timeout);
  }
  if (options_.min_receive_rate > 0 && !input_done_) {
    next = std::min(next, window_start_ + options_.receive_rate_window);
  }
  return next;
}

void ConnectionState::ArmTimer() {
  const absl::Time next = NextCheck();
  if (next == absl::InfiniteFuture() || (timer_ != 0 && timer_at_ <= next)) return;
  if (timer_ != 0) system_.clock().Cancel(timer_);
  timer_at_ = next;
  std::weak_ptr<ConnectionState> weak = self();
  timer_ = system_.clock().ScheduleAt(next, [weak] {
    if (std::shared_ptr<ConnectionState> state = weak.lock()) {
      state->loop_.Post([state] { state->CheckTimers(); });
    }
  });
}

void ConnectionState::CheckTimers() {
  timer_ = 0;
  timer_at_ = absl::InfiniteFuture();
  if (closed_) return;
  const absl::Time now = system_.clock().Now();
  if (options_.idle_timeout != absl::InfiniteDuration() &&
      now >= last_activity_ + options_.idle_timeout) {
    Finish(CloseReason::kTimedOut,
           absl::StrCat("idle for ", absl::FormatDuration(options_.idle_timeout)));
    return;
  }
  if (options_.first_frame_timeout != absl::InfiniteDuration() && !frame_seen_ &&
      now >= started_at_ + options_.first_frame_timeout) {
    Finish(CloseReason::kTimedOut, absl::StrCat("no complete request within ",
                                               absl::FormatDuration(options_.first_frame_timeout)));
    return;
  }
  if (options_.min_receive_rate > 0 && !input_done_ &&
      now >= window_start_ + options_.receive_rate_window) {
    const uint64_t received = bytes_read_ - bytes_at_window_;
    const double seconds = absl::ToDoubleSeconds(now - window_start_);
    // Only a frame that was under way when the window began, and did not
    // complete during it, is judged (a small request read just before the
    // check, not yet marked by its handler, is not slow); and only while we
    // were reading: a pause of ours is not the peer's slowness.
    const bool frame_under_way = bytes_at_window_ > bytes_at_frame_;
    const bool we_paused = output_paused_ || reading_paused_.load(std::memory_order_relaxed);
    if (frame_under_way && !we_paused &&
        static_cast<double>(received) < static_cast<double>(options_.min_receive_rate) * seconds) {
      Finish(CloseReason::kTimedOut, absl::StrCat("received ", received, " bytes in ",
                                                 absl::FormatDuration(now - window_start_),
                                                 " with a request under way, under the minimum of ",
                                                 options_.min_receive_rate, " bytes/s"));
      return;
    }
    window_start_ = now;
    bytes_at_window_ = bytes_read_;
  }
  ArmTimer();
}

void ConnectionState::OnShutdown() {
  Finish(CloseReason::kShutdown, "the reactor shut down", /*reset=*/true);
}

void ConnectionState::Finish(CloseReason reason, std::string detail, bool reset) {
  if (closed_) return;
  closed_ = true;
  if (open_ != nullptr) open_->fetch_sub(1, std::memory_order_relaxed);
  if (timer_ != 0) system_.clock().Cancel(timer_);
  if (registered_ && !suspended_) loop_.Remove(fd_);
  if (reset) {
    linger hard{1, 0};  // close() then resets instead of lingering
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  } else {
    shutdown(fd_, SHUT_WR);
    // Unread input makes close() reset the connection, which can destroy
    // what we just sent (an error reply) before the peer reads it: discard
    // what has arrived first.
    char discard[4096];
    while (read(fd_, discard, sizeof(discard)) > 0) {
    }
  }
  close(fd_);
  const size_t unsent = pending_output_;
  output_ = std::deque<std::string>();  // the memory goes now, not with the last handle
  SetPendingOutput(0);
  if (owner_) owner_.Tell(Closed{reason, std::move(detail), unsent});
}

}  // namespace troupe::net::net_internal
