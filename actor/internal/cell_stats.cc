// What one actor cell reports to ActorSystem::Stats(), from any thread.

#include "actor/internal/cell_stats.h"

#include "actor/internal/actor_cell.h"
#include "threads/thread_pool.h"

namespace troupe::actor_internal {

void ActorCell::CountDeadLetter() {
  // A finishing actor keeps no stats (its extras may be sealed).
  if (Extras* x = LiveExtras()) x->stats.CountDeadLetter();
}

void ActorCell::FillStats(const std::vector<WorkerStats>& workers, ActorStats* stats) const {
  stats->id = id();
  stats->name = name();
  stats->parent = parent_ ? parent_->id() : 0;
  stats->dedicated = (spawn_flags_.load(std::memory_order_relaxed) & kDedicated) != 0;
  stats->priority = priority();
  stats->mailbox_depth = mailbox_.ApproximateSize(mail_stack());
  stats->messages_handled = mailbox_.popped();
  Extras* const x = extras_if_any();
  if (x != nullptr && x->limit != nullptr) {
    const MailboxLimit& limit = *x->limit;
    stats->mailbox_capacity = limit.capacity;
    stats->mailbox_high_water = limit.HighWater(mail_stack().Bound());
    stats->mailbox_rejected = limit.rejected.load(std::memory_order_relaxed);
    stats->mailbox_dropped = limit.dropped.load(std::memory_order_relaxed);
    stats->mailbox_redirected = limit.redirected.load(std::memory_order_relaxed);
    stats->mailbox_waiting_senders = limit.waiting.load(std::memory_order_relaxed);
  }
  if (x != nullptr) {
    stats->restarts = x->stats.incarnation() - 1;
    stats->dead_letters_caused = x->stats.dead_letters_caused();
    stats->handler_time = absl::Nanoseconds(x->stats.handler_nanos());
    x->monitors.CollectIds(&stats->links, &stats->watchers);
  }
  if (!IsAlive()) {
    stats->state = ActorState::kStopping;
    return;
  }
  switch (x != nullptr ? x->stats.shown_phase() : Phase::kRunning) {
    case Phase::kEnding:
      stats->state = ActorState::kEnding;
      return;
    case Phase::kSuspended:
      stats->state = ActorState::kSuspended;
      return;
    case Phase::kRunning:
      break;
  }
  for (const WorkerStats& worker : workers) {
    if (worker.running_job == static_cast<const threads_internal::PoolJob*>(this)) {
      stats->state = ActorState::kRunning;
      stats->worker = worker.index;
      return;
    }
  }
  stats->state = mail_stack().IsBlocked() ? ActorState::kIdle : ActorState::kScheduled;
}

}  // namespace troupe::actor_internal
