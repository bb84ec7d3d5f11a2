// Addressable's reference count: the last reference frees the receiver
// once (it goes without a read-modify-write when it is the only one left),
// and a registry that finds receivers again with TryRef() never revives
// one that is being freed.

#include "actor/internal/addressable.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actor/internal/system_link.h"
#include "actor/message.h"
#include "gtest/gtest.h"
#include "threads/barrier.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {
namespace {

class Receiver : public Addressable {
 public:
  Receiver(SystemLink* link, std::atomic<int>* destroyed)
      : Addressable(link, 1), destroyed_(destroyed) {}
  bool Deliver(std::unique_ptr<Envelope>) override { return false; }
  bool IsAlive() const override { return true; }
  std::string name() const override { return "receiver"; }

 protected:
  void Destroy() override {
    destroyed_->fetch_add(1);
    delete this;
  }

 private:
  std::atomic<int>* const destroyed_;
};

class AddressableTest : public testing::Test {
 protected:
  // The link starts with one reference, the test's.
  AddressableTest() : link_(new SystemLink(nullptr, "test", nullptr)) {}
  ~AddressableTest() override { link_->Unref(); }
  SystemLink* const link_;
};

TEST_F(AddressableTest, TheLastReferenceFreesItOnceWhicheverThreadDropsIt) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 300;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> destroyed{0};
    AddressablePtr first = AddressablePtr::FirstTo(new Receiver(link_, &destroyed));
    Barrier start(kThreads);
    std::vector<std::thread> holders;
    for (int t = 0; t < kThreads; ++t) {
      holders.emplace_back([&start, ref = first]() mutable {
        start.ArriveAndWait();
        for (int i = 0; i < 20; ++i) AddressablePtr copy = ref;
        ref = AddressablePtr();  // dropped as the threads finish, in any order
      });
    }
    first = AddressablePtr();
    for (std::thread& holder : holders) holder.join();
    EXPECT_EQ(destroyed.load(), 1) << "round " << round;
  }
}

TEST_F(AddressableTest, ReferencesCountedAtOnceAreAdoptedOneByOne) {
  // remote/'s DeliverBatch: n references in one add, each adopted by an
  // envelope dropped on another thread; the receiver goes with the last.
  constexpr int kAdopters = 8;
  std::atomic<int> destroyed{0};
  AddressablePtr first = AddressablePtr::FirstTo(new Receiver(link_, &destroyed));
  first->Ref(kAdopters);
  std::vector<AddressablePtr> adopted;
  for (int i = 0; i < kAdopters; ++i) adopted.push_back(AddressablePtr::Adopt(first.get()));
  first = AddressablePtr();
  EXPECT_EQ(destroyed.load(), 0);
  std::vector<std::thread> droppers;
  for (AddressablePtr& ref : adopted) {
    droppers.emplace_back([ref = std::move(ref)]() mutable { ref = AddressablePtr(); });
  }
  for (std::thread& dropper : droppers) dropper.join();
  EXPECT_EQ(destroyed.load(), 1);
}

// The registry of remote/internal/peer.cc in small: it holds receivers
// without a reference, finds them again with TryRef(), and a receiver's
// Destroy() takes the registry's lock to leave it.
class Registry {
 public:
  class Entry : public Addressable {
   public:
    Entry(SystemLink* link, Registry* registry)
        : Addressable(link, 2, FoundByTryRef{}), registry_(registry) {}
    bool Deliver(std::unique_ptr<Envelope>) override { return false; }
    bool IsAlive() const override { return true; }
    std::string name() const override { return "entry"; }
    int value = 42;

   protected:
    void Destroy() override {
      {
        MutexLock lock(registry_->mu_);
        if (registry_->entry_ == this) registry_->entry_ = nullptr;
      }
      registry_->destroyed_.fetch_add(1);
      delete this;
    }

   private:
    Registry* const registry_;
  };

  AddressablePtr Find(SystemLink* link) {
    MutexLock lock(mu_);
    if (entry_ != nullptr && entry_->TryRef()) {
      AddressablePtr found(entry_);
      entry_->Unref();  // the TryRef's reference, now held by `found`
      return found;
    }
    entry_ = new Entry(link, this);  // none, or one being freed
    made_.fetch_add(1);
    return AddressablePtr(entry_);
  }

  int made() const { return made_.load(); }
  int destroyed() const { return destroyed_.load(); }

 private:
  Mutex mu_;
  Entry* entry_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<int> made_{0};
  std::atomic<int> destroyed_{0};
};

// Two threads find the entry and drop it as fast as they can: a last
// reference dropped without a read-modify-write while the other thread's
// TryRef() revives it would free an entry in use (ASAN reports it; the
// read of `value` sees freed memory).
TEST_F(AddressableTest, TryRefNeverRevivesAReceiverBeingFreed) {
  Registry registry;
  constexpr int kThreads = 2;
  constexpr int kFinds = 100000;
  Barrier start(kThreads);
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> finders;
  for (int t = 0; t < kThreads; ++t) {
    finders.emplace_back([&] {
      start.ArriveAndWait();
      for (int i = 0; i < kFinds; ++i) {
        AddressablePtr found = registry.Find(link_);
        if (static_cast<Registry::Entry*>(found.get())->value != 42) bad_reads.fetch_add(1);
      }
    });
  }
  for (std::thread& finder : finders) finder.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(registry.made(), registry.destroyed()) << "each entry freed once, none leaked";
}

}  // namespace
}  // namespace troupe::actor_internal
