#include "actor/spawn.h"

#include "absl/strings/str_cat.h"

namespace troupe {

absl::Status SpawnOptions::Validate() const {
  if (mailbox_capacity > kMaxMailboxCapacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SpawnOptions::mailbox_capacity ", mailbox_capacity,
        " is more than a mailbox can enforce (at most ", kMaxMailboxCapacity, "; 0 is unbounded)"));
  }
  if (mailbox_capacity > 0 && overflow.kind() == OverflowPolicy::Kind::kRedirect &&
      !overflow.redirect_to().target()) {
    return absl::InvalidArgumentError(
        "SpawnOptions::overflow redirects to an empty ActorRef: name the actor that takes the "
        "overflow");
  }
  if (!IsValidPriority(priority)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SpawnOptions::priority ", static_cast<int>(priority), " is not kHigh, kNormal or kLow"));
  }
  return absl::OkStatus();
}

}  // namespace troupe
