#include "async/channel.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/go.h"
#include "async/leak_check_test_base.h"
#include "async/task.h"
#include "async/task_scope.h"
#include "channel/channel.h"
#include "channel/results.h"
#include "channel/select.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/notification.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

// Channel pairs are taken apart by name, not with structured bindings:
// clang 14 cannot capture those in lambdas.

namespace troupe {
namespace {

using testkit::Eventually;

class ChannelAwaitTest : public async_internal::LeakCheckedTest {};

// Two rendezvous channels and a task that answers every ping with ping +
// `step` until the pings close (or nobody takes its pong).
struct Echo {
  [[nodiscard]] JoinHandle<void> Start(ThreadPool& pool, int step) {
    return Go(pool, [this, step]() -> Task<void> {
      for (;;) {
        RecvResult<int> v = co_await Recv(pings.second);
        if (!v.ok() || !(co_await Send(pongs.first, *v + step)).ok()) break;
      }
    });
  }

  Channel<int>::Pair pings = Channel<int>::Rendezvous();
  Channel<int>::Pair pongs = Channel<int>::Rendezvous();
};

TEST_F(ChannelAwaitTest, RecvWaitsForAValueFromAThread) {
  ThreadPool pool(2);
  auto tx_rx = Channel<std::string>::Bounded(4);
  Sender<std::string>& tx = tx_rx.first;
  Receiver<std::string>& rx = tx_rx.second;
  JoinHandle<std::string> handle = Go(pool, [&rx]() -> Task<std::string> {
    RecvResult<std::string> got = co_await Recv(rx);
    if (!got.ok()) co_return absl::InternalError("no value");
    co_return *std::move(got);
  });
  absl::SleepFor(absl::Milliseconds(5));  // let it park (not needed for correctness)
  ASSERT_TRUE(tx.Send("hello").ok());
  EXPECT_EQ(handle.Get().value(), "hello");
}

// A BlockOn strand has no executor to post a buffered wait's steps to: it
// waits in the coroutine loop (RecvSlowly/SendSlowly), woken on the
// thread that makes the operation possible.
TEST_F(ChannelAwaitTest, BlockOnWaitsOnABufferedChannel) {
  auto out = Channel<int>::Bounded(1);  // the task sends here...
  auto in = Channel<int>::Bounded(1);   // ...and receives here
  Sender<int>& out_tx = out.first;
  Receiver<int>& out_rx = out.second;
  Sender<int>& in_tx = in.first;
  Receiver<int>& in_rx = in.second;
  Thread<void> partner("partner", [&] {
    absl::SleepFor(absl::Milliseconds(5));
    EXPECT_EQ(out_rx.Recv().value(), 1);  // makes room for the second send
    EXPECT_EQ(out_rx.Recv().value(), 2);
    absl::SleepFor(absl::Milliseconds(5));
    EXPECT_TRUE(in_tx.Send(3).ok());
  });
  absl::StatusOr<int> got = BlockOn([&]() -> Task<int> {
    if (!(co_await Send(out_tx, 1)).ok()) co_return absl::InternalError("send 1");
    if (!(co_await Send(out_tx, 2)).ok()) co_return absl::InternalError("send 2");  // waits
    RecvResult<int> v = co_await Recv(in_rx);                                       // waits
    if (!v.ok()) co_return absl::InternalError("recv");
    co_return *v;
  }());
  EXPECT_TRUE(partner.Join().ok());
  EXPECT_EQ(got.value(), 3);
}

// A BlockOn strand's task resumes on the thread that ends its wait; a close
// ends it from inside Close(). Close() must wake it after letting go of the
// channel's lock, since the woken task unregisters under that lock (it
// deadlocked, found by actor/actor_stream_test).
TEST_F(ChannelAwaitTest, ACloseFromAnotherThreadEndsABlockOnWait) {
  for (auto make :
       {+[] { return Channel<int>::Bounded(2); }, +[] { return Channel<int>::Unbounded(); },
        +[] { return Channel<int>::Rendezvous(); }}) {
    auto [tx, rx] = make();
    Receiver<int>& waiting = rx;
    absl::StatusOr<RecvError> ended = absl::UnknownError("did not run");
    Thread<void> task("task", [&] {
      ended = BlockOn([&]() -> Task<RecvError> {
        RecvResult<int> got = co_await Recv(waiting);  // empty: waits
        if (got.ok()) co_return absl::InternalError("a value from nowhere");
        co_return got.error();
      }());
    });
    absl::SleepFor(absl::Milliseconds(5));  // let it wait (passes either way)
    tx.Close();
    ASSERT_TRUE(task.Join().ok());  // it hung here
    ASSERT_TRUE(ended.ok()) << ended.status();
    EXPECT_EQ(*ended, RecvError::kClosed);
  }
}

TEST_F(ChannelAwaitTest, SendOnAFullChannelWaitsForRoom) {
  ThreadPool pool(2);
  auto tx_rx = Channel<int>::Bounded(1);
  Sender<int>& tx = tx_rx.first;
  Receiver<int>& rx = tx_rx.second;
  ASSERT_TRUE(tx.TrySend(1).ok());
  JoinHandle<absl::Status> handle = Go(pool, [&tx]() -> Task<absl::Status> {
    SendResult<int> sent = co_await Send(tx, 2);
    co_return sent.ok() ? absl::OkStatus() : absl::InternalError("not sent");
  });
  absl::SleepFor(absl::Milliseconds(5));
  EXPECT_FALSE(handle.finished());
  EXPECT_EQ(*rx.Recv(), 1);
  EXPECT_TRUE(handle.Get().ok());
  EXPECT_EQ(*rx.Recv(), 2);
}

// Two tasks ping-pong over rendezvous channels on a pool of ONE worker:
// if a waiting task held its thread, this would deadlock at once.
TEST_F(ChannelAwaitTest, PingPongOnOneWorkerHoldsNoThread) {
  ThreadPool pool(1);
  auto ping_tx_ping_rx = Channel<int>::Rendezvous();
  Sender<int>& ping_tx = ping_tx_ping_rx.first;
  Receiver<int>& ping_rx = ping_tx_ping_rx.second;
  auto pong_tx_pong_rx = Channel<int>::Rendezvous();
  Sender<int>& pong_tx = pong_tx_pong_rx.first;
  Receiver<int>& pong_rx = pong_tx_pong_rx.second;
  constexpr int kRounds = 2000;
  JoinHandle<absl::Status> echo = Go(pool, [&]() -> Task<absl::Status> {
    for (;;) {
      RecvResult<int> v = co_await Recv(ping_rx);
      if (!v.ok()) co_return absl::OkStatus();  // closed
      if (!(co_await Send(pong_tx, *v + 1)).ok()) co_return absl::InternalError("pong");
    }
  });
  JoinHandle<int> driver = Go(pool, [&]() -> Task<int> {
    int v = 0;
    for (int i = 0; i < kRounds; ++i) {
      if (!(co_await Send(ping_tx, v)).ok()) co_return absl::InternalError("ping");
      RecvResult<int> back = co_await Recv(pong_rx);
      if (!back.ok()) co_return absl::InternalError("no pong");
      v = *back;
    }
    ping_tx.Close();
    co_return v;
  });
  EXPECT_EQ(driver.Get().value(), kRounds);
  EXPECT_TRUE(echo.Get().ok());
}

// A thousand tasks parked on channels of their own, on one worker.
TEST_F(ChannelAwaitTest, ManyParkedTasksOnOneWorker) {
  ThreadPool pool(1);
  constexpr int kTasks = 1000;
  std::vector<Sender<int>> senders;
  std::vector<JoinHandle<int>> handles;
  for (int i = 0; i < kTasks; ++i) {
    auto tx_rx = Channel<int>::Bounded(1);
    Sender<int>& tx = tx_rx.first;
    Receiver<int>& rx = tx_rx.second;
    senders.push_back(std::move(tx));
    handles.push_back(Go(
        pool,
        [](Receiver<int> rx) -> Task<int> {
          RecvResult<int> got = co_await Recv(rx);
          if (!got.ok()) co_return absl::InternalError("nothing");
          co_return *got * 2;
        },
        std::move(rx)));
  }
  for (int i = 0; i < kTasks; ++i) ASSERT_TRUE(senders[i].Send(i).ok());
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(handles[i].Get().value(), 2 * i);
}

TEST_F(ChannelAwaitTest, CloseEndsParkedWaits) {
  ThreadPool pool(2);
  auto tx_rx = Channel<int>::Bounded(1);
  Sender<int>& tx = tx_rx.first;
  ASSERT_TRUE(tx.TrySend(1).ok());
  auto tx2_rx2 = Channel<int>::Unbounded();
  Sender<int>& tx2 = tx2_rx2.first;
  Receiver<int>& rx2 = tx2_rx2.second;
  JoinHandle<int> sender = Go(pool, [&tx]() -> Task<int> {
    SendResult<int> sent = co_await Send(tx, 42);  // full: parks
    if (sent.ok() || sent.error() != SendError::kClosed) co_return absl::InternalError("sent?");
    co_return sent.TakeValue();  // handed back
  });
  JoinHandle<absl::Status> receiver = Go(pool, [&rx2]() -> Task<absl::Status> {
    RecvResult<int> got = co_await Recv(rx2);  // empty: parks
    if (!got.ok() && got.error() == RecvError::kClosed) co_return absl::OkStatus();
    co_return absl::InternalError("expected kClosed");
  });
  absl::SleepFor(absl::Milliseconds(5));
  tx.Close();
  tx2.Close();
  EXPECT_EQ(sender.Get().value(), 42);
  EXPECT_TRUE(receiver.Get().ok());
}

// The same on rendezvous channels, whose waits live in the awaiter itself.
TEST_F(ChannelAwaitTest, CloseEndsParkedRendezvousWaits) {
  ThreadPool pool(2);
  auto tx_rx = Channel<std::string>::Rendezvous();
  Sender<std::string>& tx = tx_rx.first;
  auto tx2_rx2 = Channel<std::string>::Rendezvous();
  Sender<std::string>& tx2 = tx2_rx2.first;
  Receiver<std::string>& rx2 = tx2_rx2.second;
  Notification sending;
  Notification receiving;
  JoinHandle<std::string> sender = Go(pool, [&]() -> Task<std::string> {
    sending.Notify();
    SendResult<std::string> sent = co_await Send(tx, std::string("mine"));  // parks
    if (sent.ok() || sent.error() != SendError::kClosed) co_return absl::InternalError("sent?");
    co_return sent.TakeValue();  // handed back
  });
  JoinHandle<absl::Status> receiver = Go(pool, [&]() -> Task<absl::Status> {
    receiving.Notify();
    RecvResult<std::string> got = co_await Recv(rx2);  // parks
    if (!got.ok() && got.error() == RecvError::kClosed) co_return absl::OkStatus();
    co_return absl::InternalError("expected kClosed");
  });
  sending.WaitForNotification();
  receiving.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(5));
  tx.Close();
  tx2.Close();
  EXPECT_EQ(sender.Get().value(), "mine");
  EXPECT_TRUE(receiver.Get().ok());
}

// A task on `pool` that sends "keep me" and expects to be cancelled, giving
// the value back; returned once it is about to wait.
JoinHandle<std::string> StartSendingToBeCancelled(ThreadPool& pool, Sender<std::string>& tx) {
  auto started = std::make_shared<Notification>();  // the task's to keep
  JoinHandle<std::string> sender = Go(pool, [&tx, started]() -> Task<std::string> {
    started->Notify();
    SendResult<std::string> sent = co_await Send(tx, std::string("keep me"));
    if (sent.ok() || sent.error() != SendError::kCancelled) co_return absl::InternalError("?");
    co_return sent.TakeValue();
  });
  started->WaitForNotification();
  return sender;
}

// A task on `pool` that receives from `rx` and expects to be cancelled.
JoinHandle<absl::Status> StartReceivingToBeCancelled(ThreadPool& pool, Receiver<std::string>& rx) {
  return Go(pool, [&rx]() -> Task<absl::Status> {
    RecvResult<std::string> got = co_await Recv(rx);
    if (!got.ok() && got.error() == RecvError::kCancelled) co_return absl::OkStatus();
    co_return absl::InternalError("expected kCancelled");
  });
}

TEST_F(ChannelAwaitTest, CancelledWaitsHandValuesBackAndLeaveTheChannel) {
  ThreadPool pool(2);
  auto tx_rx = Channel<std::string>::Rendezvous();
  Sender<std::string>& tx = tx_rx.first;
  Receiver<std::string>& rx = tx_rx.second;
  JoinHandle<std::string> sender = StartSendingToBeCancelled(pool, tx);
  ASSERT_TRUE(Eventually([&] { return !sender.finished(); }, absl::Seconds(1)));
  absl::SleepFor(absl::Milliseconds(5));
  sender.Cancel();
  EXPECT_EQ(sender.Get().value(), "keep me");
  // The channel forgot the sender: nobody offers a value now.
  EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);

