// -----------------------------------------------------------------------------
// File: drain_for_test.h
// -----------------------------------------------------------------------------
//
// `Drain(stream)`: a task that pulls a stream to its end and gives both its
// items and how it ended, for tests that check an error's place among the
// items.
//
//   auto drained = troupe::BlockOn(troupe::async_internal::Drain(std::move(stream)));
//   EXPECT_THAT(drained->first, ElementsAre(1, 2));            // the items before
//   EXPECT_EQ(drained->second, absl::DataLossError("torn"));   // the end
//
// For tests only.

#ifndef TROUPE_ASYNC_DRAIN_FOR_TEST_H_
#define TROUPE_ASYNC_DRAIN_FOR_TEST_H_

#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "async/stream.h"
#include "async/task.h"

namespace troupe::async_internal {

template <AsyncStream S>
Task<std::pair<std::vector<typename S::value_type>, absl::Status>> Drain(S stream) {
  std::vector<typename S::value_type> items;
  while (std::optional<typename S::value_type> item = co_await stream.Next()) {
    items.push_back(std::move(*item));
  }
  co_return std::make_pair(std::move(items), stream.status());
}

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_DRAIN_FOR_TEST_H_
