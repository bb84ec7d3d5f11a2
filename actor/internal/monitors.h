// -----------------------------------------------------------------------------
// File: internal/monitors.h
// -----------------------------------------------------------------------------
//
// `MonitorTable`: who watches a cell and whom it is linked to: the half of
// watches and links that other cells write. Watching cell W of target T:
// W's turn records T in its own watch list (turn state, no lock), then
// adds itself to T's table here; when T finishes, it seals its table and
// sends each watcher a Down, each link an Exit (ActorCell::Finish, in
// lifecycle.cc). The rest of the protocol (Watch, Link, and where a Down or
// Exit is delivered) is ActorCell's, in monitors.cc.
//
//   proto::ExitReason final_reason;
//   if (!table.AddWatcher(AddressablePtr(watcher), &final_reason)) {
//     // the target has finished already: send the Down now, with final_reason
//   }
//
// Thread-safety: every method locks the table's own mutex; it is shared
// between the cell and the cells that watch or link it. Nothing else is
// done under the lock (no delivery, no other cell's lock), so it cannot
// deadlock.

#ifndef TROUPE_ACTOR_INTERNAL_MONITORS_H_
#define TROUPE_ACTOR_INTERNAL_MONITORS_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "actor/internal/addressable.h"
#include "actor/system.pb.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {

enum class AddResult : uint8_t {
  kAdded,
  kAlreadyThere,  // linking twice is one link
  kSealed,        // the cell has finished: `final_reason` says how
};

class MonitorTable {
 public:
  // kSealed, with the reason the cell finished with, once Seal() has run.
  AddResult AddWatcher(AddressablePtr watcher, proto::ExitReason* final_reason);
  void RemoveWatcher(const Addressable* watcher);
  AddResult AddLink(AddressablePtr other, proto::ExitReason* final_reason);
  // True if `other` was linked (and is no longer).
  bool RemoveLink(const Addressable* other);

  // MonitorTable::Seal()
  //
  // The cell finished with `reason`: later adds fail with it. Hands back
  // the watchers and links to notify.
  void Seal(const proto::ExitReason& reason, std::vector<AddressablePtr>* watchers,
            std::vector<AddressablePtr>* links);

  // For stats: the ids on each side.
  void CollectIds(std::vector<uint64_t>* links, std::vector<uint64_t>* watchers) const;

 private:
  mutable Mutex mu_;
  bool sealed_ ABSL_GUARDED_BY(mu_) = false;
  proto::ExitReason final_reason_ ABSL_GUARDED_BY(mu_);
  std::vector<AddressablePtr> watchers_ ABSL_GUARDED_BY(mu_);
  std::vector<AddressablePtr> links_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_MONITORS_H_
