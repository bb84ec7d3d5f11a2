// samples/ping_pong: two actors bounce protobuf messages and report the rate.
//
//   bazel run --config=opt //samples/ping_pong -- 1000000
//
// The pinger sends Ping to the ponger with itself as the sender; the ponger
// answers each Ping with a Pong through Reply(). When the count runs out,
// the pinger fulfils a promise that main() waits on.

#include <cstdio>
#include <cstdlib>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "samples/ping_pong/ping_pong.pb.h"
#include "threads/future.h"

class Ponger : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<ping_pong::Ping>([](const ping_pong::Ping& ping) {
      ping_pong::Pong pong;
      pong.set_remaining(ping.remaining());
      return pong;  // a returned message is the reply to the sender
    });
  }
};

class Pinger : public troupe::Actor {
 public:
  Pinger(troupe::ActorRef ponger, troupe::Promise<int64_t> done)
      : ponger_(std::move(ponger)), done_(std::move(done)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<ping_pong::Ping>([this](ping_pong::Ping& start) { Send(ponger_, std::move(start)); })
        .On<ping_pong::Pong>([this](const ping_pong::Pong& pong) {
          ++round_trips_;
          if (pong.remaining() <= 1) {
            done_.SetValue(round_trips_);
            return;
          }
          ping_pong::Ping ping;
          ping.set_remaining(pong.remaining() - 1);
          Send(ponger_, std::move(ping));
        });
  }

 private:
  troupe::ActorRef ponger_;
  troupe::Promise<int64_t> done_;
  int64_t round_trips_ = 0;
};

int main(int argc, char** argv) {
  const int64_t round_trips = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  if (round_trips < 1) {
    std::fprintf(stderr, "usage: ping_pong [round trips >= 1]\n");
    return 2;
  }
  troupe::ActorSystem system;
  troupe::Promise<int64_t> done;
  troupe::Future<int64_t> finished = done.GetFuture();
  troupe::ActorRef ponger = system.Spawn<Ponger>();
  troupe::ActorRef pinger = system.Spawn<Pinger>(ponger, std::move(done));

  const absl::Time start = absl::Now();
  ping_pong::Ping first;
  first.set_remaining(round_trips);
  pinger.Tell(std::move(first));
  absl::StatusOr<int64_t> counted = finished.Get();
  const absl::Duration elapsed = absl::Now() - start;
  if (!counted.ok()) {
    std::fprintf(stderr, "ping_pong failed: %s\n", counted.status().ToString().c_str());
    return 1;
  }
  const double messages = 2.0 * static_cast<double>(*counted);
  std::printf("%lld round trips (%.0f messages) in %s: %.0f ns per message, %.2f M messages/s\n",
              static_cast<long long>(*counted), messages, absl::FormatDuration(elapsed).c_str(),
              absl::ToDoubleNanoseconds(elapsed) / messages,
              messages / absl::ToDoubleSeconds(elapsed) / 1e6);
  system.Shutdown();
  std::printf("dead letters: %lld\n", static_cast<long long>(system.dead_letters().total()));
  return 0;
}
