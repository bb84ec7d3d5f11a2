// -----------------------------------------------------------------------------
// File: stats.h
// -----------------------------------------------------------------------------
//
// What a running actor system is doing, as plain data: every live actor's
// counters and state, every worker's, and `FormatDumpState()`, the text to
// print when a program seems stuck.
//
//   troupe::SystemStats stats = system.Stats();
//   for (const troupe::ActorStats& actor : stats.actors) {
//     if (actor.mailbox_depth > 1000) Alert(actor.name, actor.mailbox_depth);
//   }
//   std::cerr << system.DumpState();  // the same snapshot, as an indented tree
//
// A snapshot is taken while the actors run, so each number is a recent
// value, not one consistent instant; when nothing runs (a test kit between
// steps) every count is exact. Taking one locks each shard of the live set
// briefly and touches no mailbox node: it is safe at any time, from any
// thread, as often as once a second in production.
//
// Handler time is measured only while timing is on
// (`ActorSystem::SetHandlerTiming(true)`): two clock reads per message.

#ifndef TROUPE_ACTOR_STATS_H_
#define TROUPE_ACTOR_STATS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "base/stringify.h"
#include "mailbox/node_pool.h"
#include "threads/priority.h"
#include "threads/thread_pool.h"

namespace troupe {

enum class ActorState {
  kIdle,       // nothing queued: it runs when a message arrives
  kScheduled,  // has mail, waiting for a thread (or running on one of its own)
  kRunning,    // a pool worker runs its turn now (ActorStats::worker)
  kEnding,     // stopping: waiting for its children to end
  kSuspended,  // a supervised child between incarnations, awaiting its supervisor
  kStopping,   // finished: leaving the live set
};

// "idle", "scheduled", "running", "ending", "suspended", "stopping".
std::string_view ActorStateName(ActorState state);
template <typename Sink>
void AbslStringify(Sink& sink, ActorState state) {
  sink.Append(ActorStateName(state));
}

struct ActorStats {
  uint64_t id = 0;
  std::string name;
  uint64_t parent = 0;  // the parent's id; 0 for a root
  ActorState state = ActorState::kIdle;
  int worker = -1;  // kRunning: the index of the pool worker running it
  bool dedicated = false;
  Priority priority = Priority::kNormal;  // SpawnOptions::priority, SetPriority()
  size_t mailbox_depth = 0;
  // A bounded mailbox (SpawnOptions::mailbox_capacity): its capacity (0:
  // unbounded, and the five below stay 0), the deepest its senders saw it,
  // the messages it refused, by overflow policy: rejected (dead letters
  // "mailbox full"), dropped, redirected; and the senders waiting for room.
  uint32_t mailbox_capacity = 0;
  uint32_t mailbox_high_water = 0;
  uint64_t mailbox_rejected = 0;
  uint64_t mailbox_dropped = 0;
  uint64_t mailbox_redirected = 0;
  uint32_t mailbox_waiting_senders = 0;  // blocked in TellWithin now
  // Messages taken from its mailbox, lifecycle signals included.
  uint64_t messages_handled = 0;
  // Time spent in its handlers while handler timing was on.
  absl::Duration handler_time;
  uint32_t restarts = 0;
  // Dead letters that arose in its turns: mail it sent to a stopped actor,
  // and mail it did not handle or failed on. "Who is losing messages?"
  uint64_t dead_letters_caused = 0;
  std::vector<uint64_t> links;     // the actors linked to it
  std::vector<uint64_t> watchers;  // the actors watching it
};

struct SystemStats {
  std::string system;  // the system's name
  absl::Time taken;
  std::vector<ActorStats> actors;    // the live actors, by id
  std::vector<WorkerStats> workers;  // empty for a scheduler without workers
  int64_t dead_letters = 0;          // all dead letters so far
  bool handler_timing = false;
  // The process's envelope and cell pool: carved, free in its depot, and
  // given back to the system so far (ActorSystemOptions::free_memory_high_water).
  PoolMemoryStats pool_memory;
};

// FormatDumpState()
//
// A human-readable dump: the workers, then every live actor as a tree under
// its parent, with its state, mailbox depth and counters.
std::string FormatDumpState(const SystemStats& stats);

}  // namespace troupe

#endif  // TROUPE_ACTOR_STATS_H_
