// -----------------------------------------------------------------------------
// File: internal/addressable.h
// -----------------------------------------------------------------------------
//
// `Addressable`: whatever an ActorRef can point to. That is an actor's
// logical cell (internal/actor_cell.h) or the short-lived receiver of one
// ask's reply (internal/ask.h). `AddressablePtr` is the intrusive,
// reference-counted pointer to it that refs and envelopes hold.
//
// Reference counting: increments are relaxed (a new reference is made from
// an existing one, which keeps the object alive); the decrement is acq_rel,
// so the thread that drops the last reference sees every write made through
// the others before it deletes the object (the std::shared_ptr argument).

#ifndef TROUPE_ACTOR_INTERNAL_ADDRESSABLE_H_
#define TROUPE_ACTOR_INTERNAL_ADDRESSABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/internal/system_link.h"
#include "base/check.h"
#include "mailbox/mailbox.h"

namespace troupe {

class Envelope;
class MessageType;
enum class DeadLetterReason : uint8_t;
namespace proto {
class ExitReason;
}

namespace actor_internal {

class ActorCell;
class AddressablePtr;
class CellEnvironment;
struct AskChain;

class Addressable {
 public:
  Addressable(const Addressable&) = delete;
  Addressable& operator=(const Addressable&) = delete;

  // Addressable::Deliver()
  //
  // Any thread. Queues `envelope` for this receiver. Returns false if the
  // receiver is gone; the envelope has then been dead-lettered.
  virtual bool Deliver(std::unique_ptr<Envelope> envelope) = 0;

  // Addressable::DeliverReply()
  //
  // Any thread. Deliver() for `reply`, an answer from `from` to a message
  // this receiver sent: the reply's sender is `from`. A receiver that never
  // looks at a reply's sender (an ask's) overrides it to skip the
  // reference.
  virtual bool DeliverReply(std::unique_ptr<Envelope> reply, Addressable* from);

  // Addressable::DeliverReplyValue()
  //
  // Any thread. DeliverReply() for a reply a handler returned that is still
  // a value: `value` points to a `type` the receiver may move from, and
  // `make_envelope()` (called at most once) wraps it. A receiver that wants
  // only the value (an ask's) takes it as it is, sparing the envelope
  // (bench K1); the others deliver make_envelope()'s.
  virtual bool DeliverReplyValue(const MessageType& type, void* value, Addressable* from,
                                 absl::FunctionRef<std::unique_ptr<Envelope>()> make_envelope);

  // Addressable::TryDeliver()
  //
  // Any thread. As Deliver(), but an envelope the receiver cannot take now
  // stays the caller's: kFull (a bounded mailbox at capacity) or kClosed
  // (gone), with nothing dead-lettered. kPushed (or kWokeOwner) when queued.
  //
  // This default is for receivers without a mailbox (an ask's reply
  // receiver): one that has ended refuses, the envelope kept; once handed
  // to Deliver() the envelope is the receiver's, also if it ended meanwhile
  // (then it is a dead letter, as a Tell that races a stop). Out of line, so
  // that a caller's compiler does not inline it as a guess at every call
  // (most calls reach an actor's cell: bench O1's sender).
  virtual PushResult TryDeliver(std::unique_ptr<Envelope>& envelope);

  // Addressable::TryDeliverRun()
  //
  // Any thread. TryDeliver() for a run of ordinary envelopes, `run[from]`
  // the oldest: queues them in order, as one push where the receiver can (an
  // actor with an unbounded mailbox: one atomic operation for the run, one
  // wake-up). Returns how many it queued, the first ones, which it took
  // from `run` (their pointers are left null). `*result` is kWokeOwner if
  // the run woke the receiver, kPushed if not; when not all were queued,
  // why the next one was not (kFull, kClosed), the rest still the caller's.
  // The default tries them one by one.
  virtual size_t TryDeliverRun(std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                               PushResult* result) {
    size_t queued = 0;
    *result = PushResult::kPushed;
    for (size_t i = from; i < run.size(); ++i, ++queued) {
      const PushResult pushed = TryDeliver(run[i]);
      if (pushed == PushResult::kWokeOwner) {
        *result = pushed;
      } else if (pushed != PushResult::kPushed) {
        *result = pushed;
        break;
      }
    }
    return queued;
  }

  // Addressable::DeliverWithin()
  //
  // A plain thread (not one of the system's). As TryDeliver(), but waits
  // for room in a full bounded mailbox until `deadline`: OK (queued),
  // kDeadlineExceeded, kUnavailable (gone) or kFailedPrecondition (called
  // on one of the actor system's threads). On an error the envelope stays
  // the caller's. This default is for receivers with no waiting line (a
  // ref to an actor on another node, whose node's queue may be full): it
  // tries again at growing intervals, 50 us up to 5 ms, until the deadline.
  // An actor's cell queues its waiters instead (mailbox_limit.h).
  virtual absl::Status DeliverWithin(std::unique_ptr<Envelope>& envelope, absl::Time deadline);

