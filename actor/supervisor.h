// -----------------------------------------------------------------------------
// File: supervisor.h
// -----------------------------------------------------------------------------
//
// `Supervisor`: an actor that starts children from specs and heals them
// when they fail, in the manner of Erlang/OTP's supervisor.
//
//   troupe::SupervisorOptions options;
//   options.strategy = troupe::SupervisionStrategy::kOneForOne;
//   options.max_restarts = 5;                 // more than 5 restarts ...
//   options.within = absl::Seconds(10);       // ... in 10 s: give up
//   troupe::ActorRef pool = system.Spawn<troupe::Supervisor>(
//       options, std::vector<troupe::ChildSpec>{
//                    troupe::ChildSpec::Of<Worker>("worker-1", /*id=*/1),
//                    troupe::ChildSpec::Of<Worker>("worker-2", /*id=*/2)});
//   auto children =
//       pool.Ask<std::vector<troupe::SupervisedChild>>(troupe::WhichChildren(), timeout).Get();
//
// Restarts keep the child's identity: a restarted child keeps its ActorRef
// and its mailbox. The mail queued when it failed goes to the new
// incarnation, in order; the message whose handler failed is not retried
// but dead-lettered (kHandlerFailed). Stashed mail is handed over first.
// Between incarnations the old one is finished as on any stop: its own
// children stop, then its OnStop() runs, then it is destroyed; then a fresh
// one is constructed from the spec (its constructor, MakeBehavior, OnStart).
// A kill (proto::Kill) discards the queued mail, as if the actor had died
// with it.
//
// When a child ends, its restart policy says whether it comes back:
//   kPermanent  always (even after a normal stop);
//   kTransient  only after an abnormal end (failure, kill, linked exit);
//   kTemporary  never: it is left stopped and leaves the supervisor.
// The strategy says who restarts with it:
//   kOneForOne   only the child that ended;
//   kAllForOne   every child (temporary ones are stopped instead);
//   kRestForOne  the child and those started after it.
// Restarts of several children run concurrently: each keeps its mailbox,
// so mail sent to a sibling meanwhile waits for it rather than being lost.
//
// Intensity: more than `max_restarts` restarts within `within` means the
// trouble is not local. The supervisor then fails itself (FAILURE reason),
// stopping its children; its own supervisor, if it has one, decides next,
// and watchers and links see the failure. Backoff: with `backoff.initial`
// set, a child's k-th restart within the window waits
// initial * multiplier^(k-1), at most `backoff.max`, on the system's clock.
//
// Stopping a supervisor stops its children one at a time, newest first,
// each finishing (OnStop) before the next is told: a tree stops in the
// reverse of the order it started. At system shutdown it tells them all at
// once instead (each subtree still stops bottom-up): one at a time, each
// step waits for the child's turn behind every busy actor, and a shutdown
// under load must be bounded.
//
// Thread-safety: a Supervisor is an actor; talk to it by messages.

#ifndef TROUPE_ACTOR_SUPERVISOR_H_
#define TROUPE_ACTOR_SUPERVISOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_ref.h"
#include "actor/behavior.h"
#include "actor/internal/type_names.h"
#include "base/stringify.h"

