// -----------------------------------------------------------------------------
// File: internal/type_names.h
// -----------------------------------------------------------------------------
//
// Short class names for actors that were spawned without a name, so that
// logs say "counter#3" of a `Counter`, not "actor#3". A name is registered
// once per actor class and referred to by an index, which the cell keeps in
// 16 bits without growing (bench A6 keeps idle actors small): the classes
// past the 65535th are named "actor".
//
//   uint32_t index = TypeNameIndex<Counter>();  // once per type, then cached
//   std::string name = TypeNameAt(index);       // "Counter"
//
// Index 0 is "actor" (no type known). Thread-safety: any thread.

#ifndef TROUPE_ACTOR_INTERNAL_TYPE_NAMES_H_
#define TROUPE_ACTOR_INTERNAL_TYPE_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <typeinfo>

namespace troupe::actor_internal {

// The class name of a mangled C++ type name, without namespaces or
// template arguments: "troupe::(anonymous namespace)::Counter" -> "Counter".
std::string ShortTypeName(const std::type_info& type);

// Registers `type`'s short name; returns its index (never 0).
uint32_t RegisterTypeName(const std::type_info& type);

template <typename T>
uint32_t TypeNameIndex() {
  static const uint32_t index = RegisterTypeName(typeid(T));
  return index;
}

// The name at `index`; "actor" for 0 or an index never handed out.
std::string TypeNameAt(uint32_t index);

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_TYPE_NAMES_H_
