// -----------------------------------------------------------------------------
// File: address.h
// -----------------------------------------------------------------------------
//
// `SocketAddress`: an IPv4 or IPv6 address and port, parsed from text.
//
//   absl::StatusOr<troupe::net::SocketAddress> a =
//       troupe::net::SocketAddress::Parse("127.0.0.1:8080");   // or "[::1]:0"
//   a->port();        // 8080
//   a->ToString();    // "127.0.0.1:8080"
//
// Only numeric addresses: name resolution blocks, and has no place on an
// I/O thread.

#ifndef TROUPE_NET_ADDRESS_H_
#define TROUPE_NET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace troupe::net {

class SocketAddress {
 public:
  SocketAddress() = default;

  // "a.b.c.d:port" or "[v6]:port"; port 0 asks the system for a free one.
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);
  static SocketAddress Loopback(uint16_t port);  // 127.0.0.1
  // From what accept() or getsockname() filled in.
  static SocketAddress FromSockaddr(const sockaddr* address, socklen_t length);

  uint16_t port() const;
  int family() const { return storage_.ss_family; }
  std::string ToString() const;

  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const { return length_; }

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_ADDRESS_H_
