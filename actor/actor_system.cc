#include "actor/actor_system.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/internal/actor_cell.h"
#include "base/check.h"
#include "base/logging.h"
#include "threads/semaphore.h"

namespace troupe {

namespace actor_internal {

// A send-after or periodic send. `active` and `id` are guarded by `mu`; the
// lock order is TimerState::mu, then the clock's own lock.
struct TimerState {
  explicit TimerState(Clock* c) : clock(c) {}
  Clock* const clock;
  Mutex mu;
  bool active ABSL_GUARDED_BY(mu) = true;
  TimerId id ABSL_GUARDED_BY(mu) = 0;
};

namespace {

// Runs one actor on a thread of its own. The mailbox schedules the actor at
// most once per idle period, so a counting semaphore of pending turns is
// exactly the queue this needs.
class DedicatedScheduler final : public Scheduler {
 public:
  explicit DedicatedScheduler(ActorCell* cell) : cell_(cell) {}

  void Schedule(Schedulable* runnable) override { turns_.Release(); }
  void Shutdown() override {}
  bool IsCurrentThread() const override { return CurrentDedicatedCell() == cell_; }

  // The thread's body: turns until the actor has stopped. The caller holds
  // a ref to the cell, which could otherwise die inside its last turn.
  void Run() {
    CurrentDedicatedCell() = cell_;
    while (cell_->IsAlive()) {
      turns_.Acquire();
      cell_->RunTurn();
    }
  }

 private:
  ActorCell* const cell_;
  Semaphore turns_{0};
};

}  // namespace

void ArmSend(const std::shared_ptr<TimerState>& state, ActorRef to, absl::Time when,
             absl::Duration period, absl::AnyInvocable<EnvelopePtr()> make_envelope)
    ABSL_LOCKS_EXCLUDED(state->mu) {
  MutexLock lock(state->mu);
  if (!state->active) return;
  state->id = state->clock->ScheduleAt(
      when, [state, to, when, period, make = std::move(make_envelope)]() mutable {
        {
          MutexLock lock(state->mu);
          if (!state->active) return;  // cancelled after it fired
          if (period == absl::ZeroDuration()) state->active = false;
        }
        const bool delivered = to.target()->Deliver(make());
        if (period == absl::ZeroDuration()) return;
        if (delivered) {
          ArmSend(state, std::move(to), when + period, period, std::move(make));
        } else {
          MutexLock lock(state->mu);  // the target stopped: so does the timer
          state->active = false;
        }
      });
  if (state->id == 0) state->active = false;  // the clock has shut down
}

}  // namespace actor_internal

using actor_internal::ActorCell;
using actor_internal::AddressablePtr;

bool TimerHandle::Cancel() {
  if (state_ == nullptr) return false;
  MutexLock lock(state_->mu);
  if (!state_->active) return false;
  state_->active = false;
  state_->clock->Cancel(state_->id);
  return true;
}

bool TimerHandle::active() const {
  if (state_ == nullptr) return false;
  MutexLock lock(state_->mu);
  return state_->active;
}

ActorSystem::ActorSystem(ActorSystemOptions options)
    : name_(std::move(options.name)),
      throughput_(options.throughput > 0 ? options.throughput : 1),
      hooks_(std::move(options.hooks)),
      link_(new actor_internal::SystemLink(this, name_, hooks_)),
      clock_(options.clock != nullptr ? std::move(options.clock)
                                      : MakeRealClock(absl::StrCat(name_, "-timer").c_str())),
      scheduler_(options.scheduler != nullptr ? std::move(options.scheduler)
                                              : MakeThreadPoolScheduler(options.workers)) {
  if (options.logger != nullptr) SetLogger(std::move(options.logger));
  actor_internal::BuildSystemDescriptors();
  SetLogTagSource(&actor_internal::AppendRunningActorTag);
  if (hooks_ != nullptr) SetObserveFlag(actor_internal::kObserveHooks, true);
}

void ActorSystem::StartTracing(TracerOptions options) {
  link_->tracer().Configure(options);
  SetObserveFlag(actor_internal::kObserveTrace, true);
}

void ActorSystem::SetObserveFlag(uint8_t flag, bool on) { link_->SetObserveFlag(flag, on); }

SystemStats ActorSystem::Stats() const {
  SystemStats stats;
  stats.system = name_;
  stats.taken = absl::Now();
  stats.workers = scheduler_->worker_stats();
  stats.dead_letters = dead_letters_.total();
  stats.handler_timing = (link_->observe_flags() & actor_internal::kObserveTiming) != 0;
  // Refs first, under each shard's lock; the cells are read after, unlocked.
  std::vector<AddressablePtr> cells;
  for (const LiveShard& shard : live_shards_) {
    MutexLock lock(shard.mu);
    for (ActorCell* cell = shard.head; cell != nullptr; cell = cell->live_next) {
      cells.emplace_back(cell);
    }
  }
  stats.actors.resize(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    cells[i]->AsCell()->FillStats(stats.workers, &stats.actors[i]);
  }
  std::sort(stats.actors.begin(), stats.actors.end(),
            [](const ActorStats& a, const ActorStats& b) { return a.id < b.id; });
  return stats;
}

ActorSystem::~ActorSystem() {
  TROUPE_CHECK(!OnSystemThread(), "an ActorSystem is destroyed from one of its own threads");
  Shutdown();
  // Every actor has finished, so every mailbox is closed: from here a send
  // through a surviving ref only dead-letters, through the link, which now
  // turns it away (counted in OrphanDeadLetters) instead of reaching the
  // members destroyed below.
  link_->Close();
  link_->Unref();
}

bool ActorSystem::OnSystemThread() const {
  return scheduler_->IsCurrentThread() || actor_internal::CurrentDedicatedCell() != nullptr;
}

ActorCell* ActorSystem::AdmitCell(SpawnOptions& options, ActorCell* parent, size_t actor_size,
                                  ActorRef* ref) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  ActorCell* cell = ActorCell::Create(this, id, std::move(options.name), parent, actor_size);
  *ref = ActorRef(AddressablePtr(cell));

