// Line and length-prefix framing: any split of the input gives the same
// messages, and over-long input is an error, not a crash.

#include "net/framing.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace troupe::net {
namespace {

std::vector<std::string> Lines(LineFramer& framer) {
  std::vector<std::string> out;
  while (std::optional<std::string> line = framer.Next()) out.push_back(*line);
  return out;
}

TEST(LineFramerTest, AnySplitGivesTheSameLines) {
  const std::string input = "hello\r\nworld\n\nlast one\n";
  for (size_t chunk = 1; chunk <= input.size(); ++chunk) {
    LineFramer framer(16);
    for (size_t at = 0; at < input.size(); at += chunk) {
      ASSERT_TRUE(framer.Push(input.substr(at, chunk)).ok()) << "chunk " << chunk;
    }
    EXPECT_EQ(Lines(framer), (std::vector<std::string>{"hello", "world", "", "last one"}))
        << "chunk " << chunk;
    EXPECT_EQ(framer.partial(), 0u);
  }
}

TEST(LineFramerTest, AnOverLongLineFailsTheFramer) {
  LineFramer framer(8);
  EXPECT_TRUE(framer.Push("12345678\n").ok());  // exactly the maximum
  EXPECT_TRUE(framer.Push("1234567").ok());
  EXPECT_TRUE(framer.Push("8\r").ok());    // 8 bytes and the "\r" of an end, maybe
  absl::Status status = framer.Push("9");  // no: 10 bytes and no end yet
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(framer.Push("\n").code(), absl::StatusCode::kResourceExhausted);  // stays failed
  EXPECT_EQ(Lines(framer), (std::vector<std::string>{"12345678"}));
}

TEST(LineFramerTest, BinaryBytesAreJustBytes) {
  LineFramer framer(16);
  const std::string binary("\0\x01\xff\r", 4);
  ASSERT_TRUE(framer.Push(binary + "\n").ok());
  EXPECT_EQ(Lines(framer), (std::vector<std::string>{std::string("\0\x01\xff", 3)}));
  EXPECT_EQ(LineFramer::Frame("x").value(), "x\n");
  EXPECT_EQ(LineFramer::Frame(std::string("\0\x01\xff", 3)).value(),
            std::string("\0\x01\xff\n", 4));
}

// Issue 18, item 11: Frame("a\nb") made two lines and Frame("a\r") lost
// its "\r". What the reader could not give back unchanged is refused.
TEST(LineFramerTest, FrameRefusesWhatWouldNotReadBackTheSame) {
  for (std::string_view bad : {"a\nb", "\n", "tail\n", "a\r", "\r"}) {
    absl::StatusOr<std::string> framed = LineFramer::Frame(bad);
    EXPECT_EQ(framed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // Every accepted line reads back as itself, alone.
  for (std::string_view good : {"", "a", "a\rb", "\r\rx", "plain text"}) {
    absl::StatusOr<std::string> framed = LineFramer::Frame(good);
    ASSERT_TRUE(framed.ok()) << framed.status();
    LineFramer framer;
    ASSERT_TRUE(framer.Push(*framed).ok());
    EXPECT_EQ(Lines(framer), (std::vector<std::string>{std::string(good)}));
  }
}

TEST(LengthPrefixFramerTest, FramesSurviveAnySplit) {
  std::string stream;
  const std::vector<std::string> payloads = {"", "a", std::string(300, 'b'), "tail"};
  for (const std::string& p : payloads) stream += LengthPrefixFramer::Frame(p).value();
  for (size_t chunk = 1; chunk <= stream.size(); chunk += 7) {
    LengthPrefixFramer framer(1024);
    for (size_t at = 0; at < stream.size(); at += chunk) {
      ASSERT_TRUE(framer.Push(stream.substr(at, chunk)).ok());
    }
    std::vector<std::string> out;
    while (std::optional<std::string> f = framer.Next()) out.push_back(*f);
    EXPECT_EQ(out, payloads) << "chunk " << chunk;
  }
}

TEST(LengthPrefixFramerTest, ATooLargeFrameFails) {
  LengthPrefixFramer framer(100);
  EXPECT_EQ(LengthPrefixFramer::Frame("abc").value(), std::string("\0\0\0\x03"
                                                                  "abc",
                                                                  7));
  const std::string huge_header("\x7f\xff\xff\xff", 4);
  EXPECT_EQ(framer.Push(huge_header).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(framer.Push(LengthPrefixFramer::Frame("ok").value()).code(),
            absl::StatusCode::kResourceExhausted);
}

// Issue 18, item 11: a payload of 4 GiB or more got a wrapped length.
TEST(LengthPrefixFramerTest, FrameRefusesAPayloadTooLongForItsLength) {
  static const char kByte = 0;
  // Frame() checks the size before it reads a byte: a view that claims
  // 4 GiB over one byte is never read.
  const std::string_view four_gib(&kByte, size_t{1} << 32);
  absl::StatusOr<std::string> framed = LengthPrefixFramer::Frame(four_gib);
  EXPECT_EQ(framed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(framed.status().message().find("4294967296"), std::string::npos) << framed.status();
}

}  // namespace
}  // namespace troupe::net
