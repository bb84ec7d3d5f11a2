// -----------------------------------------------------------------------------
// File: events.h
// -----------------------------------------------------------------------------
//
// The messages a connection actor receives from the reactor.
//
//   troupe::Behavior MakeBehavior() override {
//     return troupe::Behavior()
//         .On<troupe::net::Received>([this](const troupe::net::Received& r) {
//           connection_.Write(r.data);                      // echo
//         })
//         .On<troupe::net::Closed>([this](const troupe::net::Closed& c) { Stop(); });
//   }
//
// Received carries the bytes as read (any split: framing is the actor's,
// see framing.h). Its bytes count as the connection's unprocessed input
// until the message is destroyed, after its handler returns (or when it is
// dead-lettered): that is how reading pauses for a slow actor.

#ifndef TROUPE_NET_EVENTS_H_
#define TROUPE_NET_EVENTS_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include "base/stringify.h"

namespace troupe::net {

namespace net_internal {
class ConnectionState;
// Gives the bytes of one Received back to its connection's input budget
// when it is destroyed.
class InputCredit {
 public:
  InputCredit() = default;
  InputCredit(std::shared_ptr<ConnectionState> connection, size_t bytes);
  InputCredit(InputCredit&& other) noexcept = default;
  InputCredit& operator=(InputCredit&& other) noexcept;
  ~InputCredit();

 private:
  void Release();
  std::shared_ptr<ConnectionState> connection_;
  size_t bytes_ = 0;
};
}  // namespace net_internal

struct Received {
  std::string data;
  net_internal::InputCredit credit;  // internal
};

enum class CloseReason {
  kPeerClosed,      // the peer closed its side (EOF)
  kReset,           // the peer reset the connection
  kError,           // a socket error; see the detail
  kTimedOut,        // a ConnectionOptions timeout passed (idle, request or frame)
  kLocalClose,      // Connection::Close(): flushed, then closed
  kAborted,         // Connection::Abort(): closed at once, pending output dropped
  kShutdown,        // the reactor shut down
  kOutputOverflow,  // more output pending than ConnectionOptions::max_pending_output
};

std::string_view CloseReasonName(CloseReason reason);
template <typename Sink>
void AbslStringify(Sink& sink, CloseReason reason) {
  sink.Append(CloseReasonName(reason));
}
// troupe's printers (base/stringify.h), for argument-dependent lookup here.
using ::troupe::operator<<;

// The last message of a connection: it is closed, and nothing follows.
struct Closed {
  CloseReason reason;
  std::string detail;
  size_t unsent_bytes = 0;  // output dropped because the socket closed first
};

// The peer closed its sending side (EOF): no Received follows. Sent only
// with ConnectionOptions::close_on_input_end = false; the connection stays
// open for writing until the owner closes it.
struct InputEnded {};

// Pending output passed the high-water mark: slow down.
struct OutputHigh {
  size_t pending;
};

// Pending output fell back to zero after an OutputHigh.
struct OutputDrained {};

// Everything written before Connection::NotifyWhenWritten() has reached the
// socket.
struct WriteDone {};

}  // namespace troupe::net

#endif  // TROUPE_NET_EVENTS_H_
