// samples/counter: the counter actor, served by ask/reply.
//
//   troupe::ActorRef counter = system.Spawn<Counter>(&unblock);
//   counter.Tell(increment);                                   // fire and forget
//   counter.Ask<counter::Count>(counter::Get(), timeout);      // the count
//
// A std::string message holds it up until `unblock` is notified (the
// sample uses it to make an ask miss its deadline).

#ifndef TROUPE_SAMPLES_COUNTER_COUNTER_ACTOR_H_
#define TROUPE_SAMPLES_COUNTER_COUNTER_ACTOR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "samples/counter/counter.pb.h"
#include "threads/notification.h"

class Counter : public troupe::Actor {
 public:
  explicit Counter(troupe::Notification* unblock) : unblock_(unblock) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        // Returning a value replies to an asker; a Tell has no one to reply to.
        .On<counter::Increment>(
            [this](const counter::Increment& inc) -> absl::StatusOr<counter::Count> {
              if (inc.by() <= 0) {
                return absl::InvalidArgumentError(
                    absl::StrCat("increment by ", inc.by(), ": must be > 0"));
              }
              count_ += inc.by();
              return Current();
            })
        .On<counter::Get>([this](const counter::Get&) { return Current(); })
        // Holds the counter up until main says so: the last ask times out.
        .On<std::string>([this](const std::string&) { unblock_->WaitForNotification(); });
  }

 private:
  counter::Count Current() const {
    counter::Count count;
    count.set_value(count_);
    return count;
  }

  troupe::Notification* unblock_;
  int64_t count_ = 0;
};

#endif  // TROUPE_SAMPLES_COUNTER_COUNTER_ACTOR_H_
