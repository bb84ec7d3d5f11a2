// Streams between actors with credit (actor_stream.h): delivery and order,
// the credit bound, the protocol's edge cases, and every way either side
// can go away.

#include "actor/actor_stream.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/stream_protocol.pb.h"
#include "actor/system.pb.h"
#include "actor/testdata/test_messages.pb.h"
#include "async/block_on.h"
#include "async/stream.h"
#include "async/task.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/mutex.h"
#include "threads/notification.h"

namespace troupe {
namespace {

using test::Add;
using test::Ping;

Add MakeAdd(int64_t value) {
  Add add;
  add.set_value(value);
  return add;
}

// What a producer's ToActor() task ended with.
struct Outcome {
  Notification done;
  absl::Status status;  // written before done.Notify()
};

// How the producer makes its stream of Adds, per test.
enum class Source { kCounted, kEndless, kFailsAfterThree };

// Pulls are counted as the producer makes its items, so a test can see how
// far ahead of its consumer the producer ever got.
Stream<Add> Adds(Source source, int64_t n, std::shared_ptr<std::atomic<int64_t>> pulled,
                 std::shared_ptr<std::atomic<int>> live_frames) {
  live_frames->fetch_add(1);
  struct Live {
    std::atomic<int>* frames;
    ~Live() { frames->fetch_sub(1); }
  } live{live_frames.get()};
  for (int64_t i = 1; source == Source::kEndless || i <= n; ++i) {
    if (source == Source::kFailsAfterThree && i == 4) {
      co_yield EndStream(absl::DataLossError("the disk went away"));
    }
    pulled->fetch_add(1);
    co_yield MakeAdd(i);
  }
}

// Awaits a ToActor() task and reports how it ended.
Task<void> Report(Task<absl::Status> streaming, std::shared_ptr<Outcome> outcome) {
  absl::Status status = co_await std::move(streaming);
  outcome->status = std::move(status);
  outcome->done.Notify();
}

// On a Ping (its seq: how many items), streams Adds to the sender.
class Producer : public Actor {
 public:
  Producer(Source source, std::shared_ptr<Outcome> outcome)
      : source_(source), outcome_(std::move(outcome)) {}

  std::shared_ptr<std::atomic<int64_t>> pulled = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<std::atomic<int>> live_frames = std::make_shared<std::atomic<int>>(0);

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Ping>([this](const Ping& ping) {
      if (source_ == Source::kCounted) {
        // Fused, so that its items go out in runs; counted as pulled.
        auto count = [pulled = pulled](int64_t i) {
          pulled->fetch_add(1);
          return MakeAdd(i);
        };
        Go(Report(ToActor(Range<int64_t>(1, ping.seq() + 1).Map(count), Sender()), outcome_));
      } else {
        Go(Report(ToActor(Adds(source_, ping.seq(), pulled, live_frames), Sender()), outcome_));
      }
    });
  }