namespace troupe {

namespace actor_internal {
struct ChildEnded;
}  // namespace actor_internal

// Whether a child that ended is restarted: always, only after a failure, or
// never (Erlang/OTP's permanent, transient and temporary).
enum class RestartPolicy { kPermanent, kTransient, kTemporary };

// Which children restart when one fails: itself, all of them, or it and the
// ones started after it.
enum class SupervisionStrategy { kOneForOne, kAllForOne, kRestForOne };

// "permanent", "transient", "temporary"; "one for one", "all for one", "rest for one".
std::string_view RestartPolicyName(RestartPolicy policy);
std::string_view SupervisionStrategyName(SupervisionStrategy strategy);
template <typename Sink>
void AbslStringify(Sink& sink, RestartPolicy policy) {
  sink.Append(RestartPolicyName(policy));
}
template <typename Sink>
void AbslStringify(Sink& sink, SupervisionStrategy strategy) {
  sink.Append(SupervisionStrategyName(strategy));
}

// ChildSpec
//
// How to make a child, again and again: its name, its restart policy and a
// constructor call with copies of the arguments (each incarnation is built
// from the same arguments, so they must be copyable).
struct ChildSpec {
  std::string name;
  RestartPolicy restart = RestartPolicy::kPermanent;
  bool dedicated = false;  // run it on a thread of its own
  // Register the child in the system's registry under `name` while it
  // lives (restarts included): system.registry().Lookup(name) reaches it.
  bool registered = false;
  size_t actor_size = 0;
  uint32_t type_name = 0;  // internal/type_names.h, for an empty `name`
  // Copyable (std::function, not AnyInvocable): every incarnation is made
  // by a copy, and the spec itself is kept for the next restart.
  std::function<Actor*(void* storage)> construct;

  template <typename T, typename... Args>
  static ChildSpec Of(std::string name, Args... args) {
    static_assert(std::is_base_of_v<Actor, T>,
                  "ChildSpec::Of<T>: T must derive from troupe::Actor");
    static_assert(alignof(T) <= 16, "ChildSpec::Of<T>: actors aligned to more than 16 bytes");
    ChildSpec spec;
    spec.name = std::move(name);
    spec.actor_size = sizeof(T);
    spec.type_name = actor_internal::TypeNameIndex<T>();
    spec.construct = [args = std::make_tuple(std::move(args)...)](void* storage) -> Actor* {
      return std::apply([storage](const auto&... a) -> Actor* { return new (storage) T(a...); },
                        args);
    };
    return spec;
  }

  // ChildSpec::Registered()
  //
  // Registers the child under its name (see `registered`).
  ChildSpec& Registered() & {
    registered = true;
    return *this;
  }
  ChildSpec&& Registered() && {
    registered = true;
    return std::move(*this);
  }

  ChildSpec& WithRestart(RestartPolicy policy) & {
    restart = policy;
    return *this;
  }
  ChildSpec&& WithRestart(RestartPolicy policy) && {
    restart = policy;
    return std::move(*this);
  }
};

struct RestartBackoff {
  absl::Duration initial = absl::ZeroDuration();  // zero: restart at once
  absl::Duration max = absl::Seconds(30);
  double multiplier = 2.0;
};

struct SupervisorOptions {
  SupervisionStrategy strategy = SupervisionStrategy::kOneForOne;
  int max_restarts = 3;
  absl::Duration within = absl::Seconds(5);
  RestartBackoff backoff;
};

// Asked of a Supervisor: its current children, in start order.
// Reply: std::vector<SupervisedChild>.
struct WhichChildren {};
struct SupervisedChild {
  std::string name;
  ActorRef ref;
};

// Asked of a Supervisor: start one more child. Reply: its ActorRef.
struct StartChild {
  ChildSpec spec;
};

class Supervisor final : public Actor {
 public:
  Supervisor(SupervisorOptions options, std::vector<ChildSpec> children);

 protected:
  Behavior MakeBehavior() override;
  void OnStart() override;

 private:
  struct Child {
    ChildSpec spec;
    ActorRef ref;
    const void* cell;                 // identifies it in ChildEnded
    uint32_t incarnation = 1;         // the one running or about to run
    std::deque<absl::Time> restarts;  // within the window, for backoff
  };

  ActorRef StartOne(ChildSpec spec);
  void OnChildEnded(const actor_internal::ChildEnded& ended);
  bool TooManyRestarts(absl::Time now);
  absl::Duration BackoffFor(Child& child, absl::Time now);
  void Restart(Child& child, absl::Duration delay);
  void Terminate(Child& child);

  const SupervisorOptions options_;
  std::vector<ChildSpec> initial_;
  std::vector<Child> children_;      // in start order
  std::deque<absl::Time> restarts_;  // every restart within the window
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_SUPERVISOR_H_
