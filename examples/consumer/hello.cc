// Uses troupe from another workspace: an actor answering an ask, with
// troupe's protobuf lifecycle messages and its logger.
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/system.pb.h"
#include "base/logging.h"

// Answers a Down with its reason's detail.
class Echo : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<troupe::proto::Down>(
        [](const troupe::proto::Down& down) { return down.actor().name(); });
  }
};

int main() {
  troupe::ActorSystem system;
  troupe::ActorRef echo = system.Spawn<Echo>();
  troupe::proto::Down down;
  down.mutable_actor()->set_name("consumer");
  down.mutable_reason()->set_kind(troupe::proto::ExitReason::NORMAL);
  absl::StatusOr<std::string> name = echo.Ask<std::string>(down, absl::Seconds(10)).Get();
  troupe::LogInfo("consumer built against troupe; the actor answered: {}",
                  name.ok() ? *name : name.status().ToString());
  return name.ok() && *name == "consumer" ? 0 : 1;
}
