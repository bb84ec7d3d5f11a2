// -----------------------------------------------------------------------------
// File: internal/ask_chain.h
// -----------------------------------------------------------------------------
//
// `AskChain`: which suspended handlers wait, one behind the other, for the
// reply to an ask. A handler task that asks from inside an actor extends
// the chain of the message it handles with itself, and the ask carries the
// result (on its AskReceiver, the request's sender). An actor whose
// non-reentrant handler is suspended receives an ask whose chain names
// that very handler: the ask can only be answered after the handler ends,
// which waits for the ask — a deadlock, failed at once with
// kFailedPrecondition instead of two timeouts (actor_tasks.cc).
//
//   std::shared_ptr<const AskChain> chain =
//       AskChain::Extend(parent, {cell_id, strand_serial, "a#1"});
//   if (const AskChain::Link* link = chain->Find(cell_id, is_waiting)) ...
//
// An ask carries its chain in an `AskChainRef` (below), which keeps the
// common one-link chain inline.

#ifndef TROUPE_ACTOR_INTERNAL_ASK_CHAIN_H_
#define TROUPE_ACTOR_INTERNAL_ASK_CHAIN_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace troupe::actor_internal {

struct AskChain {
  struct Link {
    uint64_t cell_id;  // the actor whose handler waits
    uint64_t strand;   // which of its handler tasks (a serial per cell)
    std::string name;  // "name#id", for the error
  };
  std::vector<Link> links;  // oldest waiter first

  // A link's name: "name#id", as the cycle error shows it.
  static std::string LinkName(absl::string_view actor_name, uint64_t cell_id) {
    return absl::StrCat(actor_name, "#", cell_id);
  }

  // `parent` (may be null) with one more waiter at its end.
  static std::shared_ptr<const AskChain> Extend(const AskChain* parent, Link link) {
    auto chain = std::make_shared<AskChain>();
    if (parent != nullptr) chain->links = parent->links;
    chain->links.push_back(std::move(link));
    return chain;
  }

  // The first link of `cell_id` for which `waiting(strand)` holds, or null.
  const Link* Find(uint64_t cell_id, absl::FunctionRef<bool(uint64_t)> waiting) const {
    for (const Link& link : links) {
      if (link.cell_id == cell_id && waiting(link.strand)) return &link;
    }
    return nullptr;
  }
};

// What an ask carries of its chain (its receiver holds one):
//   * nothing: asked from outside a handler task;
//   * one link, inline: asked by a handler of an actor spawned without a
//     name, serving a request that is in no chain — the usual ask;
//   * the asking handler's shared chain: every other case.
// The inline form exists because an ask is a hot path (bench K1): sharing
// the chain costs two atomic read-modify-writes per ask (the receiver's
// reference, taken on the asker's thread and dropped on the replier's),
// about a tenth of K1's time per ask, for a chain that is almost never
// read. The one link it would hold needs no name stored: an unnamed
// actor's name is its class's, from the immortal table of
// internal/type_names.h. Readers (a suspended actor checking a request
// for a cycle, a handler extending the chain) are rare: the first builds
// the one-link chain and publishes it for the others.
class AskChainRef {
 public:
  AskChainRef() = default;
  AskChainRef(const AskChainRef&) = delete;
  AskChainRef& operator=(const AskChainRef&) = delete;
  // acquire: a chain another thread built is seen whole before it is freed.
  ~AskChainRef() { delete built_.load(std::memory_order_acquire); }

  // Before the ask is sent (its receiver is not shared yet): one of these.
  void Share(std::shared_ptr<const AskChain> chain) { shared_ = std::move(chain); }
  void Inline(uint64_t cell_id, uint64_t strand, uint32_t type_name) {
    cell_id_ = cell_id;
    strand_ = strand;
    type_name_ = type_name;
    inline_ = true;
  }

  // The chain, or null. Any thread, concurrently (a request forwarded
  // with its sender may be read by two actors at once).
  const AskChain* get() const {
    if (!inline_) return shared_.get();
    // acquire: pairs with the publishing CAS, so the chain's contents are
    // seen whole.
    const AskChain* built = built_.load(std::memory_order_acquire);
    return built != nullptr ? built : Build();
  }

 private:
  // The inline link as a chain, published once: a losing builder frees its
  // copy and takes the winner's (ask_chain.cc).
  const AskChain* Build() const;

  std::shared_ptr<const AskChain> shared_;
  uint64_t cell_id_ = 0;
  uint64_t strand_ = 0;
  uint32_t type_name_ = 0;
  bool inline_ = false;
  mutable std::atomic<const AskChain*> built_{nullptr};
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ASK_CHAIN_H_
