#include "threads/thread.h"

#include <pthread.h>

#include <exception>
#include <string>

#include "absl/strings/str_cat.h"

namespace troupe {
namespace threads_internal {

void SetCurrentThreadName(std::string_view name) {
  // Linux keeps 15 bytes plus the terminator; longer names make the call fail.
  std::string truncated(name.substr(0, 15));
  pthread_setname_np(pthread_self(), truncated.c_str());
}

}  // namespace threads_internal

std::string CurrentThreadName() {
  char buffer[16] = {};
  pthread_getname_np(pthread_self(), buffer, sizeof(buffer));
  return buffer;
}

}  // namespace troupe
