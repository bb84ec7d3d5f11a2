#include "actor/stats.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace troupe {

std::string_view ActorStateName(ActorState state) {
  switch (state) {
    case ActorState::kIdle:
      return "idle";
    case ActorState::kScheduled:
      return "scheduled";
    case ActorState::kRunning:
      return "running";
    case ActorState::kEnding:
      return "ending";
    case ActorState::kSuspended:
      return "suspended";
    case ActorState::kStopping:
      return "stopping";
  }
  return "unknown";
}

namespace {

std::string Percent(double fraction) {
  return absl::StrFormat("%.1f%%", 100.0 * std::clamp(fraction, 0.0, 1.0));
}

void AppendActor(const ActorStats& actor, const SystemStats& stats, int depth, std::string* out) {
  absl::StrAppend(out, std::string(2 * static_cast<size_t>(depth + 1), ' '), actor.name, "#",
                  actor.id, "  ", ToString(actor.state));
  if (actor.state == ActorState::kRunning) absl::StrAppend(out, " on worker ", actor.worker);
  if (actor.dedicated) absl::StrAppend(out, " (dedicated thread)");
  if (actor.priority != Priority::kNormal) {
    absl::StrAppend(out, "  priority ", std::string(PriorityName(actor.priority)));
  }
  absl::StrAppend(out, "  mailbox ", actor.mailbox_depth);
  if (actor.mailbox_capacity > 0) {
    absl::StrAppend(out, "/", actor.mailbox_capacity, " (high water ", actor.mailbox_high_water);
    if (actor.mailbox_rejected > 0) absl::StrAppend(out, ", rejected ", actor.mailbox_rejected);
    if (actor.mailbox_dropped > 0) absl::StrAppend(out, ", dropped ", actor.mailbox_dropped);
    if (actor.mailbox_redirected > 0) {
      absl::StrAppend(out, ", redirected ", actor.mailbox_redirected);
    }
    if (actor.mailbox_waiting_senders > 0) {
      absl::StrAppend(out, ", senders waiting ", actor.mailbox_waiting_senders);
    }
    out->push_back(')');
  }
  absl::StrAppend(out, "  handled ", actor.messages_handled);
  if (stats.handler_timing) {
    absl::StrAppend(out, "  in handlers ", absl::FormatDuration(actor.handler_time));
  }
  if (actor.restarts > 0) absl::StrAppend(out, "  restarts ", actor.restarts);
  if (actor.dead_letters_caused > 0) {
    absl::StrAppend(out, "  dead letters caused ", actor.dead_letters_caused);
  }
  if (!actor.links.empty()) absl::StrAppend(out, "  links ", actor.links.size());
  if (!actor.watchers.empty()) absl::StrAppend(out, "  watched by ", actor.watchers.size());
  out->push_back('\n');
}

std::string Mebibytes(size_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

std::string FormatDumpState(const SystemStats& stats) {
  std::string out =
      absl::StrCat("actor system '", stats.system, "' at ", absl::FormatTime(stats.taken), ": ",
                   stats.actors.size(), " live actors, ", stats.dead_letters, " dead letters\n");
  absl::StrAppend(&out, "pool: ", Mebibytes(stats.pool_memory.slab_bytes), " carved, ",
                  Mebibytes(stats.pool_memory.depot_free_bytes), " free, ",
                  Mebibytes(stats.pool_memory.returned_bytes), " given back\n");

  // Which actor each worker runs, by the id the actor stats give it.
  absl::flat_hash_map<int, const ActorStats*> running;
  for (const ActorStats& actor : stats.actors) {
    if (actor.state == ActorState::kRunning) running[actor.worker] = &actor;
  }
  if (!stats.workers.empty()) out += "workers:\n";
  for (const WorkerStats& worker : stats.workers) {
    absl::StrAppend(&out, "  worker ", worker.index, "  ");
    if (auto it = running.find(worker.index); it != running.end()) {
      absl::StrAppend(&out, "running ", it->second->name, "#", it->second->id);
    } else if (worker.running_job != nullptr) {
      out += "running a task";
    } else {
      out += "idle";
    }
    absl::StrAppend(&out, "  busy ", Percent(worker.busy_fraction), "  ran ", worker.executed,
                    "  stole ", worker.steals, "  slept ", worker.parks, " times\n");
  }

  // The actors as a tree: each under its parent, roots (and actors whose
  // parent has already left) at the top, in id order.
  absl::flat_hash_map<uint64_t, std::vector<const ActorStats*>> children;
  absl::flat_hash_map<uint64_t, const ActorStats*> by_id;
  for (const ActorStats& actor : stats.actors) by_id[actor.id] = &actor;
  std::vector<const ActorStats*> roots;
  for (const ActorStats& actor : stats.actors) {
    if (actor.parent != 0 && by_id.contains(actor.parent)) {
      children[actor.parent].push_back(&actor);
    } else {
      roots.push_back(&actor);
    }
  }
  out += "actors:\n";
  // Depth-first, without recursion: a deep supervision tree cannot overflow.
  std::vector<std::pair<const ActorStats*, int>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    auto [actor, depth] = stack.back();
    stack.pop_back();
    AppendActor(*actor, stats, depth, &out);
    if (auto it = children.find(actor->id); it != children.end()) {
      for (auto child = it->second.rbegin(); child != it->second.rend(); ++child) {
        stack.emplace_back(*child, depth + 1);
      }
    }
  }
  return out;
}

}  // namespace troupe
