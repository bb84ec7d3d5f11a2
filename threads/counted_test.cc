#include "threads/internal/counted.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe::threads_internal {
namespace {

std::atomic<int> live_objects{0};
std::atomic<int> allocations{0};
std::atomic<int> deallocations{0};

struct Tracked : Counted {
  explicit Tracked(int v) : value(v) { live_objects.fetch_add(1); }
  ~Tracked() { live_objects.fetch_sub(1); }
  int value;
};

// Derived, bigger, with a destructor of its own: the last owner must free
// it as what it is, through a pointer to its base.
struct TrackedWithName : Tracked {
  TrackedWithName(int v, std::string n) : Tracked(v), name(std::move(n)) {}
  std::string name;
};

// An allocator with state (where it counts), to see that NewCountedWith's
// memory goes back to the allocator it came from.
template <typename T>
struct CountingAllocator {
  using value_type = T;
  explicit CountingAllocator(std::atomic<int>* freed) : freed(freed) {}
  template <typename U>
  CountingAllocator(const CountingAllocator<U>& other) noexcept : freed(other.freed) {}  // NOLINT
  T* allocate(size_t n) {
    allocations.fetch_add(1);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    freed->fetch_add(1);
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const CountingAllocator<U>& other) const {
    return freed == other.freed;
  }
  std::atomic<int>* freed;
};

class CountedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    live_objects = 0;
    allocations = 0;
    deallocations = 0;
  }
};

TEST_F(CountedTest, TheLastOfTheOwnersMadeAtOnceFreesTheObject) {
  Tracked* object = NewCountedWith<Tracked>(CountingAllocator<char>(&deallocations), 2, 7);
  auto first = CountedPtr<Tracked>::Adopt(object);
  {
    auto second = CountedPtr<Tracked>::Adopt(object);
    EXPECT_EQ(second->value, 7);
  }
  EXPECT_EQ(live_objects, 1);
  EXPECT_EQ(deallocations, 0);
  first.reset();
  EXPECT_EQ(live_objects, 0);
  EXPECT_EQ(allocations, 1);
  EXPECT_EQ(deallocations, 1);
}

TEST_F(CountedTest, APairIsTwoOwnersOfOneObject) {
  auto [first, second] = NewCountedPairWith<Tracked>(CountingAllocator<char>(&deallocations), 5);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(first->value, 5);
  second.reset();
  EXPECT_EQ(live_objects, 1);
  first.reset();
  EXPECT_EQ(live_objects, 0);
  EXPECT_EQ(deallocations, 1);
}

TEST_F(CountedTest, CopiesAddOwnersAndMovesDoNot) {
  auto one = CountedPtr<Tracked>::Adopt(NewCounted<Tracked>(1, 1));
  CountedPtr<Tracked> copy = one;
  CountedPtr<Tracked> moved = std::move(one);
  EXPECT_TRUE(one == nullptr);
  EXPECT_EQ(copy.get(), moved.get());
  copy = nullptr;
  EXPECT_EQ(live_objects, 1);  // `moved` still owns it
  moved = CountedPtr<Tracked>();
  EXPECT_EQ(live_objects, 0);
}

TEST_F(CountedTest, ADerivedObjectIsFreedAsItselfThroughItsBase) {
  TrackedWithName* object = NewCountedWith<TrackedWithName>(CountingAllocator<char>(&deallocations),
                                                            2, 3, std::string(100, 'x'));
  auto derived = CountedPtr<TrackedWithName>::Adopt(object);
  CountedPtr<Tracked> base = CountedPtr<TrackedWithName>::Adopt(object);  // converting move
  EXPECT_EQ(base->value, 3);
  derived.reset();
  EXPECT_EQ(live_objects, 1);
  base.reset();  // frees a TrackedWithName: its string too (ASAN would see a leak)
  EXPECT_EQ(live_objects, 0);
  EXPECT_EQ(deallocations, 1);
}

TEST_F(CountedTest, AThrowingConstructorGivesItsMemoryBack) {
  struct Throws : Counted {
    Throws() { throw std::runtime_error("no"); }
  };
  EXPECT_THROW((NewCountedWith<Throws>(CountingAllocator<char>(&deallocations), 1)),
               std::runtime_error);
  EXPECT_EQ(allocations, 1);
  EXPECT_EQ(deallocations, 1);
}

// Owners copied and dropped on many threads at once: the object is freed
// exactly once, after every owner's last use of it (TSAN checks the
// ordering of those uses before the free).
TEST_F(CountedTest, OwnersDroppedOnManyThreadsFreeOnce) {
  const int kThreads = 4;
  const int64_t kObjects = ScaledCount(20'000, 500);
  for (int64_t round = 0; round < kObjects; round += 100) {
    std::vector<CountedPtr<Tracked>> objects;
    for (int i = 0; i < 100; ++i) {
      objects.push_back(CountedPtr<Tracked>::Adopt(NewCounted<Tracked>(1, i)));
    }
    std::vector<Thread<void>> workers;
    std::atomic<int64_t> sum{0};
    for (int t = 0; t < kThreads; ++t) {
      std::vector<CountedPtr<Tracked>> mine = objects;  // copies: owners added
      workers.emplace_back("owner", [mine = std::move(mine), &sum]() mutable {
        for (CountedPtr<Tracked>& object : mine) {
          CountedPtr<Tracked> again = object;
          sum.fetch_add(again->value, std::memory_order_relaxed);
          object.reset();
        }
      });
    }
    objects.clear();  // the threads may now hold the last owners
    workers.clear();  // joins
    EXPECT_EQ(sum.load(), kThreads * 99 * 100 / 2);
    ASSERT_EQ(live_objects, 0);
  }
}

}  // namespace
}  // namespace troupe::threads_internal
