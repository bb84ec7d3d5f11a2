#include "actor/internal/turn_context.h"

#include "absl/strings/str_cat.h"
#include "actor/internal/actor_cell.h"

namespace troupe::actor_internal {

void AppendRunningActorTag(std::string* out) {
  const ActorCell* cell = RunningCell();
  if (cell == nullptr) return;
  absl::StrAppend(out, cell->name(), "#", cell->id());
  if (const Envelope* envelope = cell->current())
    absl::StrAppend(out, " <", envelope->type().name(), ">");
}

}  // namespace troupe::actor_internal
