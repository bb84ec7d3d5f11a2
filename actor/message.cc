#include "actor/message.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string_view>
#include <typeinfo>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace troupe {

const std::string& MessageType::name() const {
  const std::string* name = name_.load(std::memory_order_acquire);
  if (name != nullptr) return *name;
  auto* made = new std::string(make_name_());  // lives as long as the type: forever
  if (name_.compare_exchange_strong(name, made, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
    return *made;
  }
  delete made;  // another thread named it first
  return *name;
}

namespace actor_internal {

std::string DemangledName(const char* mangled) {
  if (std::string_view(mangled) == typeid(std::string).name()) return "std::string";
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && demangled != nullptr ? std::string(demangled.get()) : std::string(mangled);
}

namespace {
// libprotobuf builds descriptors on first use, behind call_once and
// function-local statics inside the library. Debian's library is not built
// with ThreadSanitizer, which therefore cannot see that synchronisation: two
// threads touching descriptors for the first time at once look like a race
// to it. troupe's own first touches go through this mutex, which it sees.
std::mutex& DescriptorMutex() {
  static auto* mu = new std::mutex();
  return *mu;
}
}  // namespace

const std::string& ProtobufFullName(const google::protobuf::Message& prototype) {
  std::lock_guard<std::mutex> lock(DescriptorMutex());
  return prototype.GetDescriptor()->full_name();
}

void BuildSystemDescriptors() {
  std::lock_guard<std::mutex> lock(DescriptorMutex());
  (void)proto::ExitReason::descriptor();  // all of system.proto, its enums included
}

}  // namespace actor_internal
}  // namespace troupe