 private:
  const Source source_;
  std::shared_ptr<Outcome> outcome_;
};

// The pieces of a Producer a test watches, made before it is spawned.
struct ProducerProbe {
  std::shared_ptr<Outcome> outcome = std::make_shared<Outcome>();
  std::shared_ptr<std::atomic<int64_t>> pulled;
  std::shared_ptr<std::atomic<int>> live_frames;
};

class ProbedProducer : public Producer {
 public:
  ProbedProducer(Source source, ProducerProbe* probe) : Producer(source, probe->outcome) {
    probe->pulled = pulled;
    probe->live_frames = live_frames;
  }
};

template <AsyncStream S>
Task<std::pair<std::vector<int64_t>, absl::Status>> DrainValues(S stream) {
  std::vector<int64_t> values;
  while (std::optional<Add> add = co_await stream.Next()) values.push_back(add->value());
  co_return std::make_pair(std::move(values), stream.status());
}

// Drains `stream` from this thread: its values and how it ended.
template <AsyncStream S>
std::pair<std::vector<int64_t>, absl::Status> DrainNow(S stream) {
  absl::StatusOr<std::pair<std::vector<int64_t>, absl::Status>> drained =
      BlockOn(DrainValues(std::move(stream)));
  if (!drained.ok()) return {{}, drained.status()};
  return *std::move(drained);
}

std::vector<int64_t> OneTo(int64_t n) {
  std::vector<int64_t> values;
  for (int64_t i = 1; i <= n; ++i) values.push_back(i);
  return values;
}

Ping Items(int64_t n) {
  Ping ping;
  ping.set_seq(n);
  return ping;
}

TEST(FromActorTest, EveryItemArrivesInOrderThenTheEnd) {
  ActorSystem system;
  ProducerProbe probe;
  ActorRef producer = system.Spawn<ProbedProducer>(Source::kCounted, &probe);
  auto [values, status] = DrainNow(FromActor<Add>(producer, Items(1000), {.window = 16}));
  EXPECT_EQ(values, OneTo(1000));
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_TRUE(probe.outcome->done.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_TRUE(probe.outcome->status.ok()) << probe.outcome->status;
}

TEST(FromActorTest, TheProducerIsNeverMoreThanTheWindowAhead) {
  ActorSystem system;
  ProducerProbe probe;
  ActorRef producer = system.Spawn<ProbedProducer>(Source::kCounted, &probe);
  constexpr uint32_t kWindow = 8;
  constexpr int64_t kItems = 20'000;
  int64_t worst_lead = 0;
  absl::Status status = BlockOn([&]() -> Task<absl::Status> {
    ActorStream<Add> adds = FromActor<Add>(producer, Items(kItems), {.window = kWindow});
    int64_t taken = 0;
    while (std::optional<Add> add = co_await adds.Next()) {
      ++taken;
      EXPECT_EQ(add->value(), taken);
      // Pulled items are ones sent or about to be: at most the credit.
      worst_lead = std::max(worst_lead, probe.pulled->load() - taken);
      if (taken % 64 == 0) std::this_thread::yield();  // a slower consumer, now and then
    }
    EXPECT_EQ(taken, kItems);
    co_return adds.status();
  }());
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_LE(worst_lead, int64_t{kWindow});
  EXPECT_GT(worst_lead, 0);
}

TEST(FromActorTest, AnErrorEndsTheStreamAfterTheItemsBeforeIt) {
  ActorSystem system;
  ProducerProbe probe;
  ActorRef producer = system.Spawn<ProbedProducer>(Source::kFailsAfterThree, &probe);
  auto [values, status] = DrainNow(FromActor<Add>(producer, Items(10)));
  EXPECT_EQ(values, OneTo(3));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), "the disk went away");
  ASSERT_TRUE(probe.outcome->done.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_EQ(probe.outcome->status.code(), absl::StatusCode::kDataLoss);
}

TEST(FromActorTest, AConsumerThatStopsEarlyCancelsTheProducer) {
  ActorSystem system;
  ProducerProbe probe;
  ActorRef producer = system.Spawn<ProbedProducer>(Source::kEndless, &probe);
  absl::StatusOr<std::vector<Add>> five =
      BlockOn(FromActor<Add>(producer, Items(0), {.window = 4}).Take(5).Collect());
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ(five->size(), 5u);
  ASSERT_TRUE(probe.outcome->done.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_EQ(probe.outcome->status.code(), absl::StatusCode::kCancelled) << probe.outcome->status;
  // The producer's source was dropped: its frame unwound.
  EXPECT_TRUE(testkit::Eventually([&] { return probe.live_frames->load() == 0; }));
}

// On a thread of its own, pulls an endless FromActor() stream from
// `producer`, counting its items in `taken`, until it ends; then `status`.
std::thread CountOnAThread(ActorRef producer, uint32_t window, std::atomic<int64_t>& taken,
                           absl::Status& status) {
  return std::thread([producer, window, &taken, &status] {
    status = BlockOn([&]() -> Task<absl::Status> {
      ActorStream<Add> adds = FromActor<Add>(producer, Items(0), {.window = window});
      while (std::optional<Add> add = co_await adds.Next()) taken.fetch_add(1);
      co_return adds.status();
    }());
  });
}

TEST(FromActorTest, AProducerThatStopsMidStreamEndsItCancelled) {
  ActorSystem system;
  ProducerProbe probe;
  ActorRef producer = system.Spawn<ProbedProducer>(Source::kEndless, &probe);
  std::atomic<int64_t> taken{0};
  absl::Status status;
  std::thread consumer = CountOnAThread(producer, /*window=*/4, taken, status);
  ASSERT_TRUE(testkit::Eventually([&] { return taken.load() >= 10; }));
  producer.Tell(proto::Stop());
  consumer.join();  // a hang here is the failure
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_TRUE(testkit::Eventually([&] { return probe.live_frames->load() == 0; }));
}

TEST(FromActorTest, ShutdownUnderLoadEndsTheStreamCancelled) {
  auto system = std::make_unique<ActorSystem>();
  ProducerProbe probe;
  ActorRef producer = system->Spawn<ProbedProducer>(Source::kEndless, &probe);
  std::atomic<int64_t> taken{0};
  absl::Status status;
  std::thread consumer = CountOnAThread(producer, /*window=*/64, taken, status);
  ASSERT_TRUE(testkit::Eventually([&] { return taken.load() >= 100; }));
  system->Shutdown();
  consumer.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  system.reset();  // the stream's ends outlive nothing they point to
}

// Takes a Ping and does nothing with it.
class Silent : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Ping>([](const Ping&) {});
  }
};

