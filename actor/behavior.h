// -----------------------------------------------------------------------------
// File: behavior.h
// -----------------------------------------------------------------------------
//
// `Behavior`: an actor's message handlers, one per message type.
//
//   troupe::Behavior MakeBehavior() override {
//     return troupe::Behavior()
//         .On<counter::Increment>([this](const counter::Increment& m) { total_ += m.by(); })
//         .On<counter::Get>([this](const counter::Get&) {
//           counter::Count reply;
//           reply.set_total(total_);
//           return reply;  // a returned value is the reply to the sender
//         });
//   }
//
// A handler may also be a coroutine that returns a troupe::Task<R>: it can
// co_await asks, futures, channels, sleeps and other tasks, and its result
// is the reply (Task<absl::Status> replies only with an error):
//
//   .On<Quote>([this](const Quote& q) -> troupe::Task<Price> {
//     absl::StatusOr<Price> a = co_await vendor_a_.Ask<Price>(q, kTimeout);
//     absl::StatusOr<Price> b = co_await vendor_b_.Ask<Price>(q, kTimeout);
//     if (!a.ok()) co_return b;
//     if (!b.ok()) co_return a;
//     co_return a->cents() <= b->cents() ? *a : *b;
//   })
//
// Such a handler is not reentrant: while its task is suspended, the actor
// handles no other ordinary mail (it waits, in order); lifecycle signals
// still get through. Every step of the task runs on the actor's own turn,
// with Sender(), Self() and Reply() meaning what they meant at its start.
// `co_await troupe::Reentrant(...)` (reentrant.h) lets other mail in during
// one await. Stopping or restarting the actor cancels its suspended tasks;
// their frames unwind before OnStop. An ask cycle between suspended
// handlers (A awaits B, which awaits A) fails at once with
// kFailedPrecondition. An exception escaping the task is an error reply,
// not a failure of the actor. (The message, the handler's closure and its
// captures live as long as the task; do not Stash() or TakeMessage() in a
// task and then keep using the message.)
//
// A handler takes the message by const reference, by (rvalue) reference or
// by value (it is moved in). What a handler returns is sent back to the
// message's sender, as if by Actor::Reply(): return an absl::StatusOr<T> to
// reply with a T or with an error status. Return void to reply later or not
// at all. A returned value for a message that has no sender (a plain Tell)
// is dropped, since nobody asked; a returned error is then logged.
//
// Dispatch is O(1): a behaviour with up to kLinearHandlers handlers compares
// type pointers in a small contiguous array (faster than hashing at that
// size); a larger one also builds a hash index. Registering a second
// handler for the same type replaces the first.
//
// Thread-safety: a Behavior belongs to one actor and is used by its
// handlers only.

#ifndef TROUPE_ACTOR_BEHAVIOR_H_
#define TROUPE_ACTOR_BEHAVIOR_H_

#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "actor/internal/actor_tasks.h"
#include "actor/internal/addressable.h"
#include "actor/internal/handler.h"
#include "actor/message.h"
#include "actor/wire_types.h"
#include "async/internal/root_runner.h"
#include "async/task.h"
#include "base/stringify.h"

namespace troupe {

// How Actor::Become() treats the current behaviour.
enum class BecomeMode {
  kReplace,  // drop it (the default: state machines stay bounded)
  kStack,    // keep it below, for Unbecome()
};

// "replace", "stack".
std::string_view BecomeModeName(BecomeMode mode);
template <typename Sink>
void AbslStringify(Sink& sink, BecomeMode mode) {
  sink.Append(BecomeModeName(mode));
}

namespace actor_internal {

// Sends `reply` to the sender of `request`, from `self`; dead-letters it if
// the request had no sender.
void Reply(const Envelope& request, Addressable* self, EnvelopePtr reply);
// The same for a value a handler returned, except that with no sender it is
// dropped (nobody asked), and an error status is logged instead.
void ReplyReturned(const Envelope& request, Addressable* self, EnvelopePtr reply);

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// Replies with a value a handler returned (not a status). A value the
// handler gave up (an rvalue) goes to the asker as it is when the asker
// wants only the value (Addressable::DeliverReplyValue); otherwise, and
// with nobody to reply to, as ReplyReturned().
template <typename R>
void ReplyWithValue(const Envelope& request, Addressable* self, R&& value) {
  using U = std::remove_cvref_t<R>;
  if constexpr (std::is_rvalue_reference_v<R&&> && !std::is_const_v<std::remove_reference_t<R>> &&
                !std::is_same_v<U, absl::Status>) {
    if (const AddressablePtr& to = request.sender()) {
      to->DeliverReplyValue(MessageTypeOf<U>(), &value, self,
                            [&] { return MakeEnvelope(std::move(value)); });
    }
  } else {
    ReplyReturned(request, self, MakeEnvelope(std::forward<R>(value)));
  }
}

// Replies with what a handler returned.
template <typename R>
void ReplyWithResult(const Envelope& request, Addressable* self, R&& result) {
  using U = std::remove_cvref_t<R>;
  if constexpr (IsStatusOr<U>::value) {
    if (result.ok()) {
      ReplyWithValue(request, self, std::move(*result));
    } else {
      // Moved from an rvalue: a copy would share the status with the asker,
      // and dropping ours after it read the message frees it here, which
      // ThreadSanitizer (blind to absl's uninstrumented count) calls a race.
      ReplyReturned(request, self, MakeEnvelope(absl::Status(std::forward<R>(result).status())));
    }
  } else {
    ReplyWithValue(request, self, std::forward<R>(result));
  }
}

template <typename T>
struct IsTask : std::false_type {};
template <typename T>
struct IsTask<Task<T>> : std::true_type {};

// A handler's task: its result is the reply, sent from its last step (where
// the request is the message being handled, as at its start). A Task<void>
// (or Task<absl::Status>) replies only with an error.
template <typename R>
class HandlerStrand final : public CellStrand {
 public:
  explicit HandlerStrand(Addressable* self) : CellStrand(self, Kind::kHandler) {}

