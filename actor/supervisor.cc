#include "actor/supervisor.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor_system.h"
#include "actor/internal/actor_access.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/child_signals.h"
#include "base/logging.h"

namespace troupe {

std::string_view RestartPolicyName(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::kPermanent:
      return "permanent";
    case RestartPolicy::kTransient:
      return "transient";
    case RestartPolicy::kTemporary:
      return "temporary";
  }
  return "unknown";
}

std::string_view SupervisionStrategyName(SupervisionStrategy strategy) {
  switch (strategy) {
    case SupervisionStrategy::kOneForOne:
      return "one for one";
    case SupervisionStrategy::kAllForOne:
      return "all for one";
    case SupervisionStrategy::kRestForOne:
      return "rest for one";
  }
  return "unknown";
}

using actor_internal::ChildEnded;
using actor_internal::Directive;

namespace {

bool IsAbnormal(proto::ExitReason::Kind kind) {
  return kind != proto::ExitReason::NORMAL && kind != proto::ExitReason::SYSTEM_SHUTDOWN;
}

std::string Describe(const proto::ExitReason& reason) {
  std::string text = proto::ExitReason::Kind_Name(reason.kind());
  if (!reason.detail().empty()) absl::StrAppend(&text, " (", reason.detail(), ")");
  return text;
}

// Forgets the times that fell out of the window ending at `now`.
void Expire(std::deque<absl::Time>& times, absl::Time now, absl::Duration window) {
  while (!times.empty() && times.front() <= now - window) times.pop_front();
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options, std::vector<ChildSpec> children)
    : options_(std::move(options)), initial_(std::move(children)) {
  actor_internal::ActorAccess::CellOf(*this)->MakeSupervisor();
}

Behavior Supervisor::MakeBehavior() {
  return Behavior()
      .On<ChildEnded>([this](const ChildEnded& ended) { OnChildEnded(ended); })
      .On<WhichChildren>([this](const WhichChildren&) {
        std::vector<SupervisedChild> list;
        list.reserve(children_.size());
        for (const Child& child : children_) list.push_back({child.spec.name, child.ref});
        return list;
      })
      .On<StartChild>([this](StartChild& start) { return StartOne(std::move(start.spec)); });
}

void Supervisor::OnStart() {
  std::vector<ChildSpec> specs = std::move(initial_);
  for (ChildSpec& spec : specs) StartOne(std::move(spec));
}

ActorRef Supervisor::StartOne(ChildSpec spec) {
  SpawnOptions options;
  options.name = spec.name;
  options.dedicated = spec.dedicated;
  actor_internal::ActorCell* const cell = actor_internal::ActorAccess::CellOf(*this);
  ActorRef ref = cell->env()->SpawnSupervisedChild(
      cell, std::move(options), spec.actor_size, spec.type_name,
      [construct = spec.construct](void* storage) { return construct(storage); });
  if (spec.registered) {
    // Before the child's first turn: a name a failed child never had is
    // not left behind (a stopping actor drops its names), and one taken
    // already is logged, not fatal.
    if (absl::Status status = system().registry().Register(spec.name, ref); !status.ok()) {
      LogError(ActorLog(), "supervisor: child {} not registered: {}", spec.name, status.ToString());
    }
  }
  if (ref.target()->IsAlive()) {
    children_.push_back(Child{std::move(spec), ref, ref.target().get(), 1, {}});
  }
  return ref;
}

void Supervisor::OnChildEnded(const ChildEnded& ended) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const Child& c) { return c.cell == ended.child.get(); });
  if (it == children_.end()) return;
  if (ended.terminated) {
    children_.erase(it);
    return;
  }
  // A restart or terminate already on its way made this report stale.
  if (ended.incarnation != it->incarnation) return;

  Child& failed = *it;
  const proto::ExitReason::Kind kind = ended.reason.kind();
  const bool restart = failed.spec.restart == RestartPolicy::kPermanent ||
                       (failed.spec.restart == RestartPolicy::kTransient && IsAbnormal(kind));
  if (!restart) {
    Terminate(failed);
    return;
  }
  const absl::Time now = system().clock().Now();
  if (TooManyRestarts(now)) {
    std::string why = absl::StrCat("child ", failed.spec.name, " ended: ", Describe(ended.reason),
                                   "; more than ", options_.max_restarts, " restarts within ",
                                   absl::FormatDuration(options_.within));
    LogError(ActorLog(), "supervisor gives up: {}", why);
    actor_internal::ActorAccess::CellOf(*this)->RequestStop(proto::ExitReason::FAILURE,
                                                            std::move(why));
    return;
  }
  if (int64_t skipped; system().restart_log().ShouldLog(&skipped)) {
    LogInfo(ActorLog(), "restarting child {} ({}){}", failed.spec.name, Describe(ended.reason),
            LogLimiter::Skipped(skipped));
  }
  const absl::Duration delay = BackoffFor(failed, now);
  const size_t index = static_cast<size_t>(it - children_.begin());
  size_t first = index;
  size_t last = index + 1;
  if (options_.strategy == SupervisionStrategy::kAllForOne) {
    first = 0;
    last = children_.size();
  } else if (options_.strategy == SupervisionStrategy::kRestForOne) {
    last = children_.size();
  }
  for (size_t i = first; i < last; ++i) {
    Child& child = children_[i];
    if (i != index && child.spec.restart == RestartPolicy::kTemporary) {
      Terminate(child);
    } else {
      Restart(child, delay);
    }
  }
}

bool Supervisor::TooManyRestarts(absl::Time now) {
  Expire(restarts_, now, options_.within);
  restarts_.push_back(now);
  return static_cast<int>(restarts_.size()) > options_.max_restarts;
}

absl::Duration Supervisor::BackoffFor(Child& child, absl::Time now) {
  Expire(child.restarts, now, options_.within);
  child.restarts.push_back(now);
  if (options_.backoff.initial <= absl::ZeroDuration()) return absl::ZeroDuration();
  const double factor =
      std::pow(options_.backoff.multiplier, static_cast<double>(child.restarts.size() - 1));
  return std::min(options_.backoff.initial * factor, options_.backoff.max);
}

void Supervisor::Restart(Child& child, absl::Duration delay) {
  Directive directive;
  directive.kind = Directive::Kind::kRestart;
  directive.incarnation = child.incarnation++;
  if (delay <= absl::ZeroDuration()) {
    child.ref.Tell(std::move(directive), Self());
    return;
  }
  // A restart that arrives after the child has gone, or been restarted by
  // a later decision, names an old incarnation and is ignored.
  system().clock().ScheduleAt(system().clock().Now() + delay,
                              [ref = child.ref, self = Self(), directive]() mutable {
                                ref.Tell(std::move(directive), self);
                              });
}

void Supervisor::Terminate(Child& child) {
  Directive directive;
  directive.kind = Directive::Kind::kTerminate;
  directive.reason.set_kind(proto::ExitReason::NORMAL);
  directive.reason.set_detail("not restarted");
  ++child.incarnation;  // any report still on its way is stale now
  child.ref.Tell(std::move(directive), Self());
}

}  // namespace troupe
