#include "actor/internal/type_names.h"

#include <cxxabi.h>

#include <cstdlib>
#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {

namespace {

struct Table {
  Mutex mu;
  std::deque<std::string> names ABSL_GUARDED_BY(mu) = {"actor"};
};

Table& TheTable() {
  static Table* const table = new Table();  // leaked: names are asked for during exit
  return *table;
}

}  // namespace

std::string ShortTypeName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  std::string_view full = status == 0 && demangled != nullptr ? demangled.get() : type.name();
  // Drop template arguments, then keep what follows the last "::".
  full = full.substr(0, full.find('<'));
  if (const size_t colons = full.rfind("::"); colons != std::string_view::npos) {
    full.remove_prefix(colons + 2);
  }
  return full.empty() ? std::string("actor") : std::string(full);
}

uint32_t RegisterTypeName(const std::type_info& type) {
  std::string name = ShortTypeName(type);
  Table& table = TheTable();
  MutexLock lock(table.mu);
  table.names.push_back(std::move(name));
  return static_cast<uint32_t>(table.names.size() - 1);
}

std::string TypeNameAt(uint32_t index) {
  Table& table = TheTable();
  MutexLock lock(table.mu);
  return index < table.names.size() ? table.names[index] : table.names[0];
}

}  // namespace troupe::actor_internal