  // Addressable::Undelivered()
  //
  // Called when a message this receiver sent (it is the envelope's sender)
  // could not be handled: an ask fails its future at once with `reason`.
  virtual void Undelivered(const Envelope& envelope, DeadLetterReason reason) {}

  // Addressable::MarkRegistered()
  //
  // The registry calls it (seq_cst) before it checks IsAlive() (seq_cst),
  // so that a receiver stopping meanwhile learns to unregister its names.
  virtual void MarkRegistered() {}

  // Addressable::IsAlive()
  //
  // Any thread; a snapshot.
  virtual bool IsAlive() const = 0;

  // The actor cell this is, or null (an ask's receiver is not an actor: it
  // cannot be watched or linked).
  virtual ActorCell* AsCell() { return nullptr; }

  // The handlers waiting behind this receiver's reply (an ask made by a
  // handler task: internal/ask_chain.h), or null.
  virtual const AskChain* ask_chain() const { return nullptr; }

  // Addressable::WatchedBy() / UnwatchedBy()
  //
  // For a receiver that is not a cell but can be watched (remote/'s refs to
  // actors on other nodes): true if it has taken the watch and will send
  // `watcher` a Down (with itself as the sender) when its actor stops or
  // can no longer be reached. The default cannot be watched: the watcher
  // gets its Down at once ("not an actor"). UnwatchedBy() cancels it.
  virtual bool WatchedBy(const AddressablePtr& watcher);
  virtual void UnwatchedBy(const Addressable* watcher) {}

  // Addressable::LinkedBy() / UnlinkedBy() / LinkedActorStopped()
  //
  // The same for a link. LinkedBy: true if this receiver has taken the
  // link and will send `linker` an Exit (with itself as the sender) when
  // its actor stops or can no longer be reached; the default cannot be
  // linked (the linker gets its Exit at once, NORMAL). UnlinkedBy cancels
  // it. LinkedActorStopped: an actor holding a link to this receiver (taken
  // through LinkedBy, or given by the receiver to a cell) has stopped with
  // `reason`; the far side of the link hears of it. The default: nothing.
  virtual bool LinkedBy(const AddressablePtr& linker);
  virtual void UnlinkedBy(const Addressable* linker) {}
  virtual void LinkedActorStopped(const Addressable& actor, const proto::ExitReason& reason) {}

