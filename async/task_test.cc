#include "async/task.h"

#include <coroutine>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "async/block_on.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using ::testing::HasSubstr;

// Every test ends with every frame it made freed.
// (Frames are counted only in builds with assertions.)
class TaskTest : public ::testing::Test {
 protected:
  void TearDown() override { ExpectLiveFrames(0); }
  static void ExpectLiveFrames(long n) {
    if (async_internal::kCountsFrames) {
      EXPECT_EQ(async_internal::LiveFrames(), n);
    }
  }
};

Task<int> Answer() { co_return 42; }

Task<int> Fails() { co_return absl::NotFoundError("no answer"); }

Task<int> Throws() {
  throw std::runtime_error("boom");
  co_return 0;
}

TEST_F(TaskTest, BlockOnGivesTheValue) { EXPECT_EQ(BlockOn(Answer()).value(), 42); }

TEST_F(TaskTest, AnErrorStatusIsTheResult) {
  absl::StatusOr<int> r = BlockOn(Fails());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no answer");
}

TEST_F(TaskTest, AnEscapingExceptionBecomesAnInternalError) {
  absl::StatusOr<int> r = BlockOn(Throws());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("boom"));
  EXPECT_THAT(r.status().message(), HasSubstr("a Task"));
}

struct ThrowsOnCopy {
  ThrowsOnCopy() = default;
  ThrowsOnCopy(const ThrowsOnCopy&) { throw std::runtime_error("copy failed"); }
  ThrowsOnCopy(ThrowsOnCopy&&) = default;
};

TEST_F(TaskTest, AResultWhoseCopyThrowsBecomesAnInternalError) {
  auto copies = []() -> Task<ThrowsOnCopy> {
    const ThrowsOnCopy value;
    co_return value;  // a copy: const cannot be moved from
  };
  absl::StatusOr<ThrowsOnCopy> r = BlockOn(copies());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("copy failed"));
}

TEST_F(TaskTest, AwaitingCombinesResults) {
  auto sum = []() -> Task<int> {
    absl::StatusOr<int> a = co_await Answer();
    absl::StatusOr<int> b = co_await Answer();
    absl::StatusOr<int> c = co_await Fails();
    EXPECT_FALSE(c.ok());
    co_return *a + *b;
  };
  EXPECT_EQ(BlockOn(sum()).value(), 84);
}

TEST_F(TaskTest, ATaskIsLazy) {
  bool ran = false;
  auto body = [](bool* ran) -> Task<void> {
    *ran = true;
    co_return;
  };
  Task<void> task = body(&ran);
  EXPECT_FALSE(ran);
  ExpectLiveFrames(1);
  EXPECT_TRUE(BlockOn(std::move(task)).ok());
  EXPECT_TRUE(ran);
}

TEST_F(TaskTest, ATaskNeverStartedIsFreed) {
  bool ran = false;
  auto body = [](bool* ran) -> Task<int> {
    *ran = true;
    co_return 1;
  };
  { Task<int> task = body(&ran); }
  EXPECT_FALSE(ran);
}

TEST_F(TaskTest, VoidTasks) {
  auto ends = []() -> Task<void> { co_return; };
  auto falls_off = []() -> Task<> { (void)co_await Answer(); };  // no co_return
  auto throws = []() -> Task<> {
    throw std::logic_error("void boom");
    co_return;
  };
  EXPECT_TRUE(BlockOn(ends()).ok());
  EXPECT_TRUE(BlockOn(falls_off()).ok());
  absl::Status s = BlockOn(throws());
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("void boom"));
}

TEST_F(TaskTest, AStatusTaskReturnsItsStatus) {
  auto check = [](int x) -> Task<absl::Status> {
    if (x < 0) co_return absl::InvalidArgumentError("negative");
    co_return absl::OkStatus();
  };
  EXPECT_TRUE(BlockOn(check(1)).ok());
  EXPECT_EQ(BlockOn(check(-1)).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TaskTest, MoveOnlyOwnership) {
  Task<int> a = Answer();
  Task<int> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_TRUE(b.valid());
  b = Answer();  // the first frame is freed here
  ExpectLiveFrames(1);
  EXPECT_EQ(BlockOn(std::move(b)).value(), 42);
}

TEST_F(TaskTest, ResultsThatOnlyMove) {
  auto make = []() -> Task<std::unique_ptr<std::string>> {
    co_return std::make_unique<std::string>("moved");
  };
  absl::StatusOr<std::unique_ptr<std::string>> r = BlockOn(make());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, "moved");
}

