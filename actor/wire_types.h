// -----------------------------------------------------------------------------
// File: wire_types.h
// -----------------------------------------------------------------------------
//
// The protobuf message types this process can take from the wire: each maps
// its full name to a decoder that makes the envelope a local send of that
// type would have made. remote/ uses it for mail from other nodes.
//
//   troupe::RegisterWireType<orders::Placed>();      // rarely needed, see below
//   troupe::WireDecoder decode = troupe::FindWireType("orders.Placed");
//   absl::StatusOr<troupe::EnvelopePtr> e = decode(bytes);
//
// A type registers itself, before main(), when any actor handles it
// (Behavior::On<T>) or any code asks for it as a reply (Ask<R>): what a
// process handles, it can decode. Call RegisterWireType<T>() for a type that
// reaches actors some other way (a catch-all handler).
//
// Thread-safety: any thread; registration is idempotent.

#ifndef TROUPE_ACTOR_WIRE_TYPES_H_
#define TROUPE_ACTOR_WIRE_TYPES_H_

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "actor/message.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace troupe {

// Parses `bytes` into a new envelope of the registered type (no sender).
using WireDecoder = absl::StatusOr<EnvelopePtr> (*)(std::string_view bytes);

// The decoder for protobuf type `full_name`, or null if no such type is
// registered in this process.
WireDecoder FindWireType(std::string_view full_name);

namespace actor_internal {

// Names are not computed here: this runs before main(), possibly before
// the type's descriptor is registered, so FindWireType() asks them later.
void AddWireType(const MessageType& type, WireDecoder decoder);
absl::Status WireParseError(std::string_view full_name, size_t size);

template <typename T>
absl::StatusOr<EnvelopePtr> DecodeWire(std::string_view bytes) {
  // Parsed where it will live: no message moved into the envelope.
  auto envelope = std::make_unique<TypedEnvelope<T>>(std::in_place);
  if (!envelope->message().ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return WireParseError(MessageTypeOf<T>().name(), bytes.size());
  }
  return EnvelopePtr(std::move(envelope));
}

template <typename T>
bool AddWireTypeOf() {
  if constexpr (std::is_base_of_v<google::protobuf::Message, T>) {
    AddWireType(MessageTypeOf<T>(), &DecodeWire<T>);
  }
  return true;
}

// Naming it (`(void)kWireType<T>;`) registers T before main(): the dynamic
// initialiser of an instantiated variable template runs at start-up, so a
// handler or an ask pays nothing at run time for it.
template <typename T>
inline const bool kWireType = AddWireTypeOf<std::remove_cvref_t<T>>();

}  // namespace actor_internal

// RegisterWireType<T>()
//
// Makes protobuf message type `T` decodable here. Any thread, any time.
template <typename T>
void RegisterWireType() {
  static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                "only protobuf messages cross between nodes");
  actor_internal::AddWireTypeOf<T>();
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_WIRE_TYPES_H_
