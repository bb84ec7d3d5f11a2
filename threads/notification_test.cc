#include "threads/notification.h"

#include <vector>

#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(NotificationTest, StartsUnnotifiedAndTimesOut) {
  Notification n;
  EXPECT_FALSE(n.HasBeenNotified());
  EXPECT_FALSE(n.WaitForNotificationFor(absl::Milliseconds(10)));
}

TEST(NotificationTest, NotifyReleasesEveryWaiterAndPublishesWrites) {
  Notification n;
  int payload = 0;  // plain int: TSAN checks the notification orders it
  std::vector<Thread<int>> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back("waiter", [&] {
      n.WaitForNotification();
      return payload;
    });
  }
  payload = 7;
  n.Notify();
  for (auto& w : waiters) EXPECT_EQ(w.Join().value(), 7);
  EXPECT_TRUE(n.HasBeenNotified());
  EXPECT_TRUE(n.WaitForNotificationFor(absl::ZeroDuration()));
}

}  // namespace
}  // namespace troupe
