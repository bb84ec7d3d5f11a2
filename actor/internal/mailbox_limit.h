// -----------------------------------------------------------------------------
// File: internal/mailbox_limit.h
// -----------------------------------------------------------------------------
//
// `MailboxLimit`: a bounded actor's capacity and overflow policy
// (SpawnOptions::mailbox_capacity, OverflowPolicy), and the counts of what
// its mailbox refused, which Stats() reads.
//
//   MailboxLimit limit(1024, OverflowPolicy::Reject());
//   limit.NoteDepth(peak);                        // the owner, after a turn
//   if (limit.CountRefusal(&limit.rejected, &n))  // a sender, refused
//     LogWarning(..., n);                         // at most once a second
//
//   MailboxLimit::Waiter waiter;                  // a sender that waits (TellWithin)
//   limit.Enqueue(&waiter);  /* retry once */  limit.Wait(&waiter, deadline);
//   limit.WakeSenders(room, push_for_task);       // the owner, having made room
//
// Two kinds of waiter share the queue. A thread (TellWithin) is woken and
// tries its push again itself, racing plain senders for the room. A task
// (co_await ActorRef::Send, actor/send.h) cannot loop back into a wait
// from its resumption, so the owner pushes the task's message for it while
// it wakes it, with the bound checked as for any push: a task that finds
// no room stays first in line, and a woken task has always been delivered
// (or found the actor stopped).
//
// Waiting senders and the owner meet as in Dekker's protocol: a sender
// queues (waiting++), fences, and tries the push again; the owner lowers
// the bound (a CAS), fences, and reads `waiting`. Both fences seq_cst, so
// either the sender's retry sees the room or the owner sees the sender.
// The capacity itself is enforced by the mailbox's push (mailbox.h); the
// cell decides what is exempt and carries out the policy (actor_cell.cc).
// Senders on any thread write the counters, so they are read-modify-writes
// — on the overflow path only; the high-water mark is a racy maximum
// (a relaxed load and store), good enough for a statistic. The cell's
// LimitMailbox() and Overflow() are in mailbox_limit.cc.

#ifndef TROUPE_ACTOR_INTERNAL_MAILBOX_LIMIT_H_
#define TROUPE_ACTOR_INTERNAL_MAILBOX_LIMIT_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "actor/message.h"
#include "actor/spawn.h"
#include "async/internal/leaf_wait.h"
#include "mailbox/mailbox.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {

struct MailboxLimit {
  MailboxLimit(uint32_t capacity, OverflowPolicy policy)
      : capacity(capacity), policy(std::move(policy)) {}

  // The owner, at the end of a turn: the mailbox's bound reached `bound`
  // (>= the depth then) since its last call. Only the owner writes the mark:
  // a load and a store, no read-modify-write.
  void NoteDepth(uint32_t bound) {
    if (bound > high_water.load(std::memory_order_relaxed)) {
      high_water.store(bound, std::memory_order_relaxed);
    }
  }
  // The deepest the senders saw the mailbox: the owner's mark, or the
  // bound in the head word `stack_bound` (MailboxStack::Bound()) if higher,
  // which pushes since the owner's last take have raised. Any thread.
  uint32_t HighWater(uint32_t stack_bound) const {
    return std::max(high_water.load(std::memory_order_relaxed), stack_bound);
  }

  // Counts one refusal in `counter`. True, with the refusals since the last
  // log line in `*since`, when this actor's shedding should be logged now:
  // at most once a second (a CAS decides the one sender that logs).
  bool CountRefusal(std::atomic<uint64_t>* counter, uint64_t* since);

  // A sender waiting for room: a thread blocked in ActorRef::TellWithin(),
  // on its own stack, or a task suspended in co_await ActorRef::Send(), in
  // its frame.
  struct Waiter {
    CondVar ready;       // a thread's
    bool woken = false;  // under the limit's mutex
    // A task's: the message the owner pushes for it, the push's outcome
    // (written under the mutex before the wait ends), and its wait.
    std::unique_ptr<Envelope>* message = nullptr;
    PushResult pushed = PushResult::kFull;
    async_internal::LeafWait* task = nullptr;
  };
  // The owner's push of a waiting task's message: kPushed (the envelope is
  // the mailbox's now), kFull (no room after all) or kClosed.
  using PushForTask = absl::FunctionRef<PushResult(std::unique_ptr<Envelope>& message)>;

  // Sender: queues `waiter` (behind those already waiting). The caller then
  // fences and tries again before it Wait()s.
  void Enqueue(Waiter* waiter);
  // Sender: leaves the queue if still in it (its retry succeeded, or a
  // task was cancelled). True if the owner had woken it already (a task's
  // message was then pushed for it: `pushed` says how it went).
  bool Leave(Waiter* waiter);
  // A task: queues `waiter`, fences, and calls `retry` (its own push) under
  // the queue's lock, so that the owner cannot push for it meanwhile. If
  // the retry is not kFull the task leaves the queue again and that is the
  // result; kFull: it waits, and the owner ends the wait (Waiter::task).
  PushResult EnqueueTask(Waiter* waiter, absl::FunctionRef<PushResult()> retry);
  // Sender: waits until the owner wakes it (true; it has left the queue) or
  // `deadline` passes (false; it has left the queue too).
  bool Wait(Waiter* waiter, absl::Time deadline);
  // Owner: room for `room` more messages: wakes that many waiting senders,
  // longest waiting first; a task's message is pushed by `push` first, and
  // if that finds no room the task and those behind it keep waiting.
  void WakeSenders(uint64_t room, PushForTask push);
  // Owner, closing: wakes every waiting sender (to find the mailbox closed).
  void WakeAllSenders() {
    WakeSenders(UINT64_MAX, [](std::unique_ptr<Envelope>&) { return PushResult::kClosed; });
  }

  // Waiting senders are woken once the depth is down to this: half the
  // capacity.
  uint32_t low_water() const { return capacity / 2; }

  const uint32_t capacity;
  const OverflowPolicy policy;
  // Senders queued; read by the owner after its fence (see the file comment).
  std::atomic<uint32_t> waiting{0};
  std::atomic<uint32_t> high_water{0};
  std::atomic<uint64_t> rejected{0};    // to dead letters
  std::atomic<uint64_t> dropped{0};     // kDropNewest
  std::atomic<uint64_t> redirected{0};  // to the policy's actor

 private:
  Mutex mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> next_log_nanos_{0};
  std::atomic<uint64_t> logged_refusals_{0};  // refusals counted at the last log line
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_MAILBOX_LIMIT_H_
