// -----------------------------------------------------------------------------
// File: blocking_socket.h
// -----------------------------------------------------------------------------
//
// Plain blocking sockets on loopback, for the other side of the reactor: the
// clients of tests and load tools, and the thread-per-connection servers
// that benchmarks and samples set beside it. Not for use on an actor worker.
//
//   int fd = troupe::net::ConnectBlocking(port);          // -1 and errno on failure
//   troupe::net::SendAll(fd, "hello\n");
//   std::string reply = troupe::net::RecvExactly(fd, 6);  // shorter if the peer closed
//   close(fd);

#ifndef TROUPE_NET_BLOCKING_SOCKET_H_
#define TROUPE_NET_BLOCKING_SOCKET_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace troupe::net {

// Connects to 127.0.0.1:`port` with TCP_NODELAY. Sends and receives give up
// after `io_timeout`, so that a broken test fails instead of hanging.
// `buffer_bytes` > 0 also sets both socket buffers (small ones force partial
// reads and writes). Returns the descriptor, or -1 with errno set.
int ConnectBlocking(uint16_t port, absl::Duration io_timeout = absl::Seconds(30),
                    int buffer_bytes = 0);

// Sends every byte (without SIGPIPE); false if the connection failed first.
bool SendAll(int fd, std::string_view bytes);

// Receives exactly `size` bytes; false if the peer closed or an error came
// first.
bool RecvAll(int fd, char* data, size_t size);

// RecvAll() into a string: shorter than `size` if the peer closed first.
std::string RecvExactly(int fd, size_t size);

}  // namespace troupe::net

#endif  // TROUPE_NET_BLOCKING_SOCKET_H_
