// Uses troupe from another workspace: its logger and its protobuf messages.
#include "actor/system.pb.h"
#include "base/logging.h"

int main() {
  troupe::proto::Down down;
  down.mutable_actor()->set_name("consumer");
  down.mutable_reason()->set_kind(troupe::proto::ExitReason::NORMAL);
  troupe::LogInfo("consumer built against troupe: {}", down.ShortDebugString());
  return down.actor().name() == "consumer" ? 0 : 1;
}
