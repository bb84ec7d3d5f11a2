#include "net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace troupe::net {

absl::StatusOr<SocketAddress> SocketAddress::Parse(std::string_view text) {
  const std::string whole(text);  // (Debian's Abseil has its own string_view)
  std::string_view host;
  std::string_view port_text;
  const bool v6 = !text.empty() && text.front() == '[';
  if (v6) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("bad address '", whole, "': want [v6]:port"));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad address '", whole, "': want host:port"));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(std::string(port_text), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in '", whole, "'"));
  }
  const std::string host_string(host);
  SocketAddress address;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host_string.c_str(), &in6->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad IPv6 address in '", whole, "'"));
    }
    address.length_ = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host_string.c_str(), &in4->sin_addr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad IPv4 address in '", whole, "' (numeric addresses only)"));
    }
    address.length_ = sizeof(sockaddr_in);
  }
  return address;
}

SocketAddress SocketAddress::Loopback(uint16_t port) {
  SocketAddress address;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(port);
  in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.length_ = sizeof(sockaddr_in);
  return address;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* raw, socklen_t length) {
  SocketAddress address;
  if (length > sizeof(address.storage_)) length = sizeof(address.storage_);
  std::memcpy(&address.storage_, raw, length);
  address.length_ = length;
  return address;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof(text));
    return absl::StrCat(text, ":", port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
              sizeof(text));
    return absl::StrCat("[", text, "]:", port());
  }
  return "<no address>";
}

}  // namespace troupe::net
