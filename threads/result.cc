#include "threads/result.h"

#include <exception>
#include <string>

#include "absl/strings/str_cat.h"

namespace troupe::threads_internal {

absl::Status StatusFromCurrentException(std::string_view context) {
  const std::string where(context);
  try {
    throw;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("exception in ", where, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat("exception in ", where, ": unknown exception type"));
  }
}

}  // namespace troupe::threads_internal
