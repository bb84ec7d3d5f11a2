#include "actor/internal/ask_chain.h"

#include "absl/strings/str_cat.h"
#include "actor/internal/type_names.h"

namespace troupe::actor_internal {

const AskChain* AskChainRef::Build() const {
  auto* chain = new AskChain;
  // As ChainForAsk() names a link: the actor's name, here its class's.
  chain->links.push_back({cell_id_, strand_, absl::StrCat(TypeNameAt(type_name_), "#", cell_id_)});
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
