// -----------------------------------------------------------------------------
// File: connect.h
// -----------------------------------------------------------------------------
//
// `Connect()`: the client side. Opens a TCP connection without blocking and,
// once it is up, hands it to an actor that a factory spawns, the same kind
// of connection actor a listener makes.
//
//   troupe::net::ConnectOptions options;
//   options.address = "127.0.0.1:7000";
//   options.timeout = absl::Seconds(2);
//   troupe::Future<troupe::ActorRef> client = troupe::net::Connect(
//       reactor, options,
//       [&](troupe::net::Connection c) { return system.Spawn<Client>(std::move(c)); });
//   absl::StatusOr<troupe::ActorRef> actor = client.Get();   // or .Then(...) in an actor
//
// The future fails with kInvalidArgument (a bad address), kUnavailable (the
// connection was refused or failed, with the error), kDeadlineExceeded (not
// connected within the timeout, measured on the actor system's clock) or
// kFailedPrecondition (the reactor is shut down). The factory runs only on
// success, on an I/O thread.
//
// Thread-safety: may be called from any thread.

#ifndef TROUPE_NET_CONNECT_H_
#define TROUPE_NET_CONNECT_H_

#include <string>

#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "net/connection.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "threads/future.h"

namespace troupe::net {

struct ConnectOptions {
  std::string address;  // "host:port", numeric
  absl::Duration timeout = absl::Seconds(10);
  ConnectionOptions connection;
};

Future<ActorRef> Connect(Reactor& reactor, ConnectOptions options, ConnectionFactory factory);

}  // namespace troupe::net

#endif  // TROUPE_NET_CONNECT_H_
