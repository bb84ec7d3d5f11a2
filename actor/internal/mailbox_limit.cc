// A bounded mailbox: the limit's counters, and the cell carrying out its
// overflow policy (the design: internal/mailbox_limit.h, docs/overload.md).

#include "actor/internal/mailbox_limit.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/turn_context.h"
#include "base/check.h"
#include "base/logging.h"
#include "threads/atomics.h"

namespace troupe::actor_internal {

static_assert(SpawnOptions::kMaxMailboxCapacity == MailboxStack::kMaxCapacity,
              "SpawnOptions promises what the mailbox enforces");

bool MailboxLimit::CountRefusal(std::atomic<uint64_t>* counter, uint64_t* since) {
  counter->fetch_add(1, std::memory_order_relaxed);
  const int64_t now = absl::GetCurrentTimeNanos();
  int64_t next = next_log_nanos_.load(std::memory_order_relaxed);
  if (now < next) return false;
  // One sender wins the second; relaxed: the counts are statistics.
  if (!next_log_nanos_.compare_exchange_strong(next, now + 1'000'000'000,
                                               std::memory_order_relaxed)) {
    return false;
  }
  const uint64_t total = rejected.load(std::memory_order_relaxed) +
                         dropped.load(std::memory_order_relaxed) +
                         redirected.load(std::memory_order_relaxed);
  *since = total - logged_refusals_.exchange(total, std::memory_order_relaxed);
  return true;
}

void MailboxLimit::Enqueue(Waiter* waiter) {
  MutexLock lock(mu_);
  waiter->woken = false;
  queue_.push_back(waiter);
  waiting.fetch_add(1, std::memory_order_seq_cst);
}

bool MailboxLimit::Leave(Waiter* waiter) {
  MutexLock lock(mu_);
  if (waiter->woken) return true;  // the owner took it out
  queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
  waiting.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

PushResult MailboxLimit::EnqueueTask(Waiter* waiter, absl::FunctionRef<PushResult()> retry) {
  MutexLock lock(mu_);
  waiter->woken = false;
  queue_.push_back(waiter);
  waiting.fetch_add(1, std::memory_order_seq_cst);
  // Dekker with the owner's refresh (the file comment): seq_cst.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const PushResult pushed = retry();
  if (pushed != PushResult::kFull) {
    queue_.pop_back();  // ours: the owner, which could have taken it, waits for the lock
    waiting.fetch_sub(1, std::memory_order_relaxed);
  }
  return pushed;
}

bool MailboxLimit::Wait(Waiter* waiter, absl::Time deadline) {
  MutexLock lock(mu_);
  while (!waiter->woken) {
    if (!waiter->ready.WaitUntil(mu_, deadline) && !waiter->woken) {
      queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
      waiting.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
  }
  return true;
}

void MailboxLimit::WakeSenders(uint64_t room, PushForTask push) {
  // Tasks whose wait this call ended, resumed after the lock is released
  // (each is suspended until then: its waiter stays valid).
  absl::InlinedVector<async_internal::LeafWait*, 4> resume;
  {
    MutexLock lock(mu_);
    for (; room > 0 && !queue_.empty(); --room) {
      Waiter* waiter = queue_.front();
      if (waiter->task != nullptr) {
        const PushResult pushed = push(*waiter->message);
        if (pushed == PushResult::kFull) break;  // first in line still
        waiter->pushed = pushed;
      }
      queue_.pop_front();
      waiting.fetch_sub(1, std::memory_order_relaxed);
      waiter->woken = true;
      if (waiter->task == nullptr) {
        waiter->ready.Signal();  // under the mutex: the waiter cannot leave (and go) first
      } else if (waiter->task->Complete() == async_internal::Claim::kResume) {
        resume.push_back(waiter->task);
      }  // else: cancelled meanwhile (its Leave() finds it woken), or still arming
    }
  }
  for (async_internal::LeafWait* task : resume) task->context()->Resume(task->handle());
}

MailboxLimit* ActorCell::mailbox_limit() const {
  if ((spawn_flags_.load(std::memory_order_relaxed) & kBoundedMailbox) == 0) return nullptr;
  return extras_.load(std::memory_order_acquire)->limit.get();
}

void ActorCell::LimitMailbox(uint32_t capacity, OverflowPolicy policy) {
  extras().limit = std::make_unique<MailboxLimit>(capacity, std::move(policy));
  mailbox_capacity_ = static_cast<uint16_t>(capacity);  // Spawn checked it: <= 65535
  mailbox_.EnableBound();
  spawn_flags_.fetch_or(kBoundedMailbox, std::memory_order_relaxed);
}

namespace {

// The thread is delivering a redirected message: a second overflow on its
// way is rejected, not redirected again (two actors redirecting to each
// other would otherwise bounce it forever).
thread_local bool redirecting = false;

const char* PolicyName(OverflowPolicy::Kind kind) {
  switch (kind) {
    case OverflowPolicy::Kind::kReject:
      return "rejecting";
    case OverflowPolicy::Kind::kDropNewest:
      return "dropping";
    case OverflowPolicy::Kind::kRedirect:
      return "redirecting";
  }
  return "refusing";
}

}  // namespace

bool ActorCell::Overflow(std::unique_ptr<Envelope> envelope) {
  MailboxLimit& limit = *extras_.load(std::memory_order_acquire)->limit;
  OverflowPolicy::Kind kind = limit.policy.kind();
  if (kind == OverflowPolicy::Kind::kRedirect && redirecting) kind = OverflowPolicy::Kind::kReject;
  std::atomic<uint64_t>* counter = kind == OverflowPolicy::Kind::kReject       ? &limit.rejected
                                   : kind == OverflowPolicy::Kind::kDropNewest ? &limit.dropped
                                                                               : &limit.redirected;
  if (uint64_t since = 0; limit.CountRefusal(counter, &since)) {
    LogWarning(ActorLog(),
               "{}#{} is shedding load: mailbox full (capacity {}), {} {} in the last second",
               name(), id(), limit.capacity, PolicyName(kind), since);
  }
  switch (kind) {
    case OverflowPolicy::Kind::kRedirect: {
      redirecting = true;
      const bool delivered = limit.policy.redirect_to().target()->Deliver(std::move(envelope));
      redirecting = false;
      return delivered;
    }
    case OverflowPolicy::Kind::kDropNewest:
      // Not published, but an ask must not wait for a reply that cannot come.
      if (const AddressablePtr& sender = envelope->sender()) {
        sender->Undelivered(*envelope, DeadLetterReason::kMailboxFull);
      }
      return false;
    case OverflowPolicy::Kind::kReject:
      break;
  }
  PublishDeadLetter(link(), std::move(envelope), DeadLetterReason::kMailboxFull, this);
  return false;
}

namespace {

// Waiting on one of the system's own threads would hold up the actors that
// make the room: a sender there is refused, not deadlocked.
absl::Status RefuseOnSystemThread(const Addressable& to) {
  bool system_thread = RunningCell() != nullptr || CurrentDedicatedCell() != nullptr;
  if (SystemLink::Pass pass = to.link()->Enter()) {
    system_thread = system_thread || pass.env()->scheduler().IsCurrentThread();
  }
  if (!system_thread) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "TellWithin to ", to.name(), "#", to.id(),
      " on one of the actor system's threads would block the actors that make room; use "
      "TryTell, or Tell with an overflow policy"));
}

// How long a sender spins for room before it parks: about a futex
// park and wake-up's round trip on a loaded machine, and a full mailbox's
// worth of light handlers (bench O1: 1024 messages in ~12 us).
constexpr int64_t kSpinForRoomNanos = 20'000;

// A sender whose push found the mailbox full: tries again until there is
// room (the push's result), others queue to wait, or the spin's time is up
// (kFull).
//
// The actor makes room each time it takes its mail, every few microseconds
// while it drains a full mailbox: a sender that spins that long mostly
// never parks. Parking costs a futex wake per half mailbox, often lets the
// actor run dry and go idle meanwhile, and each wake-up lets the kernel
// place the sender on the actor's core. Spinning only, no sched_yield():
// a sender and an actor that hand the core to each other every few
// microseconds look like one busy thread to Linux's load balancer, which
// then leaves them sharing a core for tens of milliseconds while the other
// idles (bench O1: sharing a core in 15 runs of 18 with the yields of
// Backoff::Snooze(), in 1 of 18 without; docs/overload.md). The spin is
// bounded in time, so a sender that does share the actor's core wastes at
// most kSpinForRoomNanos per half mailbox before it parks. Not while
// others wait: they were first, and a spinning sender would overtake them;
// nor past the deadline.
PushResult SpinForRoom(ActorCell& cell, MailboxLimit& limit, std::unique_ptr<Envelope>& envelope,
                       absl::Time deadline) {
  const int64_t now = absl::GetCurrentTimeNanos();
  const int64_t until = std::min(absl::ToUnixNanos(deadline), now + kSpinForRoomNanos);
  PushResult pushed = PushResult::kFull;
  while (pushed == PushResult::kFull && absl::GetCurrentTimeNanos() < until &&
         limit.waiting.load(std::memory_order_relaxed) == 0) {
    // A look at the head word every ~1.5 us here (64 pauses of ~22 ns):
    // rare enough not to slow the owner's CAS on that line.
    for (int i = 0; i < 64; ++i) CpuRelax();
    pushed = cell.TryDeliver(envelope);
  }
  return pushed;
}

absl::Status DeadlinePassed(const Addressable& to) {
  return absl::DeadlineExceededError(absl::StrCat("TellWithin to ", to.name(), "#", to.id(),
                                                  ": no room came before the deadline"));
}

}  // namespace

PushResult Addressable::TryDeliver(std::unique_ptr<Envelope>& envelope) {
  if (!IsAlive()) return PushResult::kClosed;
  (void)Deliver(std::move(envelope));
  return PushResult::kPushed;
}

absl::Status Addressable::DeliverWithin(std::unique_ptr<Envelope>& envelope, absl::Time deadline) {
  absl::Duration pause = absl::Microseconds(50);
  for (;;) {
    const PushResult pushed = TryDeliver(envelope);
    if (pushed == PushResult::kPushed || pushed == PushResult::kWokeOwner) {
      return absl::OkStatus();
    }
    if (pushed == PushResult::kClosed) {
      return absl::UnavailableError(absl::StrCat("TellWithin to ", name(), "#", id(),
                                                 ": it has stopped or cannot be reached"));
    }
    if (absl::Status refused = RefuseOnSystemThread(*this); !refused.ok()) return refused;
    // No waiting line to join (mailbox_limit.h is an actor's): try again,
    // sooner than a remote queue drains, never later than 5 ms.
    const absl::Time now = absl::Now();
    if (now >= deadline) return DeadlinePassed(*this);
    absl::SleepFor(std::min(pause, deadline - now));
    pause = std::min(pause * 2, absl::Milliseconds(5));
  }
}

absl::Status ActorCell::DeliverWithin(std::unique_ptr<Envelope>& envelope, absl::Time deadline) {
  PushResult pushed = TryDeliver(envelope);
  if (pushed == PushResult::kFull) {
    if (absl::Status refused = RefuseOnSystemThread(*this); !refused.ok()) return refused;
    MailboxLimit& limit = *extras_.load(std::memory_order_acquire)->limit;
    pushed = SpinForRoom(*this, limit, envelope, deadline);
    MailboxLimit::Waiter waiter;
    while (pushed == PushResult::kFull) {
      limit.Enqueue(&waiter);
      // Dekker with the owner's refresh (mailbox_limit.h): seq_cst.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      pushed = TryDeliver(envelope);
      if (pushed != PushResult::kFull) {
        limit.Leave(&waiter);
        break;
      }
      if (!limit.Wait(&waiter, deadline)) {
        pushed = TryDeliver(envelope);  // a last try: room may have come with the deadline
        if (pushed != PushResult::kFull) break;
        return absl::DeadlineExceededError(absl::StrCat(
            "TellWithin to ", name(), "#", id(), ": its mailbox stayed full until the deadline"));
      }
      pushed = TryDeliver(envelope);  // woken: there was room; a plain Tell may take it first
    }
  }
  if (pushed == PushResult::kClosed) {
    return absl::UnavailableError(
        absl::StrCat("TellWithin to ", name(), "#", id(), ": it has stopped"));
  }
  return absl::OkStatus();
}

void ActorCell::WakeWaitingSenders(uint32_t peak) {
  MailboxLimit& limit = *extras_.load(std::memory_order_acquire)->limit;
  limit.NoteDepth(peak);
  // Dekker with DeliverWithin(): the refresh's CAS, this fence, this load.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (limit.waiting.load(std::memory_order_relaxed) == 0) return;
  // Below the low-water mark only: a woken sender then has room for half
  // a mailbox, which outlasts its wake-up (waking it at every bit of room
  // would pay a wake-up per turn: bench O1 ran at 0.4x A3 that way, 0.53x
  // this way).
  const size_t depth =
      mailbox_.ApproximateSize(mail_stack());  // exact for the owner, after a refresh
  if (depth > limit.low_water()) return;
  limit.WakeSenders(limit.capacity - depth, [this, &limit](std::unique_ptr<Envelope>& message) {
    // The owner, in its turn: the mailbox is open and not idle, so a push
    // is kPushed or kFull, never a wake-up.
    // (Its bound stays in the head word for the next take to record.)
    const PushResult pushed = mail_stack().PushBounded(message.get(), limit.capacity);
    TROUPE_DCHECK(pushed != PushResult::kWokeOwner, "a push for a task woke a running actor");
    if (pushed == PushResult::kPushed || pushed == PushResult::kWokeOwner) {
      message.release();  // the mailbox's now
    }
    return pushed;
  });
}

}  // namespace troupe::actor_internal
