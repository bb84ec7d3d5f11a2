// A connection's frames as a stream (frame_stream.h): lines and length
// prefixes however the bytes are split, every way the connection can end,
// and a consumer that gives up.

#include "net/frame_stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/actor_system.h"
#include "async/block_on.h"
#include "async/stream.h"
#include "async/task.h"
#include "channel/channel.h"
#include "gtest/gtest.h"
#include "net/blocking_socket.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"

namespace troupe::net {
namespace {

// A listener whose connections' frame streams a test takes, one by one.
class FrameStreamTest : public ::testing::Test {
 protected:
  void Listen(FrameStreamOptions framing, ConnectionOptions connection = {}) {
    ListenOptions options;
    options.connection = connection;
    auto listener =
        net::Listen(reactor_, options,
                    StreamFrames(system_, framing, [this](Stream<std::string> frames, Connection) {
                      (void)streams_.first.TrySend(std::move(frames));
                    }));
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_.emplace(*std::move(listener));
  }

  // Connects a client and returns its socket and the server side's stream.
  std::pair<int, Stream<std::string>> Connect() {
    const int fd = ConnectBlocking(listener_->port());
    EXPECT_GE(fd, 0);
    RecvResult<Stream<std::string>> frames = streams_.second.RecvFor(absl::Seconds(30));
    EXPECT_TRUE(frames.ok());
    return {fd, *std::move(frames)};
  }

  // Everything the stream gives, and how it ended.
  static std::pair<std::vector<std::string>, absl::Status> Drain(Stream<std::string> frames) {
    absl::StatusOr<std::pair<std::vector<std::string>, absl::Status>> drained = BlockOn(
        [](Stream<std::string> s) -> Task<std::pair<std::vector<std::string>, absl::Status>> {
          std::vector<std::string> items;
          while (std::optional<std::string> item = co_await s.Next()) items.push_back(*item);
          co_return std::make_pair(std::move(items), s.status());
        }(std::move(frames)));
    if (!drained.ok()) return {{}, drained.status()};
    return *std::move(drained);
  }

  void TearDown() override { reactor_.Shutdown(); }

