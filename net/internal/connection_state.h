// -----------------------------------------------------------------------------
// File: internal/connection_state.h
// -----------------------------------------------------------------------------
//
// `ConnectionState`: one TCP connection, owned by one I/O loop. Everything
// that touches the socket or the buffers runs on that loop's thread; the
// public Connection handle and the input credits post tasks to it.

#ifndef TROUPE_NET_INTERNAL_CONNECTION_STATE_H_
#define TROUPE_NET_INTERNAL_CONNECTION_STATE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "net/address.h"
#include "net/connection.h"
#include "net/events.h"
#include "net/reactor.h"
#include "threads/clock.h"

namespace troupe::net::net_internal {

class ConnectionState final : public IoHandler {
 public:
  // `system` gives the clock (idle timeouts); it is used on the loop's
  // thread only, which stops before the reactor, which goes before it.
  // `open`, if given, counts this connection until its socket closes (a
  // listener's max_connections).
  ConnectionState(ActorSystem& system, std::shared_ptr<IoLoop> loop, int fd, SocketAddress peer,
                  SocketAddress local, ConnectionOptions options,
                  std::shared_ptr<std::atomic<int64_t>> open = nullptr);
  ~ConnectionState() override;

  Connection handle();

  // Any thread: registers the socket with the loop and starts reading;
  // events go to `owner`. An empty owner aborts the connection.
  void Start(ActorRef owner);

  // Any thread: each posts its work to the loop.
  void Write(std::string bytes);
  void Close();
  void Abort(std::string why);
  void NotifyWhenWritten();
  void FrameReceived();
  void ReturnInput(size_t bytes);

  size_t unprocessed_input() const { return unprocessed_.load(std::memory_order_relaxed); }
  size_t pending_output() const { return shown_pending_output_.load(std::memory_order_relaxed); }
  const SocketAddress& peer() const { return peer_; }
  const SocketAddress& local() const { return local_; }
  uint64_t id() const { return id_; }

  // IoHandler (loop thread).
  void OnEvents(uint32_t events) override;
  void OnShutdown() override;

 private:
  std::shared_ptr<ConnectionState> self();
  void Post(void (ConnectionState::*method)());
  void DoStart(ActorRef owner);
  void DoWrite(std::string bytes);
  void DoClose();
  void DoAbort(std::string why);
  void DoNotifyWhenWritten();
  bool PauseReading();   // false if the input drained meanwhile
  void OnInputEnd();     // EOF read
  void CheckInputEnd();  // after EOF: is everything the peer sent handled?
  void SetPendingOutput(size_t bytes);
  void ResumeReading();
  void ReadSome();
  void Flush();
  void UpdateInterest();
  void Touch();
  // One timer per connection serves the idle timeout, the first-frame
  // deadline and the receive-rate window: it fires at the earliest.
  absl::Time NextCheck() const;
  void ArmTimer();
  void CheckTimers();
  void Finish(CloseReason reason, std::string detail, bool reset = false);

  ActorSystem& system_;
  // Shared: handles and input credits may outlive the reactor; posting to a
  // stopped loop does nothing.
  const std::shared_ptr<IoLoop> loop_holder_;
  IoLoop& loop_;
  const int fd_;
  const SocketAddress peer_;
  const SocketAddress local_;
  const ConnectionOptions options_;
  const uint64_t id_;
  const std::shared_ptr<std::atomic<int64_t>> open_;

  // Loop thread only.
  ActorRef owner_;
  bool registered_ = false;
  bool closed_ = false;
  bool input_done_ = false;  // EOF seen: nothing more to read
  bool close_after_flush_ = false;
  CloseReason close_reason_ = CloseReason::kLocalClose;
  bool suspended_ = false;  // out of epoll while paused on a hang-up
  uint32_t interest_ = 0;
  // Bytes of live Received messages: the loop adds, input credits subtract
  // from any thread. See ReturnInput() for the pause/resume handshake.
  std::atomic<size_t> unprocessed_{0};
  std::atomic<bool> reading_paused_{false};
  // EOF was read. Set by the loop (seq_cst) before it reads unprocessed_;
  // ReturnInput() reads it after its subtraction: a Dekker pair, so the
  // last credit's return and the EOF cannot both miss the other.
  std::atomic<bool> input_ended_{false};
  bool output_paused_ = false;  // reading paused: output above the high-water mark
  std::deque<std::string> output_;
  size_t output_offset_ = 0;  // into output_.front()
  size_t pending_output_ = 0;
  std::atomic<size_t> shown_pending_output_{0};  // pending_output_, for other threads
  bool above_high_water_ = false;
  bool flush_scheduled_ = false;  // an end-of-batch Flush() is queued
  uint64_t bytes_written_ = 0;
  std::vector<uint64_t> write_done_at_;  // bytes_written_ targets
  absl::Time last_activity_;
  TimerId timer_ = 0;
  absl::Time timer_at_ = absl::InfiniteFuture();
  absl::Time started_at_;
  bool frame_seen_ = false;  // FrameReceived() was called at least once
  uint64_t bytes_read_ = 0;
  uint64_t bytes_at_frame_ = 0;  // bytes_read_ at the last FrameReceived()
  absl::Time window_start_;      // the receive-rate window
  uint64_t bytes_at_window_ = 0;
};

}  // namespace troupe::net::net_internal

#endif  // TROUPE_NET_INTERNAL_CONNECTION_STATE_H_
