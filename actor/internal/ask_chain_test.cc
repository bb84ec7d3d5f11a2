// AskChainRef: the three forms an ask's chain takes, and the inline form
// built once when many threads read it at once.

#include "actor/internal/ask_chain.h"

#include <memory>
#include <thread>
#include <vector>

#include "actor/internal/type_names.h"
#include "gtest/gtest.h"
#include "threads/barrier.h"

namespace troupe::actor_internal {
namespace {

class Asker {};

TEST(AskChainRefTest, AnAskFromOutsideAHandlerCarriesNoChain) {
  AskChainRef ref;
  EXPECT_EQ(ref.get(), nullptr);
}

TEST(AskChainRefTest, ASharedChainIsTheAskersOwn) {
  auto chain = AskChain::Extend(nullptr, {7, 1, "a#7"});
  AskChainRef ref;
  ref.Share(chain);
  EXPECT_EQ(ref.get(), chain.get());
  EXPECT_EQ(chain.use_count(), 2);
}

TEST(AskChainRefTest, TheInlineLinkIsNamedAfterTheActorsClass) {
  AskChainRef ref;
  ref.Inline(/*cell_id=*/42, /*strand=*/3, TypeNameIndex<Asker>());
  const AskChain* chain = ref.get();
  ASSERT_NE(chain, nullptr);
  ASSERT_EQ(chain->links.size(), 1u);
  EXPECT_EQ(chain->links[0].cell_id, 42u);
  EXPECT_EQ(chain->links[0].strand, 3u);
  EXPECT_EQ(chain->links[0].name, "Asker#42");
  EXPECT_EQ(ref.get(), chain) << "built once, then the same chain";
  // What a handler serving the ask builds on it.
  auto extended = AskChain::Extend(chain, {9, 1, "b#9"});
  ASSERT_EQ(extended->links.size(), 2u);
  EXPECT_EQ(extended->links[0].name, "Asker#42");
}

// Readers race to build the inline chain (a request forwarded with its
// sender is read by two actors at once): each sees the same, whole chain,
// and the losers' copies are freed (ASAN reports a leak otherwise).
TEST(AskChainRefTest, ConcurrentReadersShareOneBuiltChain) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    AskChainRef ref;
    ref.Inline(round + 1, 1, TypeNameIndex<Asker>());
    Barrier start(kThreads);
    std::vector<const AskChain*> seen(kThreads);
    std::vector<std::thread> readers;
    for (int t = 0; t < kThreads; ++t) {
      readers.emplace_back([&, t] {
        start.ArriveAndWait();
        seen[t] = ref.get();
        // Read it whole (TSAN checks the publication).
        if (seen[t]->links.size() != 1 || seen[t]->links[0].cell_id != uint64_t(round + 1)) {
          seen[t] = nullptr;
        }
      });
    }
    for (std::thread& reader : readers) reader.join();
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_NE(seen[t], nullptr) << "round " << round << " reader " << t;
      EXPECT_EQ(seen[t], seen[0]) << "round " << round << " reader " << t;
    }
  }
}

}  // namespace
}  // namespace troupe::actor_internal
