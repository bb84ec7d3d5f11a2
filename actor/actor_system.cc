#include "actor/actor_system.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/turn_context.h"
#include "base/check.h"
#include "base/logging.h"
#include "mailbox/node_pool.h"

namespace troupe {

using actor_internal::ActorCell;
using actor_internal::AddressablePtr;

ActorSystem::ActorSystem(ActorSystemOptions options)
    : CellEnvironment(this, nullptr, options.throughput),
      name_(std::move(options.name)),
      hooks_(std::move(options.hooks)),
      link_(new actor_internal::SystemLink(this, name_, hooks_)),
      clock_(options.clock != nullptr ? std::move(options.clock)
                                      : MakeRealClock(absl::StrCat(name_, "-timer").c_str())),
      owned_scheduler_(options.scheduler != nullptr ? std::move(options.scheduler)
                                                    : MakeThreadPoolScheduler(options.workers)),
      memory_keeper_(*clock_, *owned_scheduler_, options.free_memory_high_water,
                     options.memory_check_interval) {
  set_scheduler(owned_scheduler_.get());
  link_->set_caller_driven(!owned_scheduler_->RunsOnItsOwn());
  if (options.logger != nullptr) SetLogger(std::move(options.logger));
  actor_internal::BuildSystemDescriptors();
  SetLogTagSource(&actor_internal::AppendRunningActorTag);
  if (hooks_ != nullptr) SetObserveFlag(actor_internal::kObserveHooks, true);
  memory_keeper_.Start();
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

void ActorSystem::StartTracing(TracerOptions options) {
  link_->tracer().Configure(options);
  SetObserveFlag(actor_internal::kObserveTrace, true);
}

void ActorSystem::SetObserveFlag(uint8_t flag, bool on) { link_->SetObserveFlag(flag, on); }

SystemStats ActorSystem::Stats() const {
  SystemStats stats;
  stats.system = name_;
  stats.taken = absl::Now();
  stats.workers = scheduler().worker_stats();
  stats.dead_letters = dead_letters_.total();
  stats.pool_memory = GetPoolMemoryStats();
  stats.handler_timing = (link_->observe_flags() & actor_internal::kObserveTiming) != 0;
  // Refs first, under each shard's lock; the cells are read after, unlocked.
  const std::vector<AddressablePtr> cells = live_.All();
  stats.actors.resize(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    cells[i]->AsCell()->FillStats(stats.workers, &stats.actors[i]);
  }
  std::sort(stats.actors.begin(), stats.actors.end(),
            [](const ActorStats& a, const ActorStats& b) { return a.id < b.id; });
  return stats;
}

bool ActorSystem::OnSystemThread() const {
  return scheduler().IsCurrentThread() || actor_internal::CurrentDedicatedCell() != nullptr;
}

// -- spawning ------------------------------------------------------------------------

ActorCell* ActorSystem::AdmitCell(SpawnOptions& options, ActorCell* parent, size_t actor_size,
                                  uint32_t type_name, ActorRef* ref) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  const absl::Status valid = options.Validate();
  ActorCell* cell =
      ActorCell::Create(link_, id, std::move(options.name), parent, actor_size, type_name);
  *ref = ActorRef(AddressablePtr(cell));
  // Before the cell is published (the live set is the first to see it).
  if (valid.ok() && options.mailbox_capacity > 0) {
    cell->LimitMailbox(options.mailbox_capacity, std::move(options.overflow));
  }
  if (valid.ok()) cell->SetPriority(options.priority);

  // Join the live set. Every cell does, so that every stop leaves it the
  // same way (OnCellFinished). BeginShutdown() sets the flag and then visits
  // the set: a cell it does not see sees the flag here (live_set.h).
  if (live_.Add(cell, shutting_down_)) {
    LogWarning(ActorLog(), "actor system '{}' is shutting down: {} is not started", name_,
               ref->ToString());
    cell->StopUnstarted(proto::ExitReason::SYSTEM_SHUTDOWN, "spawned during shutdown");
    return nullptr;
  }
  if (!valid.ok()) {
    LogError(ActorLog(), "actor {} is not started: {}", ref->ToString(), valid.ToString());
    cell->StopUnstarted(proto::ExitReason::FAILURE, std::string(valid.message()));
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

std::shared_ptr<Scheduler> ActorSystem::DedicatedSchedulerFor(ActorCell* cell) {
  return dedicated_threads_.Start(absl::StrCat(name_, "-", cell->id()), cell);
}

ActorRef ActorSystem::SpawnActor(SpawnOptions options, ActorCell* parent, ActorFactory factory) {
  ActorRef ref;
  const bool dedicated = options.dedicated;
  ActorCell* cell = AdmitCell(options, parent, factory.size, factory.type_name, &ref);
  if (cell == nullptr) return ref;

  Actor* actor = nullptr;
  std::string failure;
  {
    const actor_internal::ConstructingScope constructing(cell);
    try {
      actor = factory.construct(cell->actor_storage());
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
  }
  if (actor == nullptr) {
    LogError(ActorLog(), "actor {} failed in its constructor: {}", ref.ToString(), failure);
    cell->StopUnstarted(proto::ExitReason::FAILURE, std::move(failure));
    return ref;
  }

  if (hooks_ != nullptr) {
    hooks_->OnSpawn(ref, parent != nullptr ? ActorRef(AddressablePtr(parent)) : ActorRef());
  }
  cell->Start(actor, dedicated ? DedicatedSchedulerFor(cell) : nullptr);
  return ref;
}

ActorRef ActorSystem::SpawnChild(ActorCell* parent, SpawnOptions options, ActorFactory factory) {
  return SpawnActor(std::move(options), parent, factory);
}

ActorRef ActorSystem::SpawnSupervisedChild(ActorCell* parent, SpawnOptions options,
                                           size_t actor_size, uint32_t type_name,
                                           IncarnationFactory factory) {
  ActorRef ref;
  const bool dedicated = options.dedicated;
  ActorCell* cell = AdmitCell(options, parent, actor_size, type_name, &ref);
  if (cell == nullptr) return ref;
  if (hooks_ != nullptr) hooks_->OnSpawn(ref, ActorRef(AddressablePtr(parent)));
  cell->StartSupervised(std::move(factory), dedicated ? DedicatedSchedulerFor(cell) : nullptr);
  return ref;
}

// -- what cells use --------------------------------------------------------------------

void ActorSystem::PublishDeadLetter(EnvelopePtr envelope, DeadLetterReason reason,
                                    const actor_internal::Addressable* receiver) {
  dead_letters_.Publish(std::move(envelope), reason, receiver);
}

void ActorSystem::UnregisterAll(actor_internal::Addressable* cell) {
  registry_.UnregisterAll(cell);
}

void ActorSystem::OnCellFinished(ActorCell* cell) {
  if (live_.Remove(cell) == 0 && IsShuttingDown()) {
    MutexLock lock(shutdown_mu_);
    shutdown_cv_.SignalAll();
  }
}

// -- shutdown --------------------------------------------------------------------------

void ActorSystem::Shutdown() {
  BeginShutdown();
  if (!OnSystemThread()) FinishShutdown();
}

void ActorSystem::BeginShutdown() {
  if (!shutting_down_.exchange(true, std::memory_order_acq_rel)) {
    // Only the roots: each stops its children first (a supervisor, newest
    // first), so a tree shuts down bottom-up.
    for (const AddressablePtr& root : live_.Roots()) {
      proto::Stop stop;
      stop.mutable_reason()->set_kind(proto::ExitReason::SYSTEM_SHUTDOWN);
      ActorRef(root).Tell(std::move(stop));
    }
    MutexLock lock(shutdown_mu_);
    shutdown_cv_.SignalAll();  // wakes AwaitTermination()
  }
}

absl::Status ActorSystem::ShutdownUntil(absl::Time deadline) {
  TROUPE_CHECK(!OnSystemThread(), "ShutdownUntil() from one of the system's own threads");
  BeginShutdown();
  if (scheduler().RunsOnItsOwn()) {
    MutexLock lock(shutdown_mu_);
    while (live_.size() != 0) {
      if (!shutdown_cv_.WaitUntil(shutdown_mu_, deadline) && absl::Now() >= deadline) break;
    }
  }
  if (live_.size() == 0 || !scheduler().RunsOnItsOwn()) {
    FinishShutdown();  // nothing left to wait for but threads that are ending
    return absl::OkStatus();
  }
  const SystemStats stats = Stats();
  constexpr size_t kNamed = 20;
  std::string named;
  for (size_t i = 0; i < stats.actors.size() && i < kNamed; ++i) {
    const ActorStats& actor = stats.actors[i];
    absl::StrAppend(&named, i == 0 ? "" : ", ", actor.name, "#", actor.id, " (",
                    ToString(actor.state), actor.dedicated ? " on its own thread" : "", ", ",
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
  if (scheduler().RunsOnItsOwn()) {
    MutexLock lock(shutdown_mu_);
    while (live_.size() != 0) shutdown_cv_.Wait(shutdown_mu_);
  }
  memory_keeper_.Stop();  // hands the scheduler nothing once it shuts down
  scheduler().Shutdown();
  dedicated_threads_.JoinAll();
  MutexLock lock(shutdown_mu_);
  while (live_.size() != 0) shutdown_cv_.Wait(shutdown_mu_);
  clock_->Shutdown();  // under the lock, so that a racing AwaitTermination waits for it
  terminated_ = true;
  shutdown_cv_.SignalAll();
}

}  // namespace troupe
