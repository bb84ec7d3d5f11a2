// AskChainRef's rare path: building the inline one-link chain on first read.

#include "actor/internal/ask_chain.h"

#include "actor/internal/type_names.h"

namespace troupe::actor_internal {

const AskChain* AskChainRef::Build() const {
  auto* chain = new AskChain;
  // An unnamed actor's name is its class's.
  chain->links.push_back({cell_id_, strand_, AskChain::LinkName(TypeNameAt(type_name_), cell_id_)});
  const AskChain* expected = nullptr;
  // release: publishes the chain's contents to get()'s acquire load;
  // acquire on failure: the winner's chain is read next.
  if (built_.compare_exchange_strong(expected, chain, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return chain;
  }
  delete chain;
  return expected;
}

}  // namespace troupe::actor_internal