  // Join the live set. Every cell does, so that every stop leaves it the
  // same way (OnActorStopped). The flag is read under the shard lock that
  // Shutdown() takes after setting it: a cell that joins unseen by Shutdown()
  // sees the flag here, and stops before it starts.
  LiveShard& shard = live_shards_[id % kLiveShards];
  bool shutting_down;
  {
    MutexLock lock(shard.mu);
    cell->Ref();  // the live set's reference, dropped in OnActorStopped()
    cell->live_next = shard.head;
    if (shard.head != nullptr) shard.head->live_prev = cell;
    shard.head = cell;
    live_.fetch_add(1, std::memory_order_acq_rel);
    shutting_down = shutting_down_.load(std::memory_order_acquire);
  }
  if (shutting_down) {
    LogWarning(ActorLog(), "actor system '{}' is shutting down: {} is not started", name_,
               ref->ToString());
    cell->StopUnstarted(proto::ExitReason::SYSTEM_SHUTDOWN, "spawned during shutdown");
    return nullptr;
  }
  if (parent != nullptr && !parent->AcceptsChildren()) {
    // Spawned from OnStop, say: the child would outlive its parent.
    LogWarning(ActorLog(), "{} is stopping: its child {} is not started",
               ActorRef(AddressablePtr(parent)).ToString(), ref->ToString());
    cell->StopUnstarted(proto::ExitReason::NORMAL, "parent stopping");
    return nullptr;
  }
  if (parent != nullptr) parent->AddChild(cell);
  return cell;
}

