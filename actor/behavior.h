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
#include "actor/internal/addressable.h"
#include "actor/internal/handler.h"
#include "actor/message.h"
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

// Replies with what a handler returned.
template <typename R>
void ReplyWithResult(const Envelope& request, Addressable* self, R&& result) {
  using U = std::remove_cvref_t<R>;
  if constexpr (IsStatusOr<U>::value) {
    if (result.ok()) {
      ReplyReturned(request, self, MakeEnvelope(std::move(*result)));
    } else {
      ReplyReturned(request, self, MakeEnvelope(absl::Status(result.status())));
    }
  } else {
    ReplyReturned(request, self, MakeEnvelope(std::forward<R>(result)));
  }
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
          if constexpr (std::is_void_v<decltype(invoke())>) {
            invoke();
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