  JoinHandle<absl::Status> receiver = StartReceivingToBeCancelled(pool, rx);
  absl::SleepFor(absl::Milliseconds(5));
  receiver.Cancel();
  EXPECT_TRUE(receiver.Get().ok());
  EXPECT_EQ(tx.TrySend("nobody").error(), SendError::kFull);  // no receiver waits
}

// A task cancelled before it waits on a rendezvous: it finds no partner,
// registers, and its cancellation registration fails under the channel's
// lock (Flavor::TryRecvOrPark). The wait ends at once with kCancelled, a
// send's value handed back, and the channel keeps no entry for it (a later
// partner would otherwise wake a frame that is gone: ASAN).
TEST_F(ChannelAwaitTest, WaitsOfACancelledTaskOnARendezvousEndAtOnce) {
  ThreadPool pool(2);
  auto gate_tx_gate_rx = Channel<int>::Bounded(1);
  Receiver<int>& gate_rx = gate_tx_gate_rx.second;
  auto tx_rx = Channel<std::string>::Rendezvous();
  Sender<std::string>& tx = tx_rx.first;
  Receiver<std::string>& rx = tx_rx.second;
  JoinHandle<std::string> task = Go(pool, [&]() -> Task<std::string> {
    RecvResult<int> gate = co_await Recv(gate_rx);  // cancelled here first
    if (gate.ok() || gate.error() != RecvError::kCancelled) co_return absl::InternalError("gate");
    RecvResult<std::string> got = co_await Recv(rx);
    if (got.ok() || got.error() != RecvError::kCancelled) co_return absl::InternalError("recv");
    SendResult<std::string> sent = co_await Send(tx, std::string("keep me"));
    if (sent.ok() || sent.error() != SendError::kCancelled) co_return absl::InternalError("send");
    co_return sent.TakeValue();
  });
  ASSERT_TRUE(Eventually([&] { return !task.finished(); }, absl::Seconds(1)));
  absl::SleepFor(absl::Milliseconds(5));
  task.Cancel();
  EXPECT_EQ(task.Get().value(), "keep me");
  EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);         // no sender left behind
  EXPECT_EQ(tx.TrySend("nobody").error(), SendError::kFull);  // no receiver either
}

