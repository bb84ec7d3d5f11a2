// -----------------------------------------------------------------------------
// File: actor_system.h
// -----------------------------------------------------------------------------
//
// `ActorSystem`: the home of a set of actors. It owns their scheduler (a
// work-stealing thread pool by default), the clock and timers, the registry
// of names, the dead-letter sink and the hooks.
//
//   troupe::ActorSystem system;                       // one worker per core
//   troupe::ActorRef counter = system.Spawn<Counter>(/*start=*/0);
//   counter.Tell(counter::Increment());
//   auto count = counter.Ask<counter::Count>(counter::Get(), absl::Seconds(1)).Get();
//   system.SendAfter(counter, counter::Increment(), absl::Milliseconds(10));
//   system.Shutdown();                                // or let the destructor do it
//
// Spawning: `Spawn<T>(args...)` constructs a T (a subclass of troupe::Actor)
// from `args` and returns its ref; `Spawn<T>(SpawnOptions{...}, args...)`
// also names it or gives it a dedicated thread. `SpawnDedicated<T>(args...)`
// runs the actor on a thread of its own, where handlers may block (on I/O,
// on a Future): use it for actors that wrap blocking APIs, never for the many.
//
// Shutdown: `Shutdown()` sends every root actor (one without a parent) a
// stop (reason SYSTEM_SHUTDOWN, overtaking its mail); each tells all its
// children at once (a supervisor too: its newest-first order is for its own
// stops and restarts, and at shutdown would wait a round of the pool per
// child) and ends after them, so trees stop bottom-up. Each actor runs
// OnStop, and its unhandled mail goes to dead letters, counted. Then the
// workers, the timer thread and dedicated threads are joined. Called from
// outside the system's threads it waits for all of that; called from a
// handler it only starts it (a handler cannot wait for itself) and
// `AwaitTermination()` elsewhere waits. After shutdown begins, Spawn()
// returns a ref to an actor that never runs (its mail is dead-lettered) and
// timers no longer fire. The destructor shuts down.
//
// Seams: the options take the Scheduler and the Clock as interfaces, so the
// test kit can run actors step by step under a virtual clock.
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_ACTOR_ACTOR_SYSTEM_H_
#define TROUPE_ACTOR_ACTOR_SYSTEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/dead_letters.h"
#include "actor/hooks.h"
#include "actor/internal/cell_environment.h"
#include "actor/internal/dedicated_scheduler.h"
#include "actor/internal/live_set.h"
#include "actor/internal/memory_keeper.h"
#include "actor/internal/system_link.h"
#include "actor/registry.h"
#include "actor/scheduler.h"
#include "actor/spawn.h"
#include "actor/stats.h"
#include "actor/timer.h"
#include "actor/tracing.h"
#include "base/log_limiter.h"
#include "spdlog/logger.h"
#include "threads/clock.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe {

class Actor;

struct ActorSystemOptions {
  // Worker threads of the default scheduler; 0 = one per core.
  int workers = 0;
  // Messages an actor handles per turn before it yields its worker.
  int throughput = 128;
  // Names the system in logs and its threads.
  std::string name = "troupe";
  // If set, becomes troupe's logger (base/logging.h: one logger per process,
  // shared by every layer) when the system is constructed.
  std::shared_ptr<spdlog::logger> logger;
  // Replace the default scheduler / clock (the test kit does).
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Clock> clock;
  // Observation points; null = none (the fast path).
  std::shared_ptr<ActorHooks> hooks;
  // Memory that comes back (docs/overload.md). Every `memory_check_interval`
  // the system reads the free memory held by the process's envelope and cell
  // pool (mailbox/node_pool.h); once it has stayed above
  // `free_memory_high_water` for two checks in a row, whole free slabs go
  // back to the system down to that mark, on a worker at low priority. The
  // pool is the process's: with several systems, each releases to its own
  // mark. An interval of zero or less turns it off (the pool then keeps all
  // it has carved).
  size_t free_memory_high_water = size_t{4} << 20;
  absl::Duration memory_check_interval = absl::Milliseconds(250);
};

