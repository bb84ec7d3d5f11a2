// The actor graph: the tree, links, monitors and message flows all appear,
// and Graphviz accepts the DOT (when it is installed; the README's test
// command installs it).

#include "actor/graph.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_kit.h"

namespace troupe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testkit::TestKit;

struct MakeKid {};
struct WatchIt {
  ActorRef target;
};
struct LinkIt {
  ActorRef target;
};
struct Forward {
  ActorRef to;
  int times;
};

class Node : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<MakeKid>([this](const MakeKid&) { Spawn<Node>(SpawnOptions{.name = "kid"}); })
        .On<WatchIt>([this](const WatchIt& it) { Watch(it.target); })
        .On<LinkIt>([this](const LinkIt& it) { Link(it.target); })
        .On<Forward>([](const Forward& f) {
          for (int i = 0; i < f.times; ++i) f.to.Tell(std::string("hi"));
        })
        .On<std::string>([](const std::string&) {});
  }
};

// Runs `dot -Tsvg` on `text`; returns its exit status, or -1 if Graphviz is
// not installed.
int RunDot(const std::string& text) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) return -1;
  const std::string dir = ::testing::TempDir();
  const std::string in = absl::StrCat(dir, "/graph.dot"), out = absl::StrCat(dir, "/graph.svg");
  std::ofstream(in) << text;
  return std::system(absl::StrCat("dot -Tsvg ", in, " -o ", out).c_str());
}

TEST(GraphTest, DrawsTheTreeLinksMonitorsAndFlows) {
  TestKit kit;
  ActorRef boss = kit.system().Spawn<Node>(SpawnOptions{.name = "bo\"ss"});  // needs escaping
  ActorRef peer = kit.system().Spawn<Node>(SpawnOptions{.name = "peer"});
  ActorRef gone = kit.system().Spawn<Node>(SpawnOptions{.name = "gone"});
  boss.Tell(MakeKid{});
  peer.Tell(WatchIt{boss});
  peer.Tell(LinkIt{boss});
  kit.RunUntilIdle();
  kit.system().StartTracing();
  boss.Tell(Forward{peer, 3});
  peer.Tell(Forward{gone, 1});
  gone.Tell(proto::Stop());
  kit.RunUntilIdle();

  const std::string dot = ActorGraphDot(kit.system().Stats(), kit.system().CollectTrace());
  EXPECT_THAT(dot, HasSubstr("digraph troupe {"));
  EXPECT_THAT(dot, HasSubstr(R"(a1 [label="bo\"ss#1\nidle, mailbox 0, handled )"));
  EXPECT_THAT(dot, HasSubstr("a1 -> a4 [color=gray50]"));           // boss -> kid
  EXPECT_THAT(dot, HasSubstr("a1 -> a2 [style=dashed, dir=both"));  // the link, once
  EXPECT_THAT(dot, Not(HasSubstr("a2 -> a1 [style=dashed")));
  EXPECT_THAT(dot, HasSubstr("a2 -> a1 [style=dotted"));             // peer watches boss
  EXPECT_THAT(dot, HasSubstr(R"(label="3 msgs\nstd::string x3")"));  // boss -> peer
  EXPECT_THAT(dot, HasSubstr(R"dot(a3 [label="gone#3\n(stopped)")dot"));
  EXPECT_THAT(dot, HasSubstr("outside -> a1"));  // the test thread's Forward
  const int status = RunDot(dot);
  if (status == -1) GTEST_SKIP() << "Graphviz is not installed: the DOT was not parsed";
  EXPECT_EQ(status, 0) << dot;
}

TEST(GraphTest, WithoutATraceThereAreNoFlows) {
  TestKit kit;
  kit.system().Spawn<Node>();
  const std::string dot = ActorGraphDot(kit.system().Stats());
  EXPECT_THAT(dot, Not(HasSubstr("msgs")));
  EXPECT_THAT(dot, Not(HasSubstr("outside")));
  const int status = RunDot(dot);
  if (status == -1) GTEST_SKIP() << "Graphviz is not installed: the DOT was not parsed";
  EXPECT_EQ(status, 0) << dot;
}

}  // namespace
}  // namespace troupe
