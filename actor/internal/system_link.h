// -----------------------------------------------------------------------------
// File: internal/system_link.h
// -----------------------------------------------------------------------------
//
// `SystemLink`: what every actor cell and ask receiver keeps of its
// ActorSystem, so that an ActorRef may safely outlive the system.
//
// A ref is a counted pointer to a cell, and a cell used to hold a plain
// `ActorSystem*`: a thread that kept a ref and Told after the system was
// destroyed read freed memory. The link is counted too (the system holds a
// reference, and so does every cell and ask receiver), so it lives as long
// as anything can still reach it, and it holds what the send path reads
// without knowing whether the system still exists:
//   * the observation flags, the tracer and the hooks (the send path reads
//     them before it queues; they live here, so reading them is always safe
//     and costs what it cost before: no new read-modify-write);
//   * a gate to the system itself for the rare paths that need it after a
//     send failed (dead letters, ask timers): `Enter()` returns a pass that
//     keeps the system from finishing its destruction while it is held, or
//     an empty pass once the system is gone.
//
// The send path needs no pass while it queues: a mailbox is open only while
// its actor has not finished, and the system's destructor waits for every
// actor to finish first; so a send that finds the mailbox open finds the
// system alive, and one that finds it closed takes a pass (or, once the
// system is gone, counts the mail in OrphanDeadLetters as kSystemGone).
//
// Memory ordering of the gate: Enter() increments `passes_` and then reads
// `closed_`; Close() sets `closed_` and then reads `passes_`. All four are
// seq_cst, so at least one side sees the other's write (Dekker): either the
// pass sees the close and backs out, or Close() sees the pass and waits for
// it to be returned before the system's members are destroyed.

#ifndef TROUPE_ACTOR_INTERNAL_SYSTEM_LINK_H_
#define TROUPE_ACTOR_INTERNAL_SYSTEM_LINK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace troupe {

class ActorHooks;
class Envelope;
enum class DeadLetterReason : uint8_t;

namespace actor_internal {

class Addressable;
class CellEnvironment;
class Tracer;

// The bits of SystemLink::observe_flags(): what the hot paths must do
// besides their work. Zero, the usual value, costs one relaxed load per
// send and per turn.
inline constexpr uint8_t kObserveHooks = 1;   // call ActorSystemOptions::hooks
inline constexpr uint8_t kObserveTiming = 2;  // time each handler
inline constexpr uint8_t kObserveTrace = 4;   // record sends and activations

class SystemLink {
 public:
  // Made by the ActorSystem (or a test's environment), which holds the
  // first reference.
  SystemLink(CellEnvironment* env, std::string name, std::shared_ptr<ActorHooks> hooks);
  SystemLink(const SystemLink&) = delete;
  SystemLink& operator=(const SystemLink&) = delete;

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    // acq_rel: the last owner sees every write made through the others.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // What the hot paths must do besides their work (actor_internal::kObserve*).
  // Relaxed: a switch, not a publication; what a flag turns on is ready
  // before the flag is set. Built with TROUPE_NO_OBSERVATION_HOOKS it is
  // always 0 and the observation code is compiled out.
#ifdef TROUPE_NO_OBSERVATION_HOOKS
  static constexpr uint8_t observe_flags() { return 0; }
#else
  uint8_t observe_flags() const { return observe_.load(std::memory_order_relaxed); }
#endif
  void SetObserveFlag(uint8_t flag, bool on);

  ActorHooks* hooks() const { return hooks_.get(); }
  Tracer& tracer() { return *tracer_; }
  const std::string& name() const { return name_; }

  // The system's services, for code that runs only while the system
  // certainly lives: a turn of one of its actors, a timer it owns, a send
  // that found a mailbox open.
  CellEnvironment* env() const { return env_; }

  // A pass to the system for code that may run after it is gone. While a
  // non-empty pass is held, the system's destructor waits.
  class Pass {
   public:
    Pass() = default;
    Pass(Pass&& other) noexcept : link_(std::exchange(other.link_, nullptr)) {}
    Pass& operator=(Pass&&) = delete;
    ~Pass() {
      if (link_ != nullptr) link_->passes_.fetch_sub(1, std::memory_order_release);
    }
    explicit operator bool() const { return link_ != nullptr; }
    CellEnvironment* env() const { return link_->env_; }

   private:
    friend class SystemLink;
    explicit Pass(SystemLink* link) : link_(link) {}
    SystemLink* link_ = nullptr;
  };

  // SystemLink::Enter()
  //
  // A pass, or an empty one once the system has been destroyed. Any thread.
  Pass Enter();

  // SystemLink::Close()
  //
  // The system's destructor, after shutdown: turns observation off, makes
  // every later Enter() fail and waits until the passes held are returned.
  void Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  // True if the system's turns run only when its caller drives them (the
  // test kit's scheduler): nothing may block waiting for its actors. Set
  // before any actor exists.
  bool caller_driven() const { return caller_driven_; }
  void set_caller_driven(bool driven) { caller_driven_ = driven; }

 private:
  ~SystemLink();

  std::atomic<int64_t> refs_{1};
  std::atomic<uint8_t> observe_{0};
  CellEnvironment* const env_;
  const std::string name_;
  const std::shared_ptr<ActorHooks> hooks_;
  const std::unique_ptr<Tracer> tracer_;
  std::atomic<int64_t> passes_{0};
  std::atomic<bool> closed_{false};
  bool caller_driven_ = false;
};

// PublishDeadLetter()
//
// Publishes `envelope` to the dead letters of `link`'s system, or, once that
// system is gone, to OrphanDeadLetters() with reason kSystemGone (logging
// once per process that a ref outlived its system). `link` may be null (no
// system: OrphanDeadLetters with `reason`). Any thread.
void PublishDeadLetter(SystemLink* link, std::unique_ptr<Envelope> envelope,
                       DeadLetterReason reason, const Addressable* receiver);

}  // namespace actor_internal
}  // namespace troupe

#endif  // TROUPE_ACTOR_INTERNAL_SYSTEM_LINK_H_