class ActorSystem final : private actor_internal::CellEnvironment {
 public:
  explicit ActorSystem(ActorSystemOptions options = ActorSystemOptions());
  ~ActorSystem();
  ActorSystem(const ActorSystem&) = delete;
  ActorSystem& operator=(const ActorSystem&) = delete;

  // ActorSystem::Spawn()
  //
  // Constructs a `T` from `args` (on this thread) and starts it. Returns its
  // ref. If the constructor throws, the error is logged and the ref points
  // to an actor that has stopped.
  template <typename T, typename... Args>
  ActorRef Spawn(Args&&... args) {
    return Spawn<T>(SpawnOptions(), std::forward<Args>(args)...);
  }
  template <typename T, typename... Args>
  ActorRef Spawn(SpawnOptions options, Args&&... args) {
    return SpawnActor(std::move(options), nullptr,
                      MakeActorFactory<T>([&](void* storage) -> Actor* {
                        return new (storage) T(std::forward<Args>(args)...);
                      }));
  }

  // ActorSystem::SpawnDedicated()
  //
  // Spawn() on a thread of the actor's own.
  template <typename T, typename... Args>
  ActorRef SpawnDedicated(Args&&... args) {
    SpawnOptions options;
    options.dedicated = true;
    return Spawn<T>(std::move(options), std::forward<Args>(args)...);
  }

  // ActorSystem::SendAfter() / SendPeriodically()
  //
  // Tells `to` the message after `delay`, or every `period` (the first after
  // one period) until cancelled or until `to` stops. A periodic message is
  // copied for each send. Timers are served by the clock's one thread.
  template <typename T>
  TimerHandle SendAfter(const ActorRef& to, T&& message, absl::Duration delay) {
    return ScheduleSend(*clock_, to, delay, absl::ZeroDuration(),
                        [envelope = MakeEnvelope(std::forward<T>(message))]() mutable {
                          return std::move(envelope);
                        });
  }
  template <typename T>
  TimerHandle SendPeriodically(const ActorRef& to, T message, absl::Duration period) {
    return ScheduleSend(*clock_, to, period, period,
                        [message = std::move(message)] { return MakeEnvelope(message); });
  }

  // ActorSystem::Shutdown()
  //
  // See the file comment. Idempotent.
  void Shutdown();

  // ActorSystem::ShutdownFor() / ShutdownUntil()
  //
  // Shutdown() with a bound on the wait: OK once every actor has stopped
  // and the threads are joined; kDeadlineExceeded if actors are still alive
  // at the deadline (a handler that does not return, say), naming them (up
  // to 20) and saying what each was doing. The shutdown goes on: call again,
  // or AwaitTermination(); the destructor waits for it to end, since freeing
  // the system under a running handler is not an option. Not from the
  // system's own threads.
  absl::Status ShutdownFor(absl::Duration timeout) { return ShutdownUntil(absl::Now() + timeout); }
  absl::Status ShutdownUntil(absl::Time deadline);

  // ActorSystem::AwaitTermination()
  //
  // Waits until a shutdown (started anywhere) has finished; false on
  // timeout. Not from the system's own threads.
  bool AwaitTermination(absl::Duration timeout = absl::InfiniteDuration());

  bool IsShuttingDown() const override { return shutting_down_.load(std::memory_order_acquire); }

  // Actors spawned and not yet stopped.
  int64_t live_actors() const { return live_.size(); }

  // ActorSystem::Stats() / DumpState()
  //
  // A snapshot of every live actor and worker (actor/stats.h), and the same
  // as text: what to print when a program seems stuck. Any thread.
  SystemStats Stats() const;
  std::string DumpState() const { return FormatDumpState(Stats()); }

  // ActorSystem::StartTracing() / StopTracing() / CollectTrace() / ClearTrace()
  //
  // Records every send and activation while on (actor/tracing.h), and hands
  // back what was recorded (collecting does not stop it). `options` apply
  // to threads that start recording after the call. Any thread.
  void StartTracing(TracerOptions options = TracerOptions());
  void StopTracing() { SetObserveFlag(actor_internal::kObserveTrace, false); }
  Trace CollectTrace() const { return link_->tracer().Collect(); }
  void ClearTrace() { link_->tracer().Clear(); }

