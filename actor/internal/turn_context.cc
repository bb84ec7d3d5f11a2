#include "actor/internal/turn_context.h"

#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "actor/internal/actor_cell.h"
#include "base/logging.h"
#include "threads/internal/future_state.h"

namespace troupe::actor_internal {

namespace {

// Future::Get() waiting inside a turn (debug builds report it): warn once
// per call site. The log tag names the actor and its message.
void WarnBlockingWaitInTurn(const void* call_site) {
  if (RunningCell() == nullptr) return;
  static std::mutex mu;
  static auto* warned = new absl::flat_hash_set<const void*>();  // never freed: static
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!warned->insert(call_site).second) return;
  }
  LogWarning(ActorLog(),
             "Future::Get() blocks this actor's turn (call site {}): co_await the future in a "
             "handler that returns a Task, or use Actor::Ask's callback",
             call_site);
}

const bool kBlockingWaitObserverInstalled =
    (threads_internal::SetBlockingWaitObserver(&WarnBlockingWaitInTurn), true);

}  // namespace

void AppendRunningActorTag(std::string* out) {
  const ActorCell* cell = RunningCell();
  if (cell == nullptr) return;
  absl::StrAppend(out, cell->name(), "#", cell->id());
  if (const Envelope* envelope = cell->current())
    absl::StrAppend(out, " <", envelope->type().name(), ">");
}

}  // namespace troupe::actor_internal