  // The link to the system this receiver belongs to, which outlives the
  // system (internal/system_link.h). Never null.
  SystemLink* link() const { return reinterpret_cast<SystemLink*>(link_ & ~kLinkFlags); }
  // The system's services (internal/cell_environment.h), for code that
  // runs only while the system certainly lives (a turn of this actor, a
  // send that found its mailbox open). Code that may run after the system
  // is gone enters through link().
  CellEnvironment* env() const { return link()->env(); }
  uint64_t id() const { return id_; }
  virtual std::string name() const = 0;

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // `n` references at once, for AddressablePtr::Adopt(): a thread that
  // hands many envelopes one sender pays one atomic add, not n. Relaxed,
  // as Ref(): the caller holds a reference already, so the count cannot
  // reach zero meanwhile; Unref()'s acq_rel orders the frees.
  void Ref(int32_t n) { refs_.fetch_add(n, std::memory_order_relaxed); }
  void Unref() {
    // The only reference left (a count of 1) is ours: nobody else can add
    // one (a new reference is copied from a held one), so it goes without
    // a read-modify-write — one atomic operation fewer for a short-lived
    // receiver (an ask's, dropped by the replier), as libstdc++'s
    // shared_ptr does. acquire: pairs with the release of every reference
    // dropped before, so Destroy() sees their writes. Not for a receiver a
    // registry finds again without a reference: its TryRef() may race.
    if ((link_ & kFoundByTryRef) == 0 && refs_.load(std::memory_order_acquire) == 1) {
      Destroy();
      return;
    }
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Destroy();
  }
  // Addressable::TryRef()
  //
  // A new reference, unless the last one is already gone (the object is
  // being destroyed): for a registry that holds receivers without a
  // reference and finds them again (remote/'s cache of refs to remote
  // actors). The registry's own lock, taken by the receiver's Destroy()
  // before it frees itself, keeps the object's memory valid here; the
  // count's RMW order alone decides between this and the last Unref, so
  // relaxed suffices, as for Ref().
  bool TryRef() {
    TROUPE_DCHECK((link_ & kFoundByTryRef) != 0, "TryRef on a receiver not made FoundByTryRef");
    int32_t refs = refs_.load(std::memory_order_relaxed);
    while (refs > 0) {
      if (refs_.compare_exchange_weak(refs, refs + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }

 protected:
  Addressable(SystemLink* link, uint64_t id) : link_(reinterpret_cast<uintptr_t>(link)), id_(id) {
    link->Ref();
  }
  // A receiver that a registry finds again without holding a reference
  // (TryRef) is made with this tag.
  struct FoundByTryRef {};
  Addressable(SystemLink* link, uint64_t id, FoundByTryRef)
      : link_(reinterpret_cast<uintptr_t>(link) | kFoundByTryRef), id_(id) {
    link->Ref();
  }
  // A receiver that holds a reference to `lender` (a receiver of the same
  // system) for as long as it lives, as an ask's receiver holds its target,
  // borrows the lender's link instead of counting a reference of its own:
  // two atomic operations fewer per receiver.
  struct BorrowLinkFrom {
    const Addressable& lender;
  };
  Addressable(BorrowLinkFrom borrow, uint64_t id)
      : link_(reinterpret_cast<uintptr_t>(borrow.lender.link()) | kBorrowedLink), id_(id) {}
  virtual ~Addressable() {
    if ((link_ & kBorrowedLink) == 0) link()->Unref();
  }
  // Frees this object when the last reference goes; a receiver allocated
  // other than by plain `new` overrides it.
  virtual void Destroy() { delete this; }

 private:
  friend class AddressablePtr;  // FirstTo()

  // 32 bits, as libstdc++'s shared_ptr counts: 2^31 refs to one receiver
  // would take 16 GiB of refs. The other half of the word is
  // mailbox_capacity_ and spawn_flags_.
  std::atomic<int32_t> refs_{0};

 protected:
  // An actor cell's fields that a send reads, here in the object's first 32
  // bytes, with the vtable pointer and link_ that a send reads too: no cache
  // line holds them together with anything the actor's turn writes per
  // message (the cell's tail is followed by the actor object, which its
  // handlers write). 0 for other receivers.
  //
  // The capacity of a bounded mailbox (0: unbounded; at most 65535, the
  // mailbox's own ceiling), set before the cell is published: what a bounded
  // push checks. (Read from the cell's tail, next to the actor, it cost bench
  // O1 a third of its rate.)
  uint16_t mailbox_capacity_ = 0;
  // The cell's flags (ActorCell says what they are).
  std::atomic<uint8_t> spawn_flags_{0};

 private:
  // The SystemLink*, its low bits flags (the link's alignment leaves them
  // clear): borrowed, and found by TryRef.
  static constexpr uintptr_t kBorrowedLink = 1;
  static constexpr uintptr_t kFoundByTryRef = 2;
  static constexpr uintptr_t kLinkFlags = kBorrowedLink | kFoundByTryRef;
  static_assert(alignof(SystemLink) > kLinkFlags);
  const uintptr_t link_;
  const uint64_t id_;
};

inline bool Addressable::WatchedBy(const AddressablePtr&) { return false; }
inline bool Addressable::LinkedBy(const AddressablePtr&) { return false; }

// An intrusive strong pointer to an Addressable.
class AddressablePtr {
 public:
  AddressablePtr() = default;
  explicit AddressablePtr(Addressable* target) : target_(target) {
    if (target_ != nullptr) target_->Ref();
  }
  // The first reference to `target`, just made and seen by no other thread
  // yet: counted with a plain store, not an atomic increment.
  static AddressablePtr FirstTo(Addressable* target) {
    TROUPE_DCHECK(target->refs_.load(std::memory_order_relaxed) == 0, "not a new receiver");
    target->refs_.store(1, std::memory_order_relaxed);
    AddressablePtr first;
    first.target_ = target;
    return first;
  }
  // Takes over a reference the caller counted already (Addressable::Ref(n)).
  static AddressablePtr Adopt(Addressable* target) {
    AddressablePtr adopted;
    adopted.target_ = target;
    return adopted;
  }
  AddressablePtr(const AddressablePtr& other) : AddressablePtr(other.target_) {}
  AddressablePtr(AddressablePtr&& other) noexcept
      : target_(std::exchange(other.target_, nullptr)) {}
  AddressablePtr& operator=(AddressablePtr other) noexcept {
    std::swap(target_, other.target_);
    return *this;
  }
  ~AddressablePtr() {
    if (target_ != nullptr) target_->Unref();
  }

  Addressable* get() const { return target_; }
  Addressable* operator->() const { return target_; }
  Addressable& operator*() const { return *target_; }
  explicit operator bool() const { return target_ != nullptr; }

 private:
  Addressable* target_ = nullptr;
};

}  // namespace actor_internal
}  // namespace troupe

#endif  // TROUPE_ACTOR_INTERNAL_ADDRESSABLE_H_
