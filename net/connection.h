// -----------------------------------------------------------------------------
// File: connection.h
// -----------------------------------------------------------------------------
//
// `Connection`: an actor's handle on its TCP connection. Writing buffers and
// never blocks; the reactor's I/O thread does the socket work.
//
//   class EchoConnection : public troupe::Actor {
//    public:
//     explicit EchoConnection(troupe::net::Connection c) : connection_(std::move(c)) {}
//
//    protected:
//     troupe::Behavior MakeBehavior() override {
//       return troupe::Behavior()
//           .On<troupe::net::Received>(
//               [this](const troupe::net::Received& r) { connection_.Write(r.data); })
//           .On<troupe::net::Closed>([this](const troupe::net::Closed&) { Stop(); });
//     }
//     void OnStop() override { connection_.Close(); }
//
//    private:
//     troupe::net::Connection connection_;
//   };
//
// The connection's owner actor (the one its factory spawned) receives the
// events of events.h: Received, then exactly one Closed at the end, and
// OutputHigh / OutputDrained / WriteDone when they apply.
//
// Backpressure, both ways:
//   * input: the reactor stops reading from the socket while more than
//     `max_unprocessed_input` bytes of Received messages are alive (queued
//     or being handled), so a fast client cannot grow a mailbox without
//     bound; TCP's own window then slows the client.
//   * output: when pending output passes `output_high_water`, the owner gets
//     OutputHigh and the reactor stops reading from that connection until
//     the output falls to half the mark (a client that sends requests and
//     never reads the answers cannot make the server queue answers without
//     bound); when it drains, OutputDrained. Past `max_pending_output` the
//     connection is aborted (Closed: kOutputOverflow), with one log line.
//
// End of input: when the peer closes its sending side (EOF) the connection
// does not drop what is still owed to it. By default it closes (Closed:
// kPeerClosed) once every Received has been handled and what the handlers
// wrote has been sent, so a request followed by shutdown(SHUT_WR) gets its
// answer. With `close_on_input_end = false` the owner gets InputEnded after
// the last Received instead, and the connection stays open for writing
// until the owner closes it (for answers that come later, from other
// actors).
//
// Thread-safety: a Connection is a copyable handle; every method may be
// called from any thread. Calls after the connection closed do nothing.

#ifndef TROUPE_NET_CONNECTION_H_
#define TROUPE_NET_CONNECTION_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "net/address.h"
#include "net/events.h"

namespace troupe::net {

struct ConnectionOptions {
  // Reading pauses while this many bytes of Received are unprocessed.
  size_t max_unprocessed_input = 1 << 20;
  // OutputHigh, and reading pauses, when pending output passes this;
  // reading resumes at half of it.
  size_t output_high_water = 1 << 20;
  // The connection is aborted (Closed: kOutputOverflow) when a write would
  // take pending output past this: a peer that does not read.
  size_t max_pending_output = 16 << 20;
  // After EOF: close by itself once the input is handled and the output
  // sent (true), or tell the owner InputEnded and wait for its Close().
  bool close_on_input_end = true;
  // Bytes read per Received, at most.
  size_t read_chunk = 64 << 10;
  // Closed (kTimedOut) after this long without reading or writing a byte;
  // InfiniteDuration for never. Measured on the actor system's clock, as
  // are the two limits below.
  absl::Duration idle_timeout = absl::InfiniteDuration();
  // Closed (kTimedOut) unless the owner reports a complete request or frame
  // (Connection::FrameReceived()) within this long of the start: a client
  // that connects and sends nothing, or half a request, does not keep the
  // connection. InfiniteDuration: off.
  absl::Duration first_frame_timeout = absl::InfiniteDuration();
  // Closed (kTimedOut) when a frame was under way for a whole
  // receive_rate_window (bytes had arrived since the last FrameReceived()
  // when the window began, and none completed in it) and fewer than
  // min_receive_rate bytes a second arrived in that window: a peer that
  // trickles a byte at a time to hold the connection (slowloris) goes
  // within two windows, while one that is quiet between requests is the
  // idle timeout's business. 0: off. Both limits need the owner to call
  // FrameReceived().
  size_t min_receive_rate = 0;
  absl::Duration receive_rate_window = absl::Seconds(10);
};

class Connection {
 public:
  Connection() = default;

  // Connection::Write()
  //
  // Queues `bytes` for sending, in order. Never blocks.
  void Write(std::string bytes) const;

  // Connection::Close() / Abort()
  //
  // Close(): sends what is queued, then closes (Closed: kLocalClose).
  // Abort(): closes now, dropping what is queued, and resets the peer
  // (Closed: kAborted); `why` goes to the log and the Closed detail.
  void Close() const;
  void Abort(std::string why = "") const;

  // Connection::FrameReceived()
  //
  // The owner has a complete request (a line, a frame): for the first-frame
  // deadline and the receive-rate limit, which judge the peer by how fast
  // it completes requests rather than by single bytes.
  void FrameReceived() const;

  // Connection::NotifyWhenWritten()
  //
  // The owner receives WriteDone once everything written so far has been
  // handed to the socket.
  void NotifyWhenWritten() const;

  // Bytes of Received messages alive now (queued or being handled): a
  // snapshot, for tests and stats. Reading pauses while it is at or above
  // ConnectionOptions::max_unprocessed_input.
  size_t unprocessed_input() const;

  // Bytes written and not yet handed to the socket: a snapshot, for tests
  // and stats.
  size_t pending_output() const;

  const SocketAddress& peer() const;
  const SocketAddress& local() const;
  uint64_t id() const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  friend class net_internal::ConnectionState;
  explicit Connection(std::shared_ptr<net_internal::ConnectionState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<net_internal::ConnectionState> state_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_CONNECTION_H_
