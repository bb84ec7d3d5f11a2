// -----------------------------------------------------------------------------
// File: test_probe.h
// -----------------------------------------------------------------------------
//
// `TestProbe`: an actor the test holds, which records what it receives so
// the test can expect it, reply as it, and watch others through it.
//
//   troupe::testkit::TestKit kit;                     // or a real ActorSystem
//   troupe::testkit::TestProbe probe(kit);
//   troupe::ActorRef echo = kit.system().Spawn<Echo>();
//   probe.Send(echo, test::Ping());                   // from the probe
//   test::Pong pong = probe.ExpectMessage<test::Pong>();
//   probe.ExpectMessageThat<test::Pong>(PartiallyEqualsProto(pong));
//   probe.ExpectNoMessage();
//   probe.Watch(echo);
//   echo.Tell(troupe::proto::Stop());
//   troupe::proto::Down down = probe.ExpectDown(echo);
//
// With a TestKit, an expectation first runs the system until idle, then
// looks; nothing waits. With a real ActorSystem, an expectation waits up to
// the probe's timeout, and ExpectNoMessage() waits its whole window.
//
// A failed expectation is a non-fatal GoogleTest failure at the caller's
// line that prints what did arrive (protobuf text format); the message it
// was looking at is consumed, and the call returns a default T.
//
// Thread-safety: use a probe from the test's thread. The probe actor itself
// runs wherever its system runs it.

#ifndef TROUPE_TESTING_TEST_PROBE_H_
#define TROUPE_TESTING_TEST_PROBE_H_

#include <deque>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/actor_system.h"
#include "actor/message.h"
#include "actor/system.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/describe.h"
#include "testing/test_kit.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe::testkit {

class TestProbe {
 public:
  // Real threads: expectations wait up to `timeout`.
  explicit TestProbe(ActorSystem& system, std::string name = "probe",
                     absl::Duration timeout = absl::Seconds(5));
  // Deterministic: expectations run `kit` until idle instead of waiting.
  explicit TestProbe(TestKit& kit, std::string name = "probe");
  ~TestProbe();
  TestProbe(const TestProbe&) = delete;
  TestProbe& operator=(const TestProbe&) = delete;

  const ActorRef& ref() const { return ref_; }

  // TestProbe::ExpectMessage() / ExpectMessageThat()
  //
  // The next message must be a T (and match `matcher`); returns it.
  template <typename T>
  T ExpectMessage(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return Expect<T>(::testing::A<const T&>(), file, line);
  }
  template <typename T, typename Matcher>
  T ExpectMessageThat(Matcher matcher, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
    return Expect<T>(::testing::SafeMatcherCast<const T&>(matcher), file, line);
  }

  // TestProbe::ExpectNoMessage()
  //
  // Nothing arrives: with a TestKit, by the time the system is idle; with
  // real threads, within `window`.
  void ExpectNoMessage(absl::Duration window = absl::Milliseconds(100),
                       const char* file = __builtin_FILE(), int line = __builtin_LINE());

  // TestProbe::Watch() / ExpectDown()
  //
  // Watches `target` from the probe; ExpectDown() expects the Down that
  // follows (from `target`, if given) and returns it.
  void Watch(const ActorRef& target);
  proto::Down ExpectDown(const ActorRef& target = ActorRef(), const char* file = __builtin_FILE(),
                         int line = __builtin_LINE());

  // TestProbe::Send() / Reply()
  //
  // Send(): tells `to` the message with the probe as its sender, so replies
  // come back here. Reply(): answers the sender of the last message the
  // probe expected (an ask's receiver too).
  template <typename T>
  void Send(const ActorRef& to, T&& message) {
    to.Tell(std::forward<T>(message), ref_);
  }
  template <typename T>
  void Reply(T&& message) {
    ActorRef to = last_sender();
    if (!to) {
      ADD_FAILURE() << "TestProbe::Reply(): no sender to reply to";
      return;
    }
    to.Tell(std::forward<T>(message), ref_);
  }
  ActorRef last_sender() const;

  // Messages received and not yet expected.
  size_t pending() const;

 private:
  struct Inbox;
  class ProbeActor;
  struct WatchRequest {
    ActorRef target;
  };

  // The next message, or null if none came (after running the kit, or
  // within the timeout).
  EnvelopePtr Next(absl::Duration timeout);
  void Fail(const char* file, int line, const std::string& what) const;

  template <typename T>
  T Expect(const ::testing::Matcher<const T&>& matcher, const char* file, int line) {
    static_assert(std::is_default_constructible_v<T>,
                  "TestProbe expectations return T(), which must exist, on failure");
    EnvelopePtr envelope = Next(timeout_);
    if (envelope == nullptr) {
      Fail(file, line,
           "expected a " + MessageTypeOf<T>().name() + ", but nothing arrived" + Within());
      return T();
    }
    if (!envelope->Is<T>()) {
      Fail(file, line,
           "expected a " + MessageTypeOf<T>().name() + ", got " + DescribeMessage(*envelope));
      return T();
    }
    ::testing::StringMatchResultListener listener;
    if (!matcher.MatchAndExplain(envelope->As<T>(), &listener)) {
      std::ostringstream description;
      matcher.DescribeTo(&description);
      Fail(file, line,
           "the " + MessageTypeOf<T>().name() + " that arrived (" + DescribeMessage(*envelope) +
               ") does not match: expected one that " + description.str() + "; " + listener.str());
    }
    return std::move(envelope->As<T>());
  }
  std::string Within() const;

  TestKit* const kit_;
  const absl::Duration timeout_;
  std::shared_ptr<Inbox> inbox_;
  ActorRef ref_;
};

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_TEST_PROBE_H_
