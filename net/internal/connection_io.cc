// ConnectionState's socket I/O: reading with input credits (backpressure
// to the peer), writing with a bounded pending output (backpressure from
// it), and the epoll interest that follows both.

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

}  // namespace troupe::net::net_internal