// The same on a bounded channel, where a task waits without a frame of its
// own (BufferedPark): a cancelled Send hands its value back and a cancelled
// Recv ends with kCancelled, and neither leaves an entry behind (a later
// send or receive would wake a frame that is gone: ASAN).
TEST_F(ChannelAwaitTest, CancelledBufferedWaitsHandValuesBackAndLeaveTheChannel) {
  ThreadPool pool(2);
  auto tx_rx = Channel<std::string>::Bounded(1);
  Sender<std::string>& tx = tx_rx.first;
  Receiver<std::string>& rx = tx_rx.second;
  ASSERT_TRUE(tx.TrySend("first").ok());  // full: the task's Send waits
  JoinHandle<std::string> sender = StartSendingToBeCancelled(pool, tx);
  absl::SleepFor(absl::Milliseconds(5));
  sender.Cancel();
  EXPECT_EQ(sender.Get().value(), "keep me");
  EXPECT_EQ(rx.TryRecv().value(), "first");  // room now, and nobody waits to fill it
  EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);

  JoinHandle<absl::Status> receiver = StartReceivingToBeCancelled(pool, rx);
  absl::SleepFor(absl::Milliseconds(5));
  receiver.Cancel();
  EXPECT_TRUE(receiver.Get().ok());
  ASSERT_TRUE(tx.TrySend("for a thread").ok());  // wakes nobody
  EXPECT_EQ(rx.TryRecv().value(), "for a thread");
}

