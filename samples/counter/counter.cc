// samples/counter: a counter actor served by ask/reply.
//
//   bazel run //samples/counter
//
// Four threads tell the counter to increment (fire and forget); then main
// asks it for the count, asks it to add a bad amount (an error reply), finds
// it by name in the registry, and asks with a deadline it cannot meet.

#include <cstdio>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "samples/counter/counter.pb.h"
#include "samples/counter/counter_actor.h"
#include "threads/notification.h"
#include "threads/thread.h"

int main() {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10'000;
  troupe::Notification unblock;
  troupe::ActorSystem system;
  troupe::SpawnOptions options;
  options.name = "counter";
  troupe::ActorRef counter = system.Spawn<Counter>(options, &unblock);
  if (absl::Status s = system.registry().Register("counter", counter); !s.ok()) {
    std::fprintf(stderr, "register: %s\n", s.ToString().c_str());
    return 1;
  }

  std::vector<troupe::Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("incrementer", [counter] {
      counter::Increment one;
      one.set_by(1);
      for (int i = 0; i < kPerThread; ++i) counter.Tell(one);
    });
  }
  for (troupe::Thread<void>& t : threads) (void)t.Join();

  // The incrementers have been joined: all their mail is queued ahead of this ask.
  absl::StatusOr<counter::Count> count =
      counter.Ask<counter::Count>(counter::Get(), absl::Seconds(5)).Get();
  std::printf(
      "count after %d tells from %d threads: %s\n", kThreads * kPerThread, kThreads,
      count.ok() ? std::to_string(count->value()).c_str() : count.status().ToString().c_str());

  counter::Increment bad;
  bad.set_by(-5);
  absl::StatusOr<counter::Count> refused = counter.Ask<counter::Count>(bad, absl::Seconds(5)).Get();
  std::printf("asking to add -5: %s\n", refused.status().ToString().c_str());

  troupe::ActorRef found = system.registry().Lookup("counter");
  counter::Increment two;
  two.set_by(2);
  absl::StatusOr<counter::Count> via_name =
      found ? found.Ask<counter::Count>(two, absl::Seconds(5)).Get()
            : absl::StatusOr<counter::Count>(absl::NotFoundError("counter"));
  std::printf("found %s by name; +2 makes %s\n", found ? found.ToString().c_str() : "nothing",
              via_name.ok() ? std::to_string(via_name->value()).c_str()
                            : via_name.status().ToString().c_str());

  counter.Tell(std::string("hold"));
  absl::StatusOr<counter::Count> late =
      counter.Ask<counter::Count>(counter::Get(), absl::Milliseconds(50)).Get();
  std::printf("an ask with a 50ms deadline while it is busy: %s\n",
              late.status().ToString().c_str());
  unblock.Notify();

  system.Shutdown();
  std::printf("dead letters: %lld (the late reply)\n",
              static_cast<long long>(system.dead_letters().total()));
  return 0;
}