std::shared_ptr<Scheduler> ActorSystem::MakeDedicatedThread(ActorCell* cell) {
  auto dedicated = std::make_shared<actor_internal::DedicatedScheduler>(cell);
  MutexLock lock(shutdown_mu_);
  // Reap the threads of dedicated actors that have stopped.
  std::erase_if(dedicated_threads_, [](Thread<void>& t) {
    if (t.IsAlive()) return false;
    (void)t.Join();
    return true;
  });
  dedicated_threads_.emplace_back(absl::StrCat(name_, "-", cell->id()),
                                  [dedicated, keep = AddressablePtr(cell)] { dedicated->Run(); });
  return dedicated;
}

ActorRef ActorSystem::SpawnActor(SpawnOptions options, ActorCell* parent, ActorFactory factory) {
  ActorRef ref;
  const bool dedicated = options.dedicated;
  ActorCell* cell = AdmitCell(options, parent, factory.size, &ref);
  if (cell == nullptr) return ref;

  Actor* actor = nullptr;
  std::string failure;
  ActorCell* const outer = std::exchange(actor_internal::ConstructingCell(), cell);
  try {
    actor = factory.construct(cell->actor_storage());
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  actor_internal::ConstructingCell() = outer;
  if (actor == nullptr) {
    LogError(ActorLog(), "actor {} failed in its constructor: {}", ref.ToString(), failure);
    cell->StopUnstarted(proto::ExitReason::FAILURE, std::move(failure));
    return ref;
  }

  if (hooks_ != nullptr) {
    hooks_->OnSpawn(ref, parent != nullptr ? ActorRef(AddressablePtr(parent)) : ActorRef());
  }
  cell->Start(actor, dedicated ? MakeDedicatedThread(cell) : nullptr);
  return ref;
}

ActorRef ActorSystem::SpawnSupervised(SpawnOptions options, ActorCell* parent, size_t actor_size,
                                      actor_internal::IncarnationFactory factory) {
  ActorRef ref;
  const bool dedicated = options.dedicated;
  ActorCell* cell = AdmitCell(options, parent, actor_size, &ref);
  if (cell == nullptr) return ref;
  if (hooks_ != nullptr) hooks_->OnSpawn(ref, ActorRef(AddressablePtr(parent)));
  cell->StartSupervised(std::move(factory), dedicated ? MakeDedicatedThread(cell) : nullptr);
  return ref;
}

void ActorSystem::OnActorStopped(ActorCell* cell) {
  LiveShard& shard = live_shards_[cell->id() % kLiveShards];
  {
    MutexLock lock(shard.mu);
    if (cell->live_prev != nullptr) {
      cell->live_prev->live_next = cell->live_next;
    } else {
      shard.head = cell->live_next;
    }
    if (cell->live_next != nullptr) cell->live_next->live_prev = cell->live_prev;
    cell->live_prev = cell->live_next = nullptr;
  }
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1 && IsShuttingDown()) {
    MutexLock lock(shutdown_mu_);
    shutdown_cv_.SignalAll();
  }
  cell->Unref();
}

TimerHandle ActorSystem::ScheduleSend(const ActorRef& to, absl::Duration delay,
                                      absl::Duration period,
                                      absl::AnyInvocable<EnvelopePtr()> make_envelope) {
  auto state = std::make_shared<actor_internal::TimerState>(clock_.get());
  if (!to) {
    actor_internal::Send(to.target(), make_envelope());  // an empty ref: a dead letter now
    MutexLock lock(state->mu);
    state->active = false;
    return TimerHandle(std::move(state));
  }
  actor_internal::ArmSend(state, to, clock_->Now() + delay, period, std::move(make_envelope));
  return TimerHandle(std::move(state));
}

void ActorSystem::Shutdown() {
  BeginShutdown();
  if (!OnSystemThread()) FinishShutdown();
}