// A waiting task woken by a send finds the value gone (another receiver
// took it between the wake-up and the task's step): it waits again, and
// takes the next value. Deterministic on one worker: the step runs only
// after the closure that sends and steals.
TEST_F(ChannelAwaitTest, AWakeUpWhoseValueWasTakenWaitsAgain) {
  ThreadPool pool(1);
  auto tx_rx = Channel<int>::Bounded(1);
  Sender<int>& tx = tx_rx.first;
  Receiver<int>& rx = tx_rx.second;
  std::atomic<int> attempts{0};
  JoinHandle<int> receiver = Go(pool, [&rx, &attempts]() -> Task<int> {
    attempts.fetch_add(1);
    RecvResult<int> got = co_await Recv(rx);
    if (!got.ok()) co_return absl::InternalError("no value");
    co_return *got;
  });
  ASSERT_TRUE(Eventually([&] { return attempts.load() == 1; }, absl::Seconds(5)));
  Notification stolen;
  pool.Execute([&] {
    ASSERT_TRUE(tx.TrySend(1).ok());     // wakes the task: its step queues behind us
    EXPECT_EQ(rx.TryRecv().value(), 1);  // and takes its value first
    stolen.Notify();
  });
  stolen.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(5));  // the step runs, finds nothing, waits again
  EXPECT_FALSE(receiver.finished());
  ASSERT_TRUE(tx.Send(42).ok());
  EXPECT_EQ(receiver.Get().value(), 42);
  EXPECT_EQ(attempts.load(), 1);  // the same await, not a restart
}

// The same, cancelled in between: the cancel finds the wait already chosen
// by the send, so it ends nothing then; the step, finding the value gone,
// must see the cancel before it waits again, or the task waits forever.
TEST_F(ChannelAwaitTest, ACancelThatMeetsAWakeUpIsNotLostWhenTheValueIsTaken) {
  ThreadPool pool(1);
  auto tx_rx = Channel<int>::Bounded(1);
  Sender<int>& tx = tx_rx.first;
  Receiver<int>& rx = tx_rx.second;
  std::atomic<bool> started{false};
  JoinHandle<absl::Status> receiver = Go(pool, [&rx, &started]() -> Task<absl::Status> {
    started.store(true);
    RecvResult<int> got = co_await Recv(rx);
    if (!got.ok() && got.error() == RecvError::kCancelled) co_return absl::OkStatus();
    co_return absl::InternalError("expected kCancelled");
  });
  ASSERT_TRUE(Eventually([&] { return started.load(); }, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(5));  // parked
  pool.Execute([&] {
    ASSERT_TRUE(tx.TrySend(1).ok());  // chooses the task's wait
    receiver.Cancel();                // too late for this wait...
    EXPECT_EQ(rx.TryRecv().value(), 1);
  });
  // ...but not for the task.
  ASSERT_TRUE(Eventually([&] { return receiver.finished(); }, absl::Seconds(10)));
  EXPECT_TRUE(receiver.Get().ok());
  EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);
}