  void SetResult(TaskResult<R> result) {
    const Envelope* request = StrandMessage(this);
    if constexpr (std::is_void_v<R> || std::is_same_v<R, absl::Status>) {
      if (result.ok()) return;
      if (request != nullptr) {
        ReplyReturned(*request, self(), MakeEnvelope(std::move(result)));
      } else {
        LogBackgroundFailure(result);
      }
    } else if (request != nullptr) {
      ReplyWithResult(*request, self(), std::move(result));
    } else if (!result.ok()) {
      LogBackgroundFailure(result.status());  // the handler took its message
    }
  }

  // The task has ended: the reply goes out, then its frame is destroyed
  // and the actor forgets the strand.
  void RootEnded(std::coroutine_handle<> root) noexcept override {
    SetResult(async_internal::TakeRootResult<R>(root));
    root.destroy();
    Ended();
  }
};

// Runs a handler's task: its first step now, the rest on later turns.
template <typename R>
void StartHandlerTask(Addressable* self, Task<R> task) {
  auto* strand = new HandlerStrand<R>(self);
  std::coroutine_handle<> root = async_internal::BindRoot(std::move(task), strand);
  StartStrand(self, strand, root, FirstStep::kInline);
}

}  // namespace actor_internal

class Behavior {
 public:
  // Up to this many handlers are searched linearly; more get a hash index.
  static constexpr size_t kLinearHandlers = 8;

  // The handler's view of one message: the envelope and the actor's own ref.
  using Handler = actor_internal::Handler;

  Behavior() = default;
  Behavior(Behavior&&) noexcept = default;
  Behavior& operator=(Behavior&&) noexcept = default;

  // Behavior::On<T>()
  //
  // Registers `fn` for messages of type `T`; see the file comment for the
  // signatures it may have.
  template <typename T, typename Fn>
  Behavior& On(Fn&& fn) & {
    (void)actor_internal::kWireType<T>;  // mail of this type may come from other nodes
    Add(&MessageTypeOf<T>(), MakeHandler<std::remove_cvref_t<T>>(std::forward<Fn>(fn)));
    return *this;
  }
  template <typename T, typename Fn>
  Behavior&& On(Fn&& fn) && {
    return std::move(On<T>(std::forward<Fn>(fn)));
  }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // Behavior::Find()
  //
  // The handler for `type`, or null.
  Handler* Find(const MessageType& type) {
    if (index_ != nullptr) {
      auto it = index_->find(&type);
      return it == index_->end() ? nullptr : &entries_[it->second].handler;
    }
    for (Entry& entry : entries_) {
      if (entry.type == &type) return &entry.handler;
    }
    return nullptr;
  }

 private:
  struct Entry {
    const MessageType* type;
    Handler handler;
  };

  template <typename T, typename Fn>
  static Handler MakeHandler(Fn&& fn) {
    return
        [fn = std::forward<Fn>(fn)](Envelope& envelope, actor_internal::Addressable* self) mutable {
          T& message = envelope.As<T>();
          auto invoke = [&]() -> decltype(auto) {
            if constexpr (std::is_invocable_v<Fn&, T&&>) {
              return std::invoke(fn, std::move(message));
            } else {
              static_assert(std::is_invocable_v<Fn&, T&>,
                            "a handler of T takes const T&, T&, T&& or T");
              return std::invoke(fn, message);
            }
          };
          using R = decltype(invoke());
          if constexpr (std::is_void_v<R>) {
            invoke();
          } else if constexpr (actor_internal::IsTask<std::remove_cvref_t<R>>::value) {
            actor_internal::StartHandlerTask(self, invoke());
          } else {
            actor_internal::ReplyWithResult(envelope, self, invoke());
          }
        };
  }

  void Add(const MessageType* type, Handler handler);

  // One handler inline (the common actor has one or two), the rest on the heap.
  absl::InlinedVector<Entry, 1> entries_;
  std::unique_ptr<absl::flat_hash_map<const MessageType*, size_t>> index_;  // > kLinearHandlers
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_BEHAVIOR_H_
