#include "actor/behavior.h"

#include <string>

#include "actor/message.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

template <int N>
struct Msg {};

template <int N>
void AddHandler(Behavior& b, int* hit) {
  b.On<Msg<N>>([hit](const Msg<N>&) { *hit = N; });
}

template <int... Ns>
void AddAll(Behavior& b, int* hit, std::integer_sequence<int, Ns...>) {
  (AddHandler<Ns>(b, hit), ...);
}

template <int N>
void Dispatch(Behavior& b) {
  EnvelopePtr e = MakeEnvelope(Msg<N>());
  Behavior::Handler* h = b.Find(e->type());
  ASSERT_NE(h, nullptr) << N;
  (*h)(*e, nullptr);
}

TEST(BehaviorTest, SmallAndIndexedBehavioursFindEveryHandler) {
  for (int size : {3, 20}) {
    Behavior b;
    int hit = -1;
    if (size == 3) {
      AddAll(b, &hit, std::make_integer_sequence<int, 3>());
    } else {
      AddAll(b, &hit, std::make_integer_sequence<int, 20>());
    }
    EXPECT_EQ(b.size(), static_cast<size_t>(size));
    Dispatch<0>(b);
    EXPECT_EQ(hit, 0);
    Dispatch<2>(b);
    EXPECT_EQ(hit, 2);
    if (size == 20) {
      Dispatch<19>(b);
      EXPECT_EQ(hit, 19);
    }
    EXPECT_EQ(b.Find(MessageTypeOf<std::string>()), nullptr);
  }
}

TEST(BehaviorTest, ASecondHandlerForATypeReplacesTheFirst) {
  int hit = 0;
  Behavior b = Behavior().On<int>([&](int) { hit = 1; }).On<int>([&](int) { hit = 2; });
  EXPECT_EQ(b.size(), 1u);
  EnvelopePtr e = MakeEnvelope(5);
  (*b.Find(e->type()))(*e, nullptr);
  EXPECT_EQ(hit, 2);
}

TEST(BehaviorTest, HandlersTakeTheMessageInEveryUsualWay) {
  std::string got;
  Behavior b = Behavior()
                   .On<std::string>([&](std::string s) { got = s; })  // by value: moved in
                   .On<int>([&](int& n) { got = std::to_string(++n); })
                   .On<double>([&](double&& d) { got = std::to_string(static_cast<int>(d)); });
  EnvelopePtr s = MakeEnvelope(std::string("moved"));
  (*b.Find(s->type()))(*s, nullptr);
  EXPECT_EQ(got, "moved");
  EnvelopePtr n = MakeEnvelope(41);
  (*b.Find(n->type()))(*n, nullptr);
  EXPECT_EQ(got, "42");
  EnvelopePtr d = MakeEnvelope(7.0);
  (*b.Find(d->type()))(*d, nullptr);
  EXPECT_EQ(got, "7");
}

TEST(MessageTest, TypeNamesAndLanes) {
  EXPECT_EQ(MessageTypeOf<std::string>().name(), "std::string");
  EXPECT_EQ(MessageTypeOf<int>().name(), "int");
  EXPECT_EQ(MessageTypeOf<proto::Stop>().name(), "troupe.proto.Stop");
  EXPECT_TRUE(MessageTypeOf<proto::Kill>().is_system());
  EXPECT_FALSE(MessageTypeOf<proto::ExitReason>().is_system());
  EXPECT_EQ(&MessageTypeOf<const int&>(), &MessageTypeOf<int>());
  EXPECT_EQ(MakeEnvelope(proto::Down())->lane(), MailboxNode::Lane::kSystem);
  EXPECT_EQ(MakeEnvelope(1)->lane(), MailboxNode::Lane::kOrdinary);
}

}  // namespace
}  // namespace troupe
