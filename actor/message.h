// -----------------------------------------------------------------------------
// File: message.h
// -----------------------------------------------------------------------------
//
// How a message travels between actors: its type identity (`MessageType`)
// and the envelope that carries it through a mailbox.
//
//   troupe::EnvelopePtr e = troupe::MakeEnvelope(counter::Increment());
//   if (e->Is<counter::Increment>()) Use(e->As<counter::Increment>());
//   LOG("{}", e->type().name());  // "counter.Increment"
//
// A message is any movable C++ value; protobuf messages are the usual kind
// between components, and their type name is the protobuf full name. The
// value is moved into its envelope when sent and handed to the handler by
// reference: inside one process nothing is copied or serialised.
//
// Envelopes come from the mailbox's node pool (mailbox/node_pool.h), so the
// sender's allocation and the receiver's free are cheap on different threads.
// Lifecycle signals of actor/system.proto (Stop, Kill, Down, Exit) travel in
// the mailbox's system lane and overtake ordinary mail.
//
// Users rarely touch envelopes: `ActorRef::Tell()` makes them and handlers
// receive the message itself. The type is public for the test kit, hooks and
// dead-letter observers.

#ifndef TROUPE_ACTOR_MESSAGE_H_
#define TROUPE_ACTOR_MESSAGE_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "actor/internal/addressable.h"
#include "actor/system.pb.h"
#include "base/check.h"
#include "mailbox/mailbox.h"
#include "mailbox/node_pool.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace troupe {

// MessageType
//
// The identity of a message type: one object per C++ type, constant-
// initialised (no guard on use), so type equality is comparing with an
// address known at link time and dispatch hashes a pointer.
class MessageType {
 public:
  constexpr MessageType(std::string (*make_name)(), bool system)
      : make_name_(make_name), system_(system) {}
  MessageType(const MessageType&) = delete;
  MessageType& operator=(const MessageType&) = delete;

  // The protobuf full name ("counter.Increment") or the demangled C++ name
  // ("std::string"), computed on first use.
  const std::string& name() const;
  bool is_system() const { return system_; }

 private:
  std::string (*const make_name_)();
  const bool system_;
  // Set once by the first name() (a racing loser frees its copy). acquire /
  // release: the string is complete before its pointer is seen.
  mutable std::atomic<const std::string*> name_{nullptr};
};

namespace actor_internal {

std::string DemangledName(const char* mangled);
const std::string& ProtobufFullName(const google::protobuf::Message& prototype);
// Builds system.proto's descriptors now (see message.cc: done by each
// ActorSystem before its actors run, so that their threads find them built).
void BuildSystemDescriptors();

// The lifecycle signals of system.proto, and the actor layer's own internal
// ones (internal/lifecycle.h), which declare `kSystemLane`.
template <typename T>
constexpr bool kIsSystemMessage =
    std::is_same_v<T, proto::Stop> || std::is_same_v<T, proto::Kill> ||
    std::is_same_v<T, proto::Down> || std::is_same_v<T, proto::Exit> || requires {
  requires T::kSystemLane;
};

template <typename U>
std::string MakeTypeName() {
  if constexpr (std::is_base_of_v<google::protobuf::Message, U>) {
    return ProtobufFullName(U::default_instance());
  } else {
    return DemangledName(typeid(U).name());
  }
}

template <typename U>
constinit MessageType kMessageType(&MakeTypeName<U>, kIsSystemMessage<U>);

}  // namespace actor_internal

// MessageTypeOf<T>()
//
// The one MessageType of `T` (cv and reference qualifiers ignored).
template <typename T>
constexpr const MessageType& MessageTypeOf() {
  return actor_internal::kMessageType<std::remove_cvref_t<T>>;
}

