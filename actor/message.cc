#include "actor/message.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string_view>
#include <typeinfo>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace troupe::actor_internal {

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

}  // namespace troupe::actor_internal
