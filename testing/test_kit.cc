#include "testing/test_kit.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/hooks.h"
#include "testing/describe.h"
#include "threads/mutex.h"

namespace troupe::testkit {

// Records what happens, as lines of text.
class TestKit::TraceHooks final : public ActorHooks {
 public:
  void OnSpawn(const ActorRef& actor, const ActorRef& parent) override {
    Add(parent ? absl::StrCat("spawn ", actor.ToString(), " (child of ", parent.ToString(), ")")
               : absl::StrCat("spawn ", actor.ToString()));
  }
  void OnSend(const ActorRef& actor, const Envelope& envelope) override {
    Add(absl::StrCat("send ", SenderOf(envelope), " -> ", actor.ToString(), ": ",
                     envelope.type().name()));
  }
  void OnActivate(const ActorRef& actor, const Envelope& envelope) override {
    Add(absl::StrCat("handle ", actor.ToString(), ": ", envelope.type().name()));
  }
  void OnRestart(const ActorRef& actor, const proto::ExitReason& reason) override {
    Add(absl::StrCat("restart ", actor.ToString(), " after ", DescribeExitReason(reason)));
  }
  void OnStop(const ActorRef& actor, const proto::ExitReason& reason) override {
    Add(absl::StrCat("stop ", actor.ToString(), ": ", DescribeExitReason(reason)));
  }

  std::vector<std::string> lines() const {
    MutexLock lock(mu_);
    return lines_;
  }

 private:
  static std::string SenderOf(const Envelope& envelope) {
    if (!envelope.sender()) return "outside";
    return ActorRef(envelope.sender()).ToString();
  }
  void Add(std::string line) {
    MutexLock lock(mu_);
    lines_.push_back(std::move(line));
  }

  mutable Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TestKit::TestKit(TestKitOptions options)
    : max_steps_(options.max_steps), hooks_(std::make_shared<TraceHooks>()) {
  auto scheduler = std::make_unique<DeterministicScheduler>(options.seed);
  auto clock = std::make_unique<VirtualClock>();
  scheduler_ = scheduler.get();
  clock_ = clock.get();
  ActorSystemOptions system_options;
  system_options.name = std::move(options.name);
  system_options.throughput = 1;
  system_options.scheduler = std::move(scheduler);
  system_options.clock = std::move(clock);
  system_options.hooks = hooks_;
  // No housekeeping timer among the test's own: the kit's clock holds only
  // what the test scheduled, and giving memory back is the pool's concern.
  system_options.memory_check_interval = absl::ZeroDuration();
  system_ = std::make_unique<ActorSystem>(std::move(system_options));
  if (options.seed != 0) {
    seed_trace_.emplace(
        __FILE__, __LINE__,
        absl::StrCat("TestKit seed ", options.seed, " (TestKitOptions::seed replays this order)"));
  }
}

TestKit::~TestKit() {
  system_->Shutdown();  // runs on this thread until every actor has stopped
}

bool TestKit::Step() { return scheduler_->Step(); }

int TestKit::RunUntilIdle() {
  const int steps = scheduler_->RunUntilIdle(max_steps_);
  if (steps == max_steps_ && scheduler_->waiting() > 0) {
    ADD_FAILURE() << "TestKit: the system was still busy after " << max_steps_
                  << " steps; waiting:\n"
                  << DescribeQueued();
  }
  return steps;
}

void TestKit::AdvanceTime(absl::Duration d) {
  const absl::Time target = clock_->Now() + d;
  RunUntilIdle();
  for (absl::Time next = clock_->NextTimer(); next <= target; next = clock_->NextTimer()) {
    clock_->Advance(next - clock_->Now());  // fires everything due at `next`
    RunUntilIdle();
  }
  clock_->Advance(target - clock_->Now());
}

bool TestKit::RunUntil(absl::FunctionRef<bool()> done, absl::Duration limit) {
  const absl::Time deadline = clock_->Now() + limit;
  RunUntilIdle();
  while (!done()) {
    const absl::Time next = clock_->NextTimer();
    if (next > deadline) {
      clock_->Advance(deadline - clock_->Now());
      break;
    }
    clock_->Advance(next - clock_->Now());  // fires everything due at `next`
    RunUntilIdle();
  }
  return done();
}

std::vector<QueuedMessage> TestKit::Queued() const {
  std::vector<QueuedMessage> queued;
  scheduler_->ForEachWaiting([&](const Schedulable& turn) {
    const ActorRef owner = turn.Owner();
    turn.ForEachQueued([&](const Envelope& envelope) {
      queued.push_back({owner, envelope.type().name(), DescribeMessage(envelope)});
    });
  });
  return queued;
}

std::string TestKit::DescribeQueued() const {
  std::string text;
  for (const QueuedMessage& message : Queued()) {
    absl::StrAppend(&text, "  ", message.to.ToString(), " <- ", message.text, "\n");
  }
  return text.empty() ? "  (nothing)\n" : text;
}

std::vector<std::string> TestKit::Trace() const { return hooks_->lines(); }

}  // namespace troupe::testkit