// Envelope
//
// A message in transit, with the ref of whoever expects a reply (empty for
// fire-and-forget mail). Owned through `EnvelopePtr`.
class Envelope : public MailboxNode, public PooledNode {
 public:
  // Pure: only a TypedEnvelope is ever made. (It also tells the compiler
  // that no object is exactly an Envelope, so it does not guess at one
  // when a turn destroys a message.)
  virtual ~Envelope() = 0;
  Envelope(const Envelope&) = delete;
  Envelope& operator=(const Envelope&) = delete;

  const MessageType& type() const { return *type_; }

  template <typename T>
  bool Is() const {
    return type_ == &MessageTypeOf<T>();
  }

  // Envelope::As<T>()
  //
  // The message, which must be a `T` (check with Is<T>()).
  template <typename T>
  T& As();

  // The sender, to whom a reply goes; null if none was attached. (Actors see
  // it as `Actor::Sender()`, an ActorRef.)
  const actor_internal::AddressablePtr& sender() const { return sender_; }
  void set_sender(actor_internal::AddressablePtr sender) { sender_ = std::move(sender); }

  // The message as a protobuf message, or null if it is another kind of
  // value. For logs, traces and test failures (text format).
  virtual const google::protobuf::Message* AsProtobuf() const { return nullptr; }

  // The id that ties the message's send to its activation in a trace
  // (actor/tracing.h); 0 if it was sent while tracing was off.
  uint64_t trace_flow() const { return trace_flow_; }
  void set_trace_flow(uint64_t flow) { trace_flow_ = flow; }

 protected:
  explicit Envelope(const MessageType& type) : type_(&type) {
    set_lane(type.is_system() ? Lane::kSystem : Lane::kOrdinary);
  }

 private:
  const MessageType* type_;
  actor_internal::AddressablePtr sender_;
  uint64_t trace_flow_ = 0;
};

using EnvelopePtr = std::unique_ptr<Envelope>;

template <typename T>
class TypedEnvelope final : public Envelope {
 public:
  explicit TypedEnvelope(T&& message)
      : Envelope(MessageTypeOf<T>()), message_(std::move(message)) {}
  explicit TypedEnvelope(const T& message) : Envelope(MessageTypeOf<T>()), message_(message) {}
  // An envelope around a default `T`, to be filled in place (a message
  // parsed from the wire: actor/wire_types.h).
  explicit TypedEnvelope(std::in_place_t) : Envelope(MessageTypeOf<T>()) {}

  T& message() { return message_; }
  const google::protobuf::Message* AsProtobuf() const override {
    if constexpr (std::is_base_of_v<google::protobuf::Message, T>) {
      return &message_;
    } else {
      return nullptr;
    }
  }

 private:
  T message_;
};

template <typename T>
T& Envelope::As() {
  TROUPE_DCHECK(Is<T>(), "envelope holds {}, not {}", type().name(), MessageTypeOf<T>().name());
  return static_cast<TypedEnvelope<T>*>(this)->message();
}

inline Envelope::~Envelope() = default;

// MakeEnvelope()
//
// Moves (or copies, for an lvalue) `message` into a new envelope, with no
// sender or with `sender` (to whom a reply goes). Two overloads rather than
// a defaulted sender: a send without one (Tell, TellWithin) then builds and
// destroys no empty reference. Always inlined, as the sends that call it
// are: the one call per message they would otherwise make (bench O1's
// sender, callgrind: 197 -> 182 instructions a message).
template <typename T>
[[gnu::always_inline]] inline EnvelopePtr MakeEnvelope(T&& message) {
  using U = std::remove_cvref_t<T>;
  static_assert(!std::is_pointer_v<U>, "send the value, not a pointer to it");
  return std::make_unique<TypedEnvelope<U>>(std::forward<T>(message));
}
template <typename T>
EnvelopePtr MakeEnvelope(T&& message, actor_internal::AddressablePtr sender) {
  EnvelopePtr envelope = MakeEnvelope(std::forward<T>(message));
  if (sender) envelope->set_sender(std::move(sender));
  return envelope;
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_MESSAGE_H_