// Has no handler for anything a test sends it.
class Deaf : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<test::GetTotal>([](const auto&) {});
  }
};

TEST(FromActorTest, AProducerThatStopsBeforeOpeningEndsTheStream) {
  ActorSystem system;
  ActorRef silent = system.Spawn<Silent>();
  absl::Status status;
  std::thread consumer([&] { status = DrainNow(FromActor<Add>(silent, Items(3))).second; });
  absl::SleepFor(absl::Milliseconds(20));  // (also passes if the stop comes first)
  silent.Tell(proto::Stop());
  consumer.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
}

TEST(FromActorTest, AProducerThatCannotTakeTheOpenEndsTheStream) {
  ActorSystem system;
  ActorRef deaf = system.Spawn<Deaf>();
  absl::Status unhandled = DrainNow(FromActor<Add>(deaf, Items(3))).second;
  EXPECT_EQ(unhandled.code(), absl::StatusCode::kUnavailable) << unhandled;

  deaf.Tell(proto::Stop());
  testkit::WaitUntilStopped(deaf);
  absl::Status stopped = DrainNow(FromActor<Add>(deaf, Items(3))).second;
  EXPECT_EQ(stopped.code(), absl::StatusCode::kUnavailable) << stopped;
}

// Refs that outlived their system: a stream from one ends at once, and a
// ToActor() to one ends too; neither hangs nor crashes.
TEST(FromActorTest, RefsThatOutlivedTheirSystemEndTheStreamAtOnce) {
  ActorRef producer;
  ActorRef consumer;
  {
    ActorSystem system;
    ProducerProbe probe;
    producer = system.Spawn<ProbedProducer>(Source::kCounted, &probe);
    consumer = system.Spawn<Silent>();
  }
  EXPECT_EQ(DrainNow(FromActor<Add>(producer, Items(3))).second.code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(BlockOn(ToActor(Range<int64_t>(1, 10).Map(MakeAdd), consumer)).code(),
            absl::StatusCode::kCancelled);
}

TEST(FromActorTest, BadArgumentsEndTheStreamAtOnce) {
  ActorSystem system;
  ActorRef silent = system.Spawn<Silent>();
  EXPECT_EQ(DrainNow(FromActor<Add>(ActorRef(), Items(1))).second.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DrainNow(FromActor<Add>(silent, Items(1), {.window = 0})).second.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      DrainNow(FromActor<Add>(silent, Items(1), {.window = kMaxStreamWindow + 1})).second.code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BlockOn(ToActor(Range<int64_t>(0, 3).Map(MakeAdd), ActorRef())).code(),
            absl::StatusCode::kInvalidArgument);
}

// -- the protocol by hand ----------------------------------------------------

// A consumer that grants what the test says on StreamOpen, and records the
// items and the end.
class RawConsumer : public Actor {
 public:
  struct Record {
    Mutex mu;
    std::vector<uint64_t> grants_on_open;
    int64_t items ABSL_GUARDED_BY(mu) = 0;
    std::optional<proto::StreamDone> done ABSL_GUARDED_BY(mu);
  };
  explicit RawConsumer(std::shared_ptr<Record> record) : record_(std::move(record)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<proto::StreamOpen>([this](const proto::StreamOpen&) {
          for (uint64_t n : record_->grants_on_open) {
            proto::StreamRequest request;
            request.set_n(n);
            Sender().Tell(std::move(request));
          }
        })
        .On<Add>([this](const Add&) {
          MutexLock lock(record_->mu);
          ++record_->items;
        })
        .On<proto::StreamDone>([this](const proto::StreamDone& done) {
          MutexLock lock(record_->mu);
          record_->done = done;
        });
  }

 private:
  std::shared_ptr<RawConsumer::Record> record_;
};

TEST(ToActorTest, ARequestOfZeroEndsTheStreamWithInvalidArgument) {
  ActorSystem system;
  auto record = std::make_shared<RawConsumer::Record>();
  record->grants_on_open = {0};
  ActorRef consumer = system.Spawn<RawConsumer>(record);
  absl::Status status = BlockOn(ToActor(Range<int64_t>(1, 100).Map(MakeAdd), consumer));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("3.9"), std::string_view::npos) << status;
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(record->mu);
    return record->done.has_value();
  }));
  MutexLock lock(record->mu);
  EXPECT_EQ(record->items, 0);
  EXPECT_EQ(record->done->code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
}

