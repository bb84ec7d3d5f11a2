#include "threads/thread.h"

#include <stdexcept>
#include <string>

#include "gtest/gtest.h"
#include "threads/notification.h"

namespace troupe {
namespace {

TEST(ThreadTest, JoinReturnsTheClosuresValue) {
  Thread worker("answer", [] { return 42; });
  absl::StatusOr<int> result = worker.Join();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_FALSE(worker.joinable());
}

TEST(ThreadTest, VoidThreadJoinsWithOk) {
  int side_effect = 0;
  Thread worker("void", [&] { side_effect = 1; });
  EXPECT_TRUE(worker.Join().ok());
  EXPECT_EQ(side_effect, 1);
}

TEST(ThreadTest, ExceptionBecomesInternalStatus) {
  Thread worker("thrower", []() -> int { throw std::runtime_error("disk on fire"); });
  absl::StatusOr<int> result = worker.Join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("disk on fire"), std::string::npos);
  EXPECT_NE(result.status().message().find("thrower"), std::string::npos);
}

TEST(ThreadTest, NonStdExceptionIsCaughtToo) {
  Thread worker("odd", [] { throw 17; });
  absl::Status status = worker.Join();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
}

TEST(ThreadTest, NameIsVisibleToTheOsTruncatedTo15Bytes) {
  Thread short_name("io-poller", [] { return CurrentThreadName(); });
  EXPECT_EQ(short_name.Join().value(), "io-poller");
  Thread long_name("a-very-long-thread-name", [] { return CurrentThreadName(); });
  EXPECT_EQ(long_name.Join().value(), "a-very-long-thr");
}

TEST(ThreadTest, JoinForReportsStillRunningThenJoins) {
  Notification release;
  Thread worker("blocked", [&] {
    release.WaitForNotification();
    return 5;
  });
  EXPECT_TRUE(worker.IsAlive());
  absl::StatusOr<int> early = worker.JoinFor(absl::Milliseconds(10));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(worker.joinable());
  release.Notify();
  absl::StatusOr<int> late = worker.JoinFor(absl::Seconds(30));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(*late, 5);
  EXPECT_FALSE(worker.IsAlive());
}

TEST(ThreadTest, SecondJoinIsAFailedPrecondition) {
  Thread worker("once", [] { return 1; });
  ASSERT_TRUE(worker.Join().ok());
  EXPECT_EQ(worker.Join().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ThreadTest, DestructorJoinsARunningThread) {
  bool finished = false;
  {
    Thread worker("joined-by-dtor", [&] {
      absl::SleepFor(absl::Milliseconds(20));
      finished = true;  // read after the destructor: joined, so ordered
    });
  }
  EXPECT_TRUE(finished);
}

TEST(ThreadTest, MovedThreadIsJoinedByItsNewOwner) {
  Thread<int> a("moved", [] { return 3; });
  Thread<int> b = std::move(a);
  EXPECT_FALSE(a.joinable());
  EXPECT_EQ(b.Join().value(), 3);
}

TEST(ThreadTest, MoveOnlyResults) {
  Thread worker("unique", [] { return std::make_unique<int>(8); });
  absl::StatusOr<std::unique_ptr<int>> result = worker.Join();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(**result, 8);
}

}  // namespace
}  // namespace troupe
