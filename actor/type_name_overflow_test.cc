// The cell keeps an actor class's name index in 16 bits: past the 65535th
// class an unnamed actor is "actor", never another class's name. In a test
// binary of its own, since the name table is the process's.

#include <cstdint>
#include <string>
#include <typeinfo>

#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/internal/type_names.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

class Early : public Actor {
 protected:
  Behavior MakeBehavior() override { return Behavior(); }
};

class Late : public Actor {
 protected:
  Behavior MakeBehavior() override { return Behavior(); }
};

TEST(TypeNameOverflowTest, AClassPastTheCellsSixteenBitsIsNamedActor) {
  ActorSystem system;
  const ActorRef early = system.Spawn<Early>();  // registers Early: a small index
  while (actor_internal::RegisterTypeName(typeid(int)) <= UINT16_MAX) {
  }
  const ActorRef late = system.Spawn<Late>();  // registered past 65535
  EXPECT_EQ(late.ToString(), "actor#" + std::to_string(late.id()));
  EXPECT_EQ(early.ToString(), "Early#" + std::to_string(early.id()));
  EXPECT_EQ(system.Spawn<Early>().ToString().substr(0, 6), "Early#");
}

}  // namespace
}  // namespace troupe
