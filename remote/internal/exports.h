// -----------------------------------------------------------------------------
// File: internal/exports.h
// -----------------------------------------------------------------------------
//
// `Exports`: the local receivers this node has named to other nodes. A ref
// that leaves the node (a sender, a ref inside a message) is entered here
// under a number, and mail that comes back for that number finds it.
//
//   uint64_t id = exports.Export(sender);       // nonzero
//   actor_internal::AddressablePtr back = exports.Find(id);  // null once gone
//
// Entries hold their receivers; an entry whose receiver has finished (an
// actor that stopped, an ask that completed) is swept out when the table
// has doubled since its last sweep, so the table stays proportional to the
// live receivers that were ever sent out, and sweeping is amortised O(1).
//
// Thread-safety: any thread.

#ifndef TROUPE_REMOTE_INTERNAL_EXPORTS_H_
#define TROUPE_REMOTE_INTERNAL_EXPORTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "actor/internal/addressable.h"
#include "actor/message.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {

class Exports {
 public:
  Exports() = default;
  Exports(const Exports&) = delete;
  Exports& operator=(const Exports&) = delete;

  // The number `receiver` is known by to other nodes; the same number for
  // the same receiver while it is entered. Never 0.
  uint64_t Export(const actor_internal::AddressablePtr& receiver) ABSL_LOCKS_EXCLUDED(mu_);

  // The receiver exported as `id`, or null.
  actor_internal::AddressablePtr Find(uint64_t id) const ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // Drops every entry (the node is shutting down).
  void Clear() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr size_t kMinSweepSize = 1024;

  // Moves the entries of finished receivers into `swept`.
  void SweepFinished(std::vector<actor_internal::AddressablePtr>& swept)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, actor_internal::AddressablePtr> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<const actor_internal::Addressable*, uint64_t> by_receiver_
      ABSL_GUARDED_BY(mu_);
  size_t sweep_at_ ABSL_GUARDED_BY(mu_) = kMinSweepSize;
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_EXPORTS_H_