TEST(ToActorTest, CreditSaturatesInsteadOfWrapping) {
  ActorSystem system;
  auto record = std::make_shared<RawConsumer::Record>();
  // Wrapping would leave a credit of 1.
  record->grants_on_open = {UINT64_MAX, 2};
  ActorRef consumer = system.Spawn<RawConsumer>(record);
  absl::Status status = BlockOn(ToActor(Range<int64_t>(1, 1001).Map(MakeAdd), consumer));
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(record->mu);
    return record->done.has_value();
  }));
  MutexLock lock(record->mu);
  EXPECT_EQ(record->items, 1000);
  EXPECT_EQ(actor_internal::SaturatingAdd(UINT64_MAX, 2), UINT64_MAX);
  EXPECT_EQ(actor_internal::SaturatingAdd(UINT64_MAX - 3, 2), UINT64_MAX - 1);
}

TEST(ToActorTest, NoMoreItemsThanGrantedAreSent) {
  ActorSystem system;
  auto record = std::make_shared<RawConsumer::Record>();
  record->grants_on_open = {3, 4};
  ActorRef consumer = system.Spawn<RawConsumer>(record);
  auto pulled = std::make_shared<std::atomic<int64_t>>(0);
  auto frames = std::make_shared<std::atomic<int>>(0);
  Notification ended;
  absl::Status status;
  std::thread producer([&] {
    status = BlockOn(ToActor(Adds(Source::kEndless, 0, pulled, frames), consumer));
    ended.Notify();
  });
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(record->mu);
    return record->items == 7;
  }));
  absl::SleepFor(absl::Milliseconds(50));  // time to overrun, if it would
  {
    MutexLock lock(record->mu);
    EXPECT_EQ(record->items, 7);
  }
  EXPECT_EQ(pulled->load(), 7);
  EXPECT_FALSE(ended.HasBeenNotified());
  consumer.Tell(proto::Stop());  // gone: the producer hears of it
  producer.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(frames->load(), 0);
}

TEST(ToActorTest, AConsumerThatDoesNotSpeakTheProtocolIsAnError) {
  ActorSystem system;
  ActorRef deaf = system.Spawn<Deaf>();
  absl::Status status = BlockOn(ToActor(Range<int64_t>(1, 10).Map(MakeAdd), deaf));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
}

// Grants 1, then floods its producer with requests from one handler.
class Flooder : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<proto::StreamOpen>([this](const proto::StreamOpen&) {
          for (int i = 0; i < 1000; ++i) {
            proto::StreamRequest request;
            request.set_n(1);
            Sender().Tell(std::move(request));
          }
        })
        .On<Add>([](const Add&) {})
        .On<proto::StreamDone>([](const proto::StreamDone&) {});
  }
};

// Streams Adds to the Flooder it spawned, in an actor Go task, and reports.
class FloodedProducer : public Actor {
 public:
  explicit FloodedProducer(std::shared_ptr<Outcome> outcome) : outcome_(std::move(outcome)) {}

 protected:
  void OnStart() override {
    Go(
        [](ActorRef to, std::shared_ptr<Outcome> outcome) -> Task<void> {
          outcome->status = co_await ToActor(Range<int64_t>(1, 1'000'000).Map(MakeAdd), to);
          outcome->done.Notify();
        },
        Spawn<Flooder>(), outcome_);
  }
  Behavior MakeBehavior() override { return Behavior(); }

 private:
  std::shared_ptr<Outcome> outcome_;
};