// A task on `pool` that receives one value from `rx` (-1 if its wait ends
// otherwise), returned once it is about to wait.
JoinHandle<int> StartReceiving(ThreadPool& pool, Receiver<int>& rx) {
  auto started = std::make_shared<Notification>();  // the task's to keep
  JoinHandle<int> receiver = Go(pool, [&rx, started]() -> Task<int> {
    started->Notify();
    RecvResult<int> got = co_await Recv(rx);
    if (got.ok()) co_return *got;
    co_return -1;
  });
  started->WaitForNotification();
  return receiver;
}

// A cancel racing a thread's send to a task waiting on a bounded channel:
// the value is never lost — the task has it, or it is still in the channel.
TEST_F(ChannelAwaitTest, StressCancelRacesABufferedRecv) {
  ThreadPool pool(2);
  int delivered = 0;
  int left = 0;
  for (int round = 0; round < 300; ++round) {
    auto tx_rx = Channel<int>::Bounded(1);
    Sender<int>& tx = tx_rx.first;
    Receiver<int>& rx = tx_rx.second;
    JoinHandle<int> receiver = StartReceiving(pool, rx);
    Thread<void> canceller("canceller", [&] { receiver.Cancel(); });
    ASSERT_TRUE(tx.Send(round).ok());
    EXPECT_TRUE(canceller.Join().ok());
    const int got = receiver.Get().value();
    if (got == round) {
      ++delivered;
    } else {
      EXPECT_EQ(got, -1);
      EXPECT_EQ(rx.TryRecv().value(), round);
      ++left;
    }
    EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);
  }
  EXPECT_EQ(delivered + left, 300);
  RecordProperty("delivered", delivered);
}

// The mirror image: a task's Send waits on a full bounded channel while a
// thread makes room and a cancel comes. The value is sent (the thread or
// the channel has it) or handed back to the task, never both, never
// neither.
TEST_F(ChannelAwaitTest, StressCancelRacesABufferedSend) {
  ThreadPool pool(2);
  int sent_count = 0;
  int returned = 0;
  for (int round = 0; round < 300; ++round) {
    auto tx_rx = Channel<int>::Bounded(1);
    Sender<int>& tx = tx_rx.first;
    Receiver<int>& rx = tx_rx.second;
    ASSERT_TRUE(tx.TrySend(-1).ok());  // full
    auto started = std::make_shared<Notification>();
    JoinHandle<int> sender = Go(pool, [&tx = tx, started, round]() -> Task<int> {
      started->Notify();
      SendResult<int> sent = co_await Send(tx, round);
      if (sent.ok()) co_return -2;  // sent
      if (sent.error() != SendError::kCancelled) co_return absl::InternalError("?");
      co_return sent.TakeValue();
    });
    started->WaitForNotification();
    Thread<void> canceller("canceller", [&] { sender.Cancel(); });
    EXPECT_EQ(rx.Recv().value(), -1);  // room: the task's send may go in
    EXPECT_TRUE(canceller.Join().ok());
    const int got = sender.Get().value();
    RecvResult<int> in_channel = rx.TryRecv();
    if (got == -2) {
      EXPECT_EQ(in_channel.value(), round);
      ++sent_count;
    } else {
      EXPECT_EQ(got, round);
      EXPECT_EQ(in_channel.error(), RecvError::kEmpty);
      ++returned;
    }
  }
  EXPECT_EQ(sent_count + returned, 300);
  RecordProperty("sent", sent_count);
}

TEST_F(ChannelAwaitTest, SelectFiresOneArmAndKeepsTheOtherValue) {
  ThreadPool pool(2);
  auto a_tx_a_rx = Channel<int>::Bounded(1);
  Sender<int>& a_tx = a_tx_a_rx.first;
  Receiver<int>& a_rx = a_tx_a_rx.second;
  auto b_tx_b_rx = Channel<std::string>::Rendezvous();
  Sender<std::string>& b_tx = b_tx_b_rx.first;  // its receiver stays in the pair
  JoinHandle<std::string> handle = Go(pool, [&]() -> Task<std::string> {
    std::string offer = "unsent";
    int received = 0;
    Select select;
    select.OnRecv(a_rx, [&](RecvResult<int> v) { received = *v; })
        .OnSend(b_tx, offer, [](SendResult<std::string>) {});
    SelectResult r = co_await AwaitSelect(select);
    if (!r.fired() || r.arm() != 0) co_return absl::InternalError("wrong arm");
    co_return std::to_string(received) + "/" + offer;
  });
  absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(a_tx.Send(7).ok());
  EXPECT_EQ(handle.Get().value(), "7/unsent");
}

