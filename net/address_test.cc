// SocketAddress: parsing numeric addresses, and saying no clearly.

#include "net/address.h"

#include "gtest/gtest.h"

namespace troupe::net {
namespace {

TEST(SocketAddressTest, ParsesIpv4AndIpv6) {
  absl::StatusOr<SocketAddress> v4 = SocketAddress::Parse("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->port(), 8080);
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:8080");
  absl::StatusOr<SocketAddress> v6 = SocketAddress::Parse("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->ToString(), "[::1]:0");
  EXPECT_EQ(SocketAddress::Loopback(9).ToString(), "127.0.0.1:9");
}

TEST(SocketAddressTest, RejectsWhatIsNotANumericAddress) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "localhost:80",
                          "[::1]80", "[nope]:1", "1.2.3:4", "127.0.0.1:-1"}) {
    absl::StatusOr<SocketAddress> parsed = SocketAddress::Parse(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace troupe::net