TEST(ToActorTest, AConsumerThatFloodsControlEndsTheStream) {
  // One worker: the flooder's handler runs to its end before the producer
  // reads a single request, so far more than kMaxUnreadControl pile up.
  ActorSystemOptions options;
  options.workers = 1;
  ActorSystem system(std::move(options));
  auto outcome = std::make_shared<Outcome>();
  system.Spawn<FloodedProducer>(outcome);
  ASSERT_TRUE(outcome->done.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_EQ(outcome->status.code(), absl::StatusCode::kResourceExhausted) << outcome->status;
}

// -- an actor consuming with a StreamInlet ----------------------------------------

class InletConsumer : public Actor {
 public:
  struct Record {
    Mutex mu;
    int64_t sum ABSL_GUARDED_BY(mu) = 0;
    int64_t items ABSL_GUARDED_BY(mu) = 0;
    uint64_t worst_outstanding ABSL_GUARDED_BY(mu) = 0;
    std::optional<absl::Status> end ABSL_GUARDED_BY(mu);
  };
  InletConsumer(uint32_t window, bool consume, std::shared_ptr<Record> record,
                Notification* hold = nullptr)
      : inlet_(window), consume_(consume), record_(std::move(record)), hold_(hold) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<proto::StreamOpen>(
            [this](const proto::StreamOpen&) { EXPECT_TRUE(inlet_.Accept(Sender()).ok()); })
        .On<Add>([this](const Add& add) {
          if (hold_ != nullptr) std::exchange(hold_, nullptr)->WaitForNotification();
          MutexLock lock(record_->mu);
          record_->sum += add.value();
          ++record_->items;
          record_->worst_outstanding = std::max(record_->worst_outstanding, inlet_.outstanding());
          if (consume_) inlet_.Consumed();
        })
        .On<proto::StreamDone>([this](const proto::StreamDone& done) {
          absl::Status end = inlet_.Finish(done);
          MutexLock lock(record_->mu);
          record_->end = std::move(end);
        });
  }

 private:
  StreamInlet inlet_;
  const bool consume_;
  std::shared_ptr<Record> record_;
  Notification* hold_;  // the first item waits for it
};

// Waits until the consumer heard its stream's end (StreamDone).
::testing::AssertionResult HeardTheEnd(InletConsumer::Record& record) {
  return testkit::Eventually([&] {
    MutexLock lock(record.mu);
    return record.end.has_value();
  });
}

// After HeardTheEnd(): the stream ended OK with every one of the Adds 1..n.
void ExpectAllOfOneToN(InletConsumer::Record& record, int64_t n) {
  MutexLock lock(record.mu);
  EXPECT_TRUE(record.end->ok()) << *record.end;
  EXPECT_EQ(record.items, n);
  EXPECT_EQ(record.sum, n * (n + 1) / 2);
}

TEST(StreamInletTest, AnActorTakesTheItemsInItsHandlers) {
  ActorSystem system;
  auto record = std::make_shared<InletConsumer::Record>();
  ActorRef consumer = system.Spawn<InletConsumer>(/*window=*/4, /*consume=*/true, record);
  constexpr int64_t kItems = 10'000;
  absl::Status status = BlockOn(ToActor(Range<int64_t>(1, kItems + 1).Map(MakeAdd), consumer));
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_TRUE(HeardTheEnd(*record));
  ExpectAllOfOneToN(*record, kItems);
  MutexLock lock(record->mu);
  EXPECT_LE(record->worst_outstanding, 4u);
}

// The documented use: an actor streams from its own Go(task), made already.
class RangeSource : public Actor {
 public:
  RangeSource(int64_t n, ActorRef to) : n_(n), to_(std::move(to)) {}

 protected:
  void OnStart() override { Go(ToActor(Range<int64_t>(1, n_ + 1).Map(MakeAdd), to_)); }
  Behavior MakeBehavior() override { return Behavior(); }

 private:
  const int64_t n_;
  const ActorRef to_;
};

TEST(StreamInletTest, AnActorStreamsToAnotherFromAGoTask) {
  ActorSystem system;
  auto record = std::make_shared<InletConsumer::Record>();
  ActorRef consumer = system.Spawn<InletConsumer>(/*window=*/16, /*consume=*/true, record);
  constexpr int64_t kItems = 5'000;
  ActorRef source = system.Spawn<RangeSource>(kItems, consumer);
  ASSERT_TRUE(HeardTheEnd(*record));
  ExpectAllOfOneToN(*record, kItems);
  MutexLock lock(record->mu);
  EXPECT_LE(record->worst_outstanding, 16u);
}

