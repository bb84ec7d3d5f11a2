#include "net/connection.h"

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
#include "net/internal/connection_state.h"

namespace troupe::net {

std::string_view CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kPeerClosed:
      return "peer closed";
    case CloseReason::kReset:
      return "reset by peer";
    case CloseReason::kError:
      return "socket error";
    case CloseReason::kTimedOut:
      return "timed out";
    case CloseReason::kLocalClose:
      return "closed";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kShutdown:
      return "reactor shut down";
    case CloseReason::kOutputOverflow:
      return "output overflow";
  }
  return "unknown";
}

// -- the handle ---------------------------------------------------------------------

void Connection::Write(std::string bytes) const {
  if (state_ != nullptr && !bytes.empty()) state_->Write(std::move(bytes));
}
void Connection::Close() const {
  if (state_ != nullptr) state_->Close();
}
void Connection::Abort(std::string why) const {
  if (state_ != nullptr) state_->Abort(std::move(why));
}
void Connection::NotifyWhenWritten() const {
  if (state_ != nullptr) state_->NotifyWhenWritten();
}
void Connection::FrameReceived() const {
  if (state_ != nullptr) state_->FrameReceived();
}
const SocketAddress& Connection::peer() const {
  static const SocketAddress none;
  return state_ != nullptr ? state_->peer() : none;
}
const SocketAddress& Connection::local() const {
  static const SocketAddress none;
  return state_ != nullptr ? state_->local() : none;
}
uint64_t Connection::id() const { return state_ != nullptr ? state_->id() : 0; }
size_t Connection::unprocessed_input() const {
  return state_ != nullptr ? state_->unprocessed_input() : 0;
}
size_t Connection::pending_output() const {
  return state_ != nullptr ? state_->pending_output() : 0;
}

