// -----------------------------------------------------------------------------
// File: listener.h
// -----------------------------------------------------------------------------
//
// `Listen()`: accepts TCP connections and hands each to an actor that a
// factory spawns for it.
//
//   absl::StatusOr<troupe::net::Listener> listener = troupe::net::Listen(
//       reactor, troupe::net::ListenOptions{.address = "127.0.0.1:0"},
//       [&system](troupe::net::Connection connection) {
//         return system.Spawn<EchoConnection>(std::move(connection));
//       });
//   uint16_t port = listener->port();   // the one the system chose for port 0
//   listener->Close();                  // stops accepting; connections stay
//
// The factory runs on an I/O thread: keep it to a Spawn. The connection's
// events go to the actor it returns (an empty ref aborts the connection).
// Accept errors are logged and survived: when the process runs out of file
// descriptors (EMFILE) the pending connection is accepted and closed at once
// (a spare descriptor is kept for that), rather than spinning on it.
//
// Thread-safety: a Listener is a copyable handle; every method may be
// called from any thread.

#ifndef TROUPE_NET_LISTENER_H_
#define TROUPE_NET_LISTENER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "actor/actor_ref.h"
#include "net/address.h"
#include "net/connection.h"
#include "net/reactor.h"

namespace troupe::net {

struct ListenOptions {
  // "host:port" (numeric); port 0 for any free port.
  std::string address = "127.0.0.1:0";
  int backlog = 1024;
  // Connections of this listener open at once, at most; 0 for no limit.
  // At the limit a new connection is accepted and closed at once (the
  // client sees EOF), counted in Listener::refused(), and logged at most
  // once a second: the connections already open keep their service.
  int max_connections = 4096;
  // Applied to every accepted connection.
  ConnectionOptions connection;
};

// Makes the actor that owns an accepted or connected connection; called once
// per connection, on the reactor thread.
using ConnectionFactory = absl::AnyInvocable<ActorRef(Connection)>;

namespace net_internal {
class ListenerState;
}  // namespace net_internal

class Listener {
 public:
  Listener() = default;

  // The address actually bound (with the port chosen for port 0).
  const SocketAddress& address() const;
  uint16_t port() const { return address().port(); }
  // Connections accepted so far; refused at max_connections so far; open now.
  uint64_t accepted() const;
  uint64_t refused() const;
  int64_t open_connections() const;

  // Listener::Close()
  //
  // Stops accepting (and closes the listening socket). Connections already
  // accepted carry on. Idempotent.
  void Close() const;

 private:
  friend absl::StatusOr<Listener> Listen(Reactor&, ListenOptions, ConnectionFactory);
  explicit Listener(std::shared_ptr<net_internal::ListenerState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<net_internal::ListenerState> state_;
};

// Listen()
//
// Binds and listens on `options.address`, then accepts on the reactor.
// Errors (a bad address, a port in use) come back as a status.
absl::StatusOr<Listener> Listen(Reactor& reactor, ListenOptions options, ConnectionFactory factory);

}  // namespace troupe::net

#endif  // TROUPE_NET_LISTENER_H_