TEST(StreamInletTest, AConsumerActorThatStopsCancelsTheStream) {
  ActorSystem system;
  auto record = std::make_shared<InletConsumer::Record>();
  ActorRef consumer = system.Spawn<InletConsumer>(/*window=*/4, /*consume=*/false, record);
  auto pulled = std::make_shared<std::atomic<int64_t>>(0);
  auto frames = std::make_shared<std::atomic<int>>(0);
  absl::Status status;
  std::thread producer(
      [&] { status = BlockOn(ToActor(Adds(Source::kEndless, 0, pulled, frames), consumer)); });
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(record->mu);
    return record->items == 4;  // the window, and no more: it consumes nothing
  }));
  consumer.Tell(proto::Stop());
  producer.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(pulled->load(), 4);
  EXPECT_EQ(frames->load(), 0);
}

// A window larger than the consumer's bounded mailbox: the producer waits
// for room, as any sender that can (actor/send.h), since the consumer's
// credit promised it; nothing is refused, nothing lost, and the end waits
// its turn too.
TEST(StreamInletTest, AWindowPastABoundedMailboxWaitsForRoom) {
  ActorSystem system;
  auto record = std::make_shared<InletConsumer::Record>();
  Notification hold;
  SpawnOptions bounded;
  bounded.mailbox_capacity = 8;
  bounded.dedicated = true;  // it blocks in its first item's handler
  ActorRef consumer = system.Spawn<InletConsumer>(std::move(bounded), /*window=*/256,
                                                  /*consume=*/true, record, &hold);
  constexpr int64_t kItems = 5'000;
  absl::Status status;
  std::thread producer(
      [&] { status = BlockOn(ToActor(Range<int64_t>(1, kItems + 1).Map(MakeAdd), consumer)); });
  absl::SleepFor(absl::Milliseconds(50));  // the mailbox fills, the producer waits
  hold.Notify();
  producer.join();
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_TRUE(HeardTheEnd(*record));
  ExpectAllOfOneToN(*record, kItems);
  EXPECT_EQ(system.dead_letters().total(), 0);
}

TEST(StreamInletTest, ItsEdgesAreClearErrors) {
  StreamInlet zero(0);
  ActorSystem system;
  ActorRef silent = system.Spawn<Silent>();
  EXPECT_EQ(zero.Accept(silent).code(), absl::StatusCode::kInvalidArgument);
  StreamInlet inlet(8);
  EXPECT_EQ(inlet.Accept(ActorRef()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(inlet.Request(3).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(inlet.Accept(silent).ok());
  EXPECT_EQ(inlet.outstanding(), 8u);
  EXPECT_EQ(inlet.Accept(silent).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(inlet.Request(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(inlet.Request(UINT64_MAX).ok());
  EXPECT_EQ(inlet.outstanding(), UINT64_MAX);
  inlet.Cancel();
  EXPECT_FALSE(inlet.is_open());
}

// -- many streams at once -------------------------------------------------------

TEST(ActorStreamStressTest, ManyStreamsAtOnceLoseNothing) {
  ActorSystem system;
  constexpr int kStreams = 8;
  const int64_t items = ScaledCount(20'000, 1000);
  std::vector<ProducerProbe> probes(kStreams);
  std::vector<std::thread> consumers;
  std::vector<int64_t> sums(kStreams, -1);
  for (int s = 0; s < kStreams; ++s) {
    ActorRef producer = system.Spawn<ProbedProducer>(Source::kCounted, &probes[s]);
    consumers.emplace_back([&, s, producer] {
      absl::StatusOr<int64_t> sum = BlockOn(
          FromActor<Add>(producer, Items(items), {.window = static_cast<uint32_t>(1 + s % 4)})
              .Fold(int64_t{0}, [](int64_t total, const Add& add) { return total + add.value(); }));
      sums[s] = sum.ok() ? *sum : -2;
    });
  }
  for (std::thread& consumer : consumers) consumer.join();
  for (int s = 0; s < kStreams; ++s) EXPECT_EQ(sums[s], items * (items + 1) / 2) << "stream " << s;
}

}  // namespace
}  // namespace troupe