  ActorSystem system_;
  Reactor reactor_{system_};
  std::optional<Listener> listener_;
  Channel<Stream<std::string>>::Pair streams_ = Channel<Stream<std::string>>::Unbounded();
};

TEST_F(FrameStreamTest, LinesArriveWhateverTheSplitsThenTheEnd) {
  Listen(FrameStreamOptions{});
  auto [fd, frames] = Connect();
  // One byte at a time across line ends, a "\r\n", an empty line.
  for (char c : std::string("first\nsec")) ASSERT_TRUE(SendAll(fd, std::string(1, c)));
  ASSERT_TRUE(SendAll(fd, "ond\r\n\nthird\n"));
  shutdown(fd, SHUT_WR);
  auto [lines, status] = Drain(std::move(frames));
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", "", "third"}));
  EXPECT_TRUE(status.ok()) << status;
  close(fd);
}

TEST_F(FrameStreamTest, LengthPrefixedFramesArrive) {
  Listen(FrameStreamOptions{.framing = FrameStreamOptions::Framing::kLengthPrefixed,
                            .max_frame = 1 << 20});
  auto [fd, frames] = Connect();
  std::string wire;
  for (const std::string& payload :
       std::vector<std::string>{"a", "", std::string(100000, 'x'), "line\nwith\nbreaks"}) {
    absl::StatusOr<std::string> framed = LengthPrefixFramer::Frame(payload);
    ASSERT_TRUE(framed.ok());
    wire += *framed;
  }
  ASSERT_TRUE(SendAll(fd, wire));
  shutdown(fd, SHUT_WR);
  auto [payloads, status] = Drain(std::move(frames));
  ASSERT_EQ(payloads.size(), 4u);
  EXPECT_EQ(payloads[0], "a");
  EXPECT_EQ(payloads[1], "");
  EXPECT_EQ(payloads[2], std::string(100'000, 'x'));
  EXPECT_EQ(payloads[3], "line\nwith\nbreaks");
  EXPECT_TRUE(status.ok()) << status;
  close(fd);
}

TEST_F(FrameStreamTest, AnOverlongFrameEndsTheStreamAndTheConnection) {
  Listen(FrameStreamOptions{.max_frame = 16});
  auto [fd, frames] = Connect();
  ASSERT_TRUE(SendAll(fd, "short\n" + std::string(1000, 'y') + "\n"));
  auto [lines, status] = Drain(std::move(frames));
  EXPECT_EQ(lines, (std::vector<std::string>{"short"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  // The server aborted: the client reads the end, not a hang.
  char byte;
  EXPECT_LE(recv(fd, &byte, 1, 0), 0);
  close(fd);
}

TEST_F(FrameStreamTest, ACloseInTheMiddleOfAFrameIsDataLoss) {
  Listen(FrameStreamOptions{});
  auto [fd, frames] = Connect();
  ASSERT_TRUE(SendAll(fd, "whole\nhal"));
  shutdown(fd, SHUT_WR);
  auto [lines, status] = Drain(std::move(frames));
  EXPECT_EQ(lines, (std::vector<std::string>{"whole"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  close(fd);
}

TEST_F(FrameStreamTest, AResetIsUnavailable) {
  Listen(FrameStreamOptions{});
  auto [fd, frames] = Connect();
  ASSERT_TRUE(SendAll(fd, "one\n"));
  linger abort_on_close{1, 0};  // close() sends a reset
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  absl::SleepFor(absl::Milliseconds(20));  // (also passes if the reset overtakes "one")
  close(fd);
  auto [lines, status] = Drain(std::move(frames));
  EXPECT_LE(lines.size(), 1u);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(FrameStreamTest, AConsumerThatGivesUpClosesTheConnection) {
  Listen(FrameStreamOptions{});
  auto [fd, frames] = Connect();
  ASSERT_TRUE(SendAll(fd, "a\nb\nc\n"));
  absl::StatusOr<std::vector<std::string>> first = BlockOn(std::move(frames).Take(1).Collect());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, std::vector<std::string>{"a"});
  // The client sees the server's end of the connection.
  char byte;
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0);
  close(fd);
}

TEST_F(FrameStreamTest, ASlowConsumerHoldsTheInputBack) {
  ConnectionOptions connection;
  connection.max_unprocessed_input = 64 << 10;
  connection.read_chunk = 4 << 10;
  Listen(FrameStreamOptions{}, connection);
  // Small socket buffers, so that what the kernel holds is small too.
  const int fd = ConnectBlocking(listener_->port(), absl::Seconds(30), /*buffer_bytes=*/16 << 10);
  ASSERT_GE(fd, 0);
  RecvResult<Stream<std::string>> frames = streams_.second.RecvFor(absl::Seconds(30));
  ASSERT_TRUE(frames.ok());
  // 8 MiB of lines against a consumer that has not started: the reactor
  // stops reading at the input budget, the socket buffers fill, and the
  // client's writes stall.
  constexpr int kLines = 8192;
  const std::string line(1023, 'z');
  std::atomic<int> sent{0};
  std::thread client([&] {
    while (sent.load() < kLines && SendAll(fd, line + "\n")) sent.fetch_add(1);
    shutdown(fd, SHUT_WR);
  });
  absl::SleepFor(absl::Milliseconds(300));
  // Held back: the budget and two small socket buffers, far from all of it.
  EXPECT_LT(sent.load(), kLines / 8) << "the input was not held back";
  // Now take it all: nothing was lost while the input waited.
  auto [lines, status] = Drain(*std::move(frames));
  client.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(static_cast<int>(lines.size()), kLines);
  close(fd);
}

}  // namespace
}  // namespace troupe::net