// A million awaits of tasks that finish at once, in one loop: each await
// must leave the stack where it found it. The innermost task records where
// its frame is; without symmetric transfer each finished task would
// resume its awaiter one frame deeper, and the address would drift (and the
// stack overflow long before the end).
// (The frame address, not a local's: AddressSanitizer may move locals to a
// heap-allocated fake stack.)
Task<int> RecordDepth(std::uintptr_t* depth) {
  *depth = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  co_return 1;
}

constexpr int kIterations = 1'000'000;

TEST_F(TaskTest, SynchronousAwaitsRunInConstantStack) {
  auto loop = []() -> Task<std::pair<std::uintptr_t, std::uintptr_t>> {
    std::uintptr_t first = 0;
    std::uintptr_t last = 0;
    int sum = 0;
    for (int i = 0; i < kIterations; ++i) {
      std::uintptr_t depth = 0;
      sum += *co_await RecordDepth(&depth);
      if (i == 0) first = depth;
      last = depth;
    }
    EXPECT_EQ(sum, kIterations);
    co_return std::pair(first, last);
  };
  absl::StatusOr<std::pair<std::uintptr_t, std::uintptr_t>> depths = BlockOn(loop());
  ASSERT_TRUE(depths.ok());
  EXPECT_EQ(depths->first, depths->second);
}

// An awaitable that parks the awaiting coroutine where a test can see it,
// as a channel's waiter list will.
struct Park {
  std::coroutine_handle<>* parked;
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<> awaiting) noexcept { *parked = awaiting; }
  void await_resume() noexcept {}
};

struct CountsDestruction {
  int* destroyed;
  ~CountsDestruction() { ++*destroyed; }
};

TEST_F(TaskTest, DestroyingASuspendedTaskUnwindsItsWholeChain) {
  int destroyed = 0;
  std::coroutine_handle<> parked;
  auto inner = [](int* destroyed, std::coroutine_handle<>* parked) -> Task<int> {
    CountsDestruction guard{destroyed};
    co_await Park{parked};
    ADD_FAILURE() << "a destroyed task must not resume";
    co_return 1;
  };
  auto outer = [&inner](int* destroyed, std::coroutine_handle<>* parked) -> Task<int> {
    CountsDestruction guard{destroyed};
    co_return *co_await inner(destroyed, parked);
  };
  {
    Task<int> task = outer(&destroyed, &parked);
    task.handle().resume();  // runs until `inner` parks
    ASSERT_TRUE(parked);
    ExpectLiveFrames(2);
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 2);
}

// A task parked by one thread and resumed by another finishes there, and
// BlockOn's caller sees everything it wrote.
TEST_F(TaskTest, ResumedOnAnotherThread) {
  std::coroutine_handle<> parked;
  Notification is_parked;
  struct ParkAndSignal {
    std::coroutine_handle<>* parked;
    Notification* is_parked;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> awaiting) noexcept {
      *parked = awaiting;
      is_parked->Notify();
    }
    void await_resume() noexcept {}
  };
  auto body = [](ParkAndSignal park) -> Task<std::string> {
    std::string text = "before";
    co_await park;
    text += " and after";
    co_return text;
  };
  Thread resumer("resumer", [&] {
    is_parked.WaitForNotification();
    parked.resume();
  });
  absl::StatusOr<std::string> r = BlockOn(body(ParkAndSignal{&parked, &is_parked}));
  EXPECT_TRUE(resumer.Join().ok());
  EXPECT_EQ(r.value(), "before and after");
}

// The README's example.
Task<int> Parse(std::string text) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value)) co_return absl::InvalidArgumentError(text);
  co_return value;
}

Task<int> Sum(std::vector<std::string> texts) {
  int sum = 0;
  for (const std::string& text : texts) {
    absl::StatusOr<int> value = co_await Parse(text);
    if (!value.ok()) co_return value.status();
    sum += *value;
  }
  co_return sum;
}

TEST_F(TaskTest, TheReadmeExample) {
  EXPECT_EQ(BlockOn(Sum({"1", "2", "39"})).value(), 42);
  absl::StatusOr<int> bad = BlockOn(Sum({"1", "two"}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "two");
}

}  // namespace
}  // namespace troupe