namespace net_internal {

// -- input credits -------------------------------------------------------------------

InputCredit::InputCredit(std::shared_ptr<ConnectionState> connection, size_t bytes)
    : connection_(std::move(connection)), bytes_(bytes) {}

InputCredit& InputCredit::operator=(InputCredit&& other) noexcept {
  if (this != &other) {
    Release();
    connection_ = std::move(other.connection_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

InputCredit::~InputCredit() { Release(); }

void InputCredit::Release() {
  if (connection_ == nullptr) return;
  connection_->ReturnInput(bytes_);
  connection_.reset();
}

// -- the connection -------------------------------------------------------------------

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

void ConnectionState::ReadSome() {
  // A bounded number of reads per wake-up, so one busy connection does not
  // starve the others on this loop (epoll is level-triggered: it comes back).
  for (int reads = 0; reads < 16 && !output_paused_; ++reads) {
    if (unprocessed_.load(std::memory_order_seq_cst) >= options_.max_unprocessed_input &&
        PauseReading()) {
      return;
    }
    // Read into the loop's scratch buffer, then copy exactly what came: a
    // fresh read_chunk-sized string per read would be cleared in full for
    // every small message.
    thread_local std::vector<char> scratch;
    if (scratch.size() < options_.read_chunk) scratch.resize(options_.read_chunk);
    const ssize_t n = read(fd_, scratch.data(), options_.read_chunk);
    if (n > 0) {
      std::string data(scratch.data(), static_cast<size_t>(n));
      // Relaxed: only the loop adds, and a pause decision re-reads seq_cst.
      unprocessed_.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
      bytes_read_ += static_cast<uint64_t>(n);
      Touch();
      owner_.Tell(Received{std::move(data), InputCredit(self(), static_cast<size_t>(n))});
      continue;
    }
    if (n == 0) {  // EOF: the peer sends no more; finish what we owe it
      OnInputEnd();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == ECONNRESET) {
      Finish(CloseReason::kReset, std::strerror(errno));
    } else {
      Finish(CloseReason::kError, std::strerror(errno));
    }
    return;
  }
}

void ConnectionState::OnInputEnd() {
  input_done_ = true;
  UpdateInterest();  // out of EPOLLIN: there is nothing more to read
  if (!options_.close_on_input_end) {
    // The owner decides when to close; the Tell follows every Received.
    if (owner_) owner_.Tell(InputEnded{});
    return;
  }
  // Not decided here: an actor that has just handled the last Received may
  // have posted its answer to this loop, still queued behind us. Its credit
  // came back after that post, so: if every credit is back now, the answers
  // are queued already and a check posted now runs after them; if not, the
  // last credit's return sees input_ended_ (Dekker, see ReturnInput()) and
  // posts the check after its own answers.
  input_ended_.store(true, std::memory_order_seq_cst);
  if (unprocessed_.load(std::memory_order_seq_cst) == 0) {
    loop_.Post([self = self()] { self->CheckInputEnd(); });
  }
}

void ConnectionState::CheckInputEnd() {
  if (closed_ || unprocessed_.load(std::memory_order_seq_cst) != 0) return;
  // Every Received is handled, and this check was posted after their
  // answers were: those writes have run (see OnInputEnd()).
  if (pending_output_ == 0) {
    Finish(CloseReason::kPeerClosed, "");
  } else {
    close_after_flush_ = true;
    close_reason_ = CloseReason::kPeerClosed;
    UpdateInterest();
  }
}

void ConnectionState::SetPendingOutput(size_t bytes) {
  pending_output_ = bytes;
  shown_pending_output_.store(bytes, std::memory_order_relaxed);
}

void ConnectionState::DoWrite(std::string bytes) {
  if (closed_) return;  // the owner has (or will have) its Closed
  if (pending_output_ + bytes.size() > options_.max_pending_output) {
    static LogLimiter log_limiter;  // one line a second across connections
    if (int64_t skipped; log_limiter.ShouldLog(&skipped)) {
      LogWarning(NetLog(),
                 "connection {} to {}: {} bytes of output would be pending, over the limit of "
                 "{}: the peer does not read; aborted{}",
                 id_, peer_.ToString(), pending_output_ + bytes.size(), options_.max_pending_output,
                 LogLimiter::Skipped(skipped));
    }
    Finish(CloseReason::kOutputOverflow,
           absl::StrCat("more than ", options_.max_pending_output, " bytes of output pending"),
           /*reset=*/true);
    return;
  }
  SetPendingOutput(pending_output_ + bytes.size());
  output_.push_back(std::move(bytes));
  if (!above_high_water_ && pending_output_ > options_.output_high_water) {
    above_high_water_ = true;
    if (owner_) owner_.Tell(OutputHigh{pending_output_});
  }
  if (!output_paused_ && pending_output_ > options_.output_high_water) {
    output_paused_ = true;  // read no more requests until the answers move
    UpdateInterest();
  }
  // Send at the end of this batch, with whatever else it writes here.
  if (registered_ && !flush_scheduled_) {
    flush_scheduled_ = true;
    loop_.AtEndOfBatch([self = self()] {
      self->flush_scheduled_ = false;
      if (!self->closed_) self->Flush();
    });
  }
}

void ConnectionState::Flush() {
  while (pending_output_ > 0) {
    iovec parts[16];
    int count = 0;
    size_t offset = output_offset_;
    for (auto it = output_.begin(); it != output_.end() && count < 16; ++it, offset = 0) {
      parts[count].iov_base = it->data() + offset;
      parts[count].iov_len = it->size() - offset;
      ++count;
    }
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Finish(errno == EPIPE || errno == ECONNRESET ? CloseReason::kReset : CloseReason::kError,
             std::strerror(errno));
      return;
    }
    size_t written = static_cast<size_t>(n);
    SetPendingOutput(pending_output_ - written);
    bytes_written_ += written;
    Touch();
    while (written > 0) {
      const size_t left = output_.front().size() - output_offset_;
      if (written < left) {
        output_offset_ += written;
        written = 0;
      } else {
        written -= left;
        output_.pop_front();
        output_offset_ = 0;
      }
    }
  }
  while (!write_done_at_.empty() && write_done_at_.front() <= bytes_written_) {
    write_done_at_.erase(write_done_at_.begin());
    owner_.Tell(WriteDone());
  }
  if (output_paused_ && pending_output_ <= options_.output_high_water / 2) {
    output_paused_ = false;  // UpdateInterest() below reads again
  }
  if (pending_output_ == 0) {
    if (above_high_water_) {
      above_high_water_ = false;
      owner_.Tell(OutputDrained());
    }
    if (close_after_flush_) {
      Finish(close_reason_, "");
      return;
    }
  }
  UpdateInterest();
}

void ConnectionState::UpdateInterest() {
  if (closed_ || !registered_ || suspended_) return;
  uint32_t wanted = 0;
  if (!input_done_ && !output_paused_ && !reading_paused_.load(std::memory_order_relaxed)) {
    wanted |= EPOLLIN | EPOLLRDHUP;
  }
  if (pending_output_ > 0) wanted |= EPOLLOUT;
  if (wanted == interest_) return;
  interest_ = wanted;
  if (absl::Status s = loop_.Modify(fd_, interest_, this); !s.ok()) {
    Finish(CloseReason::kError, std::string(s.message()));
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

bool ConnectionState::PauseReading() {
  reading_paused_.store(true, std::memory_order_seq_cst);
  if (unprocessed_.load(std::memory_order_seq_cst) < options_.max_unprocessed_input) {
    reading_paused_.store(false, std::memory_order_seq_cst);  // input drained meanwhile
    return false;
  }
  UpdateInterest();  // out of EPOLLIN until ResumeReading()
  return true;
}

void ConnectionState::ResumeReading() {
  if (closed_ || !reading_paused_.load(std::memory_order_seq_cst)) return;
  if (unprocessed_.load(std::memory_order_seq_cst) >= options_.max_unprocessed_input) return;
  reading_paused_.store(false, std::memory_order_seq_cst);
  if (suspended_) {
    suspended_ = false;
    interest_ = 0;
    if (absl::Status s = loop_.Add(fd_, EPOLLIN, self()); !s.ok()) {
      Finish(CloseReason::kError, std::string(s.message()));
      return;
    }
    interest_ = EPOLLIN;
    ReadSome();  // what the peer sent before it hung up
    return;
  }
  UpdateInterest();
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

}  // namespace net_internal
}  // namespace troupe::net