  // ActorSystem::SetHandlerTiming()
  //
  // Measures the time each handler takes (ActorStats::handler_time) while
  // on: two clock reads per message. Off by default. Any thread.
  void SetHandlerTiming(bool on) { SetObserveFlag(actor_internal::kObserveTiming, on); }

  // What the hot paths observe (actor_internal::kObserve*). Built with
  // TROUPE_NO_OBSERVATION_HOOKS it is always 0, and the hooks' code is
  // compiled out: the baseline that bench A1 compares against.
  uint8_t observe_flags() const { return link_->observe_flags(); }

  const std::string& name() const { return name_; }
  using CellEnvironment::throughput;
  Registry& registry() { return registry_; }
  DeadLetters& dead_letters() { return dead_letters_; }
  Clock& clock() override { return *clock_; }
  using CellEnvironment::scheduler;
  ActorHooks* hooks() const { return hooks_.get(); }
  actor_internal::Tracer& tracer() { return link_->tracer(); }
  // One log line a second, at most, for each kind of repeated failure: a
  // handler that keeps failing must not flood the log (base/log_limiter.h).
  LogLimiter& failure_log() override { return failure_log_; }
  LogLimiter& restart_log() { return restart_log_; }
  // What the system's actors and refs keep of it (internal/system_link.h).
  actor_internal::SystemLink* link() const { return link_; }

 private:
  ActorRef SpawnActor(SpawnOptions options, actor_internal::ActorCell* parent,
                      ActorFactory factory);
  // Makes a cell and enters it in the live set and its parent's children;
  // null (the cell stopped unstarted, `ref` still names it) if the system
  // or the parent is stopping.
  actor_internal::ActorCell* AdmitCell(SpawnOptions& options, actor_internal::ActorCell* parent,
                                       size_t actor_size, uint32_t type_name, ActorRef* ref);
  std::shared_ptr<Scheduler> DedicatedSchedulerFor(actor_internal::ActorCell* cell);
  // Shutdown()'s first half: marks the system shutting down and tells the
  // roots to stop, once; never waits.
  void BeginShutdown() ABSL_LOCKS_EXCLUDED(shutdown_mu_);
  void FinishShutdown() ABSL_LOCKS_EXCLUDED(shutdown_mu_);
  bool OnSystemThread() const;
  void SetObserveFlag(uint8_t flag, bool on);

  // CellEnvironment: what the cells use of the system.
  void PublishDeadLetter(EnvelopePtr envelope, DeadLetterReason reason,
                         const actor_internal::Addressable* receiver) override;
  void UnregisterAll(actor_internal::Addressable* cell) override;
  ActorRef SpawnChild(actor_internal::ActorCell* parent, SpawnOptions options,
                      ActorFactory factory) override;
  ActorRef SpawnSupervisedChild(actor_internal::ActorCell* parent, SpawnOptions options,
                                size_t actor_size, uint32_t type_name,
                                IncarnationFactory factory) override;
  void OnCellFinished(actor_internal::ActorCell* cell) override;

  const std::string name_;
  const std::shared_ptr<ActorHooks> hooks_;
  // Outlives the system while any ref does; holds the observation flags and
  // the tracer. The system's reference is dropped in the destructor.
  actor_internal::SystemLink* const link_;
  DeadLetters dead_letters_;
  LogLimiter failure_log_;
  LogLimiter restart_log_;
  Registry registry_;
  std::unique_ptr<Clock> clock_;
  const std::unique_ptr<Scheduler> owned_scheduler_;  // what scheduler() returns
  actor_internal::MemoryKeeper memory_keeper_;        // stopped before the scheduler
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> shutting_down_{false};
  actor_internal::LiveSet live_;
  actor_internal::DedicatedThreads dedicated_threads_;

  Mutex shutdown_mu_;
  CondVar shutdown_cv_;  // the live set emptied during shutdown, or termination
  bool terminated_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_ACTOR_SYSTEM_H_