TEST_F(ChannelAwaitTest, ACancelledSelectRunsNoArm) {
  ThreadPool pool(2);
  auto a_tx_a_rx = Channel<int>::Bounded(1);
  Receiver<int>& a_rx = a_tx_a_rx.second;  // its sender stays in the pair
  auto b_tx_b_rx = Channel<std::string>::Rendezvous();
  Sender<std::string>& b_tx = b_tx_b_rx.first;  // its receiver stays in the pair
  Notification parked;
  JoinHandle<std::string> handle = Go(pool, [&]() -> Task<std::string> {
    std::string offer = "mine";
    bool ran = false;
    Select select;
    select.OnRecv(a_rx, [&](RecvResult<int>) { ran = true; })
        .OnSend(b_tx, offer, [&](SendResult<std::string>) { ran = true; });
    parked.Notify();
    SelectResult r = co_await AwaitSelect(select);
    if (!r.cancelled() || ran) co_return absl::InternalError("expected a cancelled select");
    co_return offer;
  });
  parked.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(5));
  handle.Cancel();
  EXPECT_EQ(handle.Get().value(), "mine");
}

// Task and thread producers and consumers on one channel: every value
// arrives exactly once, whatever waits where.
void ShareAChannel(std::pair<Sender<int64_t>, Receiver<int64_t>> tx_rx) {
  ThreadPool pool(4);
  Sender<int64_t>& tx = tx_rx.first;
  Receiver<int64_t>& rx = tx_rx.second;
  constexpr int64_t kPerProducer = 5000;
  constexpr int kTaskProducers = 3;
  constexpr int kThreadProducers = 2;
  constexpr int kProducers = kTaskProducers + kThreadProducers;
  std::atomic<int64_t> sum{0};
  std::atomic<int64_t> count{0};
  std::atomic<int> producers_left{kProducers};
  auto finish_producer = [&] {
    if (producers_left.fetch_sub(1) == 1) tx.Close();
  };
  std::vector<JoinHandle<void>> tasks;
  for (int p = 0; p < kTaskProducers; ++p) {
    tasks.push_back(Go(pool, [&, p]() -> Task<void> {
      for (int64_t i = 0; i < kPerProducer; ++i) {
        EXPECT_TRUE((co_await Send(tx, p * kPerProducer + i)).ok());
      }
      finish_producer();
    }));
  }
  for (int c = 0; c < 3; ++c) {
    tasks.push_back(Go(pool, [&]() -> Task<void> {
      for (;;) {
        RecvResult<int64_t> v = co_await Recv(rx);
        if (!v.ok()) break;
        sum.fetch_add(*v);
        count.fetch_add(1);
      }
    }));
  }
  std::vector<Thread<void>> threads;
  for (int p = kTaskProducers; p < kProducers; ++p) {
    threads.emplace_back("producer", [&, p] {
      for (int64_t i = 0; i < kPerProducer; ++i) EXPECT_TRUE(tx.Send(p * kPerProducer + i).ok());
      finish_producer();
    });
  }
  threads.emplace_back("consumer", [&] {
    for (int64_t v : rx) {
      sum.fetch_add(v);
      count.fetch_add(1);
    }
  });
  for (Thread<void>& t : threads) EXPECT_TRUE(t.Join().ok());
  for (JoinHandle<void>& t : tasks) EXPECT_TRUE(t.Get().ok());
  const int64_t n = kProducers * kPerProducer;
  EXPECT_EQ(count.load(), n);
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
}

TEST_F(ChannelAwaitTest, StressTasksAndThreadsShareABoundedChannel) {
  ShareAChannel(Channel<int64_t>::Bounded(8));
}

TEST_F(ChannelAwaitTest, StressTasksAndThreadsShareARendezvousChannel) {
  ShareAChannel(Channel<int64_t>::Rendezvous());
}

TEST_F(ChannelAwaitTest, StressTasksAndThreadsShareAnUnboundedChannel) {
  ShareAChannel(Channel<int64_t>::Unbounded());
}

// Tasks select over a bounded and a rendezvous channel while threads feed
// both: a select's park races wakes from either channel, and whichever
// arm loses must leave its value where it was. Every value arrives once.
TEST_F(ChannelAwaitTest, StressTaskSelectsOverTwoChannelsLoseNothing) {
  ThreadPool pool(2);
  auto bounded = Channel<int64_t>::Bounded(2);
  auto rendezvous = Channel<int64_t>::Rendezvous();
  constexpr int64_t kPerProducer = 5000;
  std::atomic<int64_t> sum{0};
  std::atomic<int64_t> count{0};
  std::vector<JoinHandle<void>> tasks;
  for (int c = 0; c < 3; ++c) {
    tasks.push_back(Go(pool, [&]() -> Task<void> {
      Receiver<int64_t>& a = bounded.second;
      Receiver<int64_t>& b = rendezvous.second;
      bool a_open = true;
      bool b_open = true;
      auto take = [&](bool& open) {
        return [&](RecvResult<int64_t> v) {
          if (!v.ok()) {
            open = false;
            return;
          }
          sum.fetch_add(*v);
          count.fetch_add(1);
        };
      };
      while (a_open || b_open) {
        Select select;
        if (a_open) select.OnRecv(a, take(a_open));
        if (b_open) select.OnRecv(b, take(b_open));
        SelectResult r = co_await AwaitSelect(select);
        EXPECT_TRUE(r.fired());
      }
    }));
  }
  Thread<void> to_bounded("producer", [&] {
    for (int64_t i = 0; i < kPerProducer; ++i) EXPECT_TRUE(bounded.first.Send(i).ok());
    bounded.first.Close();
  });
  Thread<void> to_rendezvous("producer", [&] {
    for (int64_t i = kPerProducer; i < 2 * kPerProducer; ++i) {
      EXPECT_TRUE(rendezvous.first.Send(i).ok());
    }
    rendezvous.first.Close();
  });
  EXPECT_TRUE(to_bounded.Join().ok());
  EXPECT_TRUE(to_rendezvous.Join().ok());
  for (JoinHandle<void>& t : tasks) EXPECT_TRUE(t.Get().ok());
  const int64_t n = 2 * kPerProducer;
  EXPECT_EQ(count.load(), n);
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
}

