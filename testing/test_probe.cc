#include "testing/test_probe.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor.h"

namespace troupe::testkit {

// What the probe actor received, shared with the TestProbe.
struct TestProbe::Inbox {
  Mutex mu;
  CondVar arrived;
  std::deque<EnvelopePtr> messages ABSL_GUARDED_BY(mu);
  ActorRef last_sender ABSL_GUARDED_BY(mu);
};

// Keeps every message it is sent (Down included: no handler, so all of
// them reach OnUnhandled), and watches on request.
class TestProbe::ProbeActor final : public Actor {
 public:
  explicit ProbeActor(std::shared_ptr<Inbox> inbox) : inbox_(std::move(inbox)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<WatchRequest>([this](const WatchRequest& w) { Watch(w.target); });
  }
  void OnUnhandled(Envelope&) override {
    EnvelopePtr envelope = TakeMessage();
    MutexLock lock(inbox_->mu);
    inbox_->messages.push_back(std::move(envelope));
    inbox_->arrived.SignalAll();
  }

 private:
  std::shared_ptr<Inbox> inbox_;
};

TestProbe::TestProbe(ActorSystem& system, std::string name, absl::Duration timeout)
    : kit_(nullptr), timeout_(timeout), inbox_(std::make_shared<Inbox>()) {
  SpawnOptions options;
  options.name = std::move(name);
  ref_ = system.Spawn<ProbeActor>(std::move(options), inbox_);
}

TestProbe::TestProbe(TestKit& kit, std::string name)
    : kit_(&kit), timeout_(absl::ZeroDuration()), inbox_(std::make_shared<Inbox>()) {
  SpawnOptions options;
  options.name = std::move(name);
  ref_ = kit.system().Spawn<ProbeActor>(std::move(options), inbox_);
}

TestProbe::~TestProbe() {
  // (A system shut down before its probe has already stopped it.)
  if (ref_.IsAlive()) ref_.Tell(proto::Stop());
}

EnvelopePtr TestProbe::Next(absl::Duration timeout) {
  if (kit_ != nullptr) kit_->RunUntilIdle();
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(inbox_->mu);
  while (inbox_->messages.empty()) {
    if (kit_ != nullptr) return nullptr;
    if (!inbox_->arrived.WaitUntil(inbox_->mu, deadline) && absl::Now() >= deadline) {
      return nullptr;
    }
  }
  EnvelopePtr next = std::move(inbox_->messages.front());
  inbox_->messages.pop_front();
  inbox_->last_sender = ActorRef(next->sender());
  return next;
}

void TestProbe::ExpectNoMessage(absl::Duration window, const char* file, int line) {
  EnvelopePtr envelope = Next(kit_ != nullptr ? absl::ZeroDuration() : window);
  if (envelope != nullptr) {
    Fail(file, line, absl::StrCat("expected no message, got ", DescribeMessage(*envelope)));
  }
}

void TestProbe::Watch(const ActorRef& target) {
  ref_.Tell(WatchRequest{target});
  if (kit_ != nullptr) kit_->RunUntilIdle();
}

proto::Down TestProbe::ExpectDown(const ActorRef& target, const char* file, int line) {
  proto::Down down = Expect<proto::Down>(::testing::A<const proto::Down&>(), file, line);
  if (target && down.actor().id() != target.id()) {
    Fail(file, line,
         absl::StrCat("expected the Down of ", target.ToString(), ", got ", DescribeProto(down)));
  }
  return down;
}

ActorRef TestProbe::last_sender() const {
  MutexLock lock(inbox_->mu);
  return inbox_->last_sender;
}

size_t TestProbe::pending() const {
  MutexLock lock(inbox_->mu);
  return inbox_->messages.size();
}

void TestProbe::Fail(const char* file, int line, const std::string& what) const {
  ADD_FAILURE_AT(file, line) << "TestProbe " << ref_.ToString() << ": " << what;
}

std::string TestProbe::Within() const {
  return kit_ != nullptr ? " before the system went idle"
                         : absl::StrCat(" within ", absl::FormatDuration(timeout_));
}

}  // namespace troupe::testkit
