#include "actor/wire_types.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "threads/mutex.h"

namespace troupe {
namespace {

// Filled mostly before main() (kWireType), read by every decoding thread.
// A function-local static: it is built on first use, whichever static
// initialiser comes first.
struct WireTypes {
  Mutex mu;
  // Added, not yet entered under their names.
  std::vector<std::pair<const MessageType*, WireDecoder>> added ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, WireDecoder> decoders ABSL_GUARDED_BY(mu);
};

WireTypes& Types() {
  static auto* types = new WireTypes;  // never destroyed: used at exit too
  return *types;
}

}  // namespace

WireDecoder FindWireType(std::string_view full_name) {
  WireTypes& types = Types();
  MutexLock lock(types.mu);
  for (const auto& [type, decoder] : types.added) types.decoders.try_emplace(type->name(), decoder);
  types.added.clear();
  auto it = types.decoders.find(std::string(full_name));
  return it == types.decoders.end() ? nullptr : it->second;
}

namespace actor_internal {

void AddWireType(const MessageType& type, WireDecoder decoder) {
  WireTypes& types = Types();
  MutexLock lock(types.mu);
  types.added.emplace_back(&type, decoder);
}

absl::Status WireParseError(std::string_view full_name, size_t size) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", size, " bytes as ", std::string(full_name)));
}

}  // namespace actor_internal
}  // namespace troupe