// A cancel races a hand-off on a rendezvous channel: either the task got
// the value and the sender saw it sent, or the task saw kCancelled and the
// sender got the value back. Never both, never neither.
TEST_F(ChannelAwaitTest, StressCancelRacesARendezvous) {
  ThreadPool pool(2);
  int delivered = 0;
  int returned = 0;
  for (int round = 0; round < 500; ++round) {
    auto tx_rx = Channel<int>::Rendezvous();
    Sender<int>& tx = tx_rx.first;
    Receiver<int>& rx = tx_rx.second;
    JoinHandle<int> receiver = StartReceiving(pool, rx);
    Thread<void> canceller("canceller", [&] { receiver.Cancel(); });
    SendResult<int> sent = tx.SendFor(round, absl::Milliseconds(2));
    EXPECT_TRUE(canceller.Join().ok());
    const int got = receiver.Get().value();
    if (sent.ok()) {
      EXPECT_EQ(got, round);
      ++delivered;
    } else {
      EXPECT_EQ(got, -1);
      EXPECT_EQ(sent.TakeValue(), round);
      ++returned;
    }
  }
  EXPECT_EQ(delivered + returned, 500);
}

// The mirror image: a cancel races a thread taking a task's value. Either
// the thread has it and the task saw it sent, or the task has it back.
TEST_F(ChannelAwaitTest, StressCancelRacesARendezvousSend) {
  ThreadPool pool(2);
  int delivered = 0;
  int returned = 0;
  for (int round = 0; round < 500; ++round) {
    auto tx_rx = Channel<int>::Rendezvous();
    Sender<int>& tx = tx_rx.first;
    Receiver<int>& rx = tx_rx.second;
    Notification started;
    JoinHandle<int> sender = Go(pool, [&tx = tx, &started, round]() -> Task<int> {
      started.Notify();
      SendResult<int> sent = co_await Send(tx, round);
      if (sent.ok()) co_return -1;
      if (sent.error() != SendError::kCancelled) co_return absl::InternalError("not cancelled");
      co_return sent.TakeValue();
    });
    started.WaitForNotification();
    Thread<void> canceller("canceller", [&] { sender.Cancel(); });
    RecvResult<int> got = rx.RecvFor(absl::Milliseconds(2));
    EXPECT_TRUE(canceller.Join().ok());
    const int back = sender.Get().value();
    if (got.ok()) {
      EXPECT_EQ(*got, round);
      EXPECT_EQ(back, -1);
      ++delivered;
    } else {
      EXPECT_EQ(back, round);
      ++returned;
    }
  }
  EXPECT_EQ(delivered + returned, 500);
}

// A plain pool task that blocks its worker on a channel (discouraged, but
// threads and tasks mix on channels) after waking a task: the woken task
// sits in that worker's LIFO slot, where no other worker may steal it. The
// worker hands its slot over before it sleeps, so the task runs elsewhere
// and the blocked worker gets its answer instead of waiting forever.
TEST_F(ChannelAwaitTest, AWorkerThatBlocksHandsOverTheTaskItWoke) {
  ThreadPool pool(2);
  Echo game;
  Sender<int>& ping_tx = game.pings.first;
  Receiver<int>& pong_rx = game.pongs.second;
  JoinHandle<void> echo = game.Start(pool, 1);
  constexpr int kRounds = 200;
  std::atomic<int> answered{0};
  Notification done;
  pool.Execute([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!ping_tx.Send(i).ok()) break;
      RecvResult<int> back = pong_rx.Recv();  // blocks this worker
      if (!back.ok() || *back != i + 1) break;
      answered.fetch_add(1);
    }
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationFor(absl::Seconds(60))) << answered.load() << " answered";
  EXPECT_EQ(answered.load(), kRounds);
  ping_tx.Close();
  EXPECT_TRUE(echo.Get().ok());
}

