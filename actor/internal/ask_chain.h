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

#ifndef TROUPE_ACTOR_INTERNAL_ASK_CHAIN_H_
#define TROUPE_ACTOR_INTERNAL_ASK_CHAIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"

namespace troupe::actor_internal {

struct AskChain {
  struct Link {
    uint64_t cell_id;  // the actor whose handler waits
    uint64_t strand;   // which of its handler tasks (a serial per cell)
    std::string name;  // "name#id", for the error
  };
  std::vector<Link> links;  // oldest waiter first

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

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ASK_CHAIN_H_
