#include "actor/message.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
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

const std::string& ProtobufFullName(const google::protobuf::Message& prototype) {
  return prototype.GetDescriptor()->full_name();
}

}  // namespace actor_internal
}  // namespace troupe