// The same from inside a task: a task's step that wakes another keeps the
// woken task to run on its own thread once the step is over (a hand-off run
// inline, async/internal/context.cc). A step that then blocks the thread
// must give that task back to the pool first, or the pong never comes.
TEST_F(ChannelAwaitTest, ATaskThatBlocksItsWorkerHandsOverTheTaskItWoke) {
  ThreadPool pool(2);
  Echo game;
  Sender<int>& ping_tx = game.pings.first;
  Receiver<int>& pong_rx = game.pongs.second;
  JoinHandle<void> echo = game.Start(pool, 1);
  constexpr int kRounds = 200;
  JoinHandle<int> blocker = Go(pool, [&]() -> Task<int> {
    int answered = 0;
    for (int i = 0; i < kRounds; ++i) {
      if (!(co_await Send(ping_tx, i)).ok()) break;
      RecvResult<int> back = pong_rx.RecvFor(absl::Seconds(60));  // blocks this worker
      if (!back.ok() || *back != i + 1) break;
      ++answered;
    }
    co_return answered;
  });
  EXPECT_EQ(blocker.Get().value(), kRounds);
  ping_tx.Close();
  EXPECT_TRUE(echo.Get().ok());
}

// Two tasks passing a value back and forth on a one-worker pool hand off to
// each other forever; the chain limits (inline, then the LIFO slot) still
// let the worker reach the work queued behind them.
TEST_F(ChannelAwaitTest, PingPongTasksCannotHoldTheirWorker) {
  ThreadPool pool(1);
  Echo game;
  Sender<int>& ping_tx = game.pings.first;
  Receiver<int>& pong_rx = game.pongs.second;
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  JoinHandle<void> echo = game.Start(pool, 0);
  JoinHandle<void> pinger = Go(pool, [&]() -> Task<void> {
    while (!stop.load()) {
      if (!(co_await Send(ping_tx, 1)).ok()) break;
      if (!(co_await Recv(pong_rx)).ok()) break;
      rounds.fetch_add(1);
    }
    ping_tx.Close();
  });
  EXPECT_TRUE(Eventually([&] { return rounds.load() >= 100; }));
  // The game is on: queued work must still get the worker.
  Notification ran;
  Go(pool, [&]() -> Task<void> {
    ran.Notify();
    co_return;
  }).Detach();
  EXPECT_TRUE(ran.WaitForNotificationFor(absl::Seconds(60))) << "the worker was held";
  stop.store(true);  // ends the game either way, so the test can end
  EXPECT_TRUE(pinger.Get().ok());
  EXPECT_TRUE(echo.Get().ok());
}

// A task woken from a worker waits in that worker's LIFO slot (its
// resumption, or, on a buffered channel, the step that tries again); if the
// pool is shut down with ShutdownNow() before it runs, the dropped closure
// abandons the strand: its frames unwind and its handle says kCancelled.
// Whichever way each round goes, the woken task ends, unwound, with nothing
// leaked.
void ShutdownNowRacingAWakeUp(Channel<int>::Pair (*make_channel)()) {
  struct Unwinds {
    std::atomic<bool>* flag;
    ~Unwinds() { flag->store(true); }
  };
  int abandoned = 0;
  for (int round = 0; round < 20; ++round) {
    ThreadPool pool(1);
    Channel<int>::Pair tx_rx = make_channel();
    Sender<int>& tx = tx_rx.first;
    Receiver<int>& rx = tx_rx.second;
    std::atomic<bool> unwound{false};
    JoinHandle<int> receiver = Go(pool, [&rx, &unwound]() -> Task<int> {
      Unwinds guard{&unwound};
      RecvResult<int> got = co_await Recv(rx);
      if (!got.ok()) co_return absl::InternalError("closed");
      co_return *got;
    });
    Notification handed;
    // Runs on the same worker after the receiver parked (one worker, FIFO
    // from outside): the wake-up puts the receiver in the LIFO slot, and
    // the worker stays busy while ShutdownNow() begins.
    pool.Execute([&] {
      while (!tx.TrySend(7).ok()) std::this_thread::yield();
      handed.Notify();
      absl::SleepFor(absl::Milliseconds(2));
    });
    handed.WaitForNotification();
    pool.ShutdownNow();
    absl::StatusOr<int> got = receiver.Get();
    if (got.ok()) {
      EXPECT_EQ(*got, 7);
    } else {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled) << got.status();
      ++abandoned;
    }
    EXPECT_TRUE(unwound.load());
  }
  testing::Test::RecordProperty("abandoned", abandoned);
}

TEST_F(ChannelAwaitTest, ShutdownNowRacingAHandOffEndsTheWokenTask) {
  ShutdownNowRacingAWakeUp([] { return Channel<int>::Rendezvous(); });
}

TEST_F(ChannelAwaitTest, ShutdownNowDroppingABufferedWaitsStepEndsTheTask) {
  ShutdownNowRacingAWakeUp([] { return Channel<int>::Bounded(1); });
}

}  // namespace
}  // namespace troupe