void ActorSystem::BeginShutdown() {
  if (!shutting_down_.exchange(true, std::memory_order_acq_rel)) {
    // Only the roots: each stops its children first (a supervisor, newest
    // first), so a tree shuts down bottom-up.
    std::vector<ActorRef> live;
    for (LiveShard& shard : live_shards_) {
      MutexLock lock(shard.mu);
      for (ActorCell* cell = shard.head; cell != nullptr; cell = cell->live_next) {
        if (!cell->has_parent()) live.emplace_back(AddressablePtr(cell));
      }
    }
    for (const ActorRef& ref : live) {
      proto::Stop stop;
      stop.mutable_reason()->set_kind(proto::ExitReason::SYSTEM_SHUTDOWN);
      ref.Tell(std::move(stop));
    }
    MutexLock lock(shutdown_mu_);
    shutdown_cv_.SignalAll();  // wakes AwaitTermination()
  }
}

absl::Status ActorSystem::ShutdownUntil(absl::Time deadline) {
  TROUPE_CHECK(!OnSystemThread(), "ShutdownUntil() from one of the system's own threads");
  BeginShutdown();
  if (scheduler_->RunsOnItsOwn()) {
    MutexLock lock(shutdown_mu_);
    while (live_.load(std::memory_order_acquire) != 0) {
      if (!shutdown_cv_.WaitUntil(shutdown_mu_, deadline) && absl::Now() >= deadline) break;
    }
  }
  if (live_.load(std::memory_order_acquire) == 0 || !scheduler_->RunsOnItsOwn()) {
    FinishShutdown();  // nothing left to wait for but threads that are ending
    return absl::OkStatus();
  }
  const SystemStats stats = Stats();
  constexpr size_t kNamed = 20;
  std::string named;
  for (size_t i = 0; i < stats.actors.size() && i < kNamed; ++i) {
    const ActorStats& actor = stats.actors[i];
    absl::StrAppend(&named, i == 0 ? "" : ", ", actor.name, "#", actor.id, " (",
                    ActorStateName(actor.state), actor.dedicated ? " on its own thread" : "", ", ",
                    actor.mailbox_depth, " queued)");
  }
  if (stats.actors.size() > kNamed) absl::StrAppend(&named, ", ...");
  return absl::DeadlineExceededError(absl::StrCat(
      "actor system '", name_, "': ", stats.actors.size(),
      stats.actors.size() == 1 ? " actor" : " actors", " did not stop in time: ", named));
}

bool ActorSystem::AwaitTermination(absl::Duration timeout) {
  TROUPE_CHECK(!OnSystemThread(), "AwaitTermination() from one of the system's own threads");
  const absl::Time deadline = absl::Now() + timeout;
  {
    MutexLock lock(shutdown_mu_);
    while (!IsShuttingDown()) {
      if (!shutdown_cv_.WaitUntil(shutdown_mu_, deadline) && absl::Now() >= deadline) return false;
    }
  }
  FinishShutdown();
  return true;
}

void ActorSystem::FinishShutdown() {
  std::vector<Thread<void>> threads;
  {
    MutexLock lock(shutdown_mu_);
    while (finishing_ && !terminated_) shutdown_cv_.Wait(shutdown_mu_);
    if (terminated_) return;
    finishing_ = true;
  }
  // Every root has a stop queued (Shutdown() sent them), and each stops its
  // children, so every actor ends. A scheduler with threads of its own keeps
  // running until then: a dedicated actor's last messages may wake a pooled
  // one, or the reverse, until the very end. A scheduler driven by its
  // caller (a test's) runs it all inside Shutdown().
  if (scheduler_->RunsOnItsOwn()) {
    MutexLock lock(shutdown_mu_);
    while (live_.load(std::memory_order_acquire) != 0) shutdown_cv_.Wait(shutdown_mu_);
  }
  scheduler_->Shutdown();
  {
    MutexLock lock(shutdown_mu_);
    threads.swap(dedicated_threads_);
  }
  for (Thread<void>& t : threads) (void)t.Join();
  MutexLock lock(shutdown_mu_);
  while (live_.load(std::memory_order_acquire) != 0) shutdown_cv_.Wait(shutdown_mu_);
  clock_->Shutdown();  // under the lock, so that a racing AwaitTermination waits for it
  terminated_ = true;
  shutdown_cv_.SignalAll();
}

}  // namespace troupe
