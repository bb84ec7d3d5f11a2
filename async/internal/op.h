// -----------------------------------------------------------------------------
// File: internal/op.h
// -----------------------------------------------------------------------------
//
// `Op<T>`: a coroutine whose result is a plain T (not a status), for
// troupe's own awaitables that are easiest written as coroutines (a
// channel wait that loops until it succeeds). Lazy, awaited once, runs in
// its awaiter's strand; an exception escaping it (a select handler threw)
// is rethrown at the co_await, as a plain call would throw it.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_OP_H_
#define TROUPE_ASYNC_INTERNAL_OP_H_

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "async/internal/trampoline.h"
#include "async/task.h"

namespace troupe::async_internal {

template <typename T>
class [[nodiscard]] Op {
 public:
  struct promise_type : PromiseBase {
    std::optional<T> value;
    std::exception_ptr error;

    Op get_return_object() noexcept {
      return Op(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    template <typename U>
    void return_value(U&& result) {
      value.emplace(std::forward<U>(result));
    }
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  Op(Op&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Op& operator=(Op&&) = delete;
  ~Op() {
    if (handle_) handle_.destroy();
  }

  class Awaiter {
   public:
    explicit Awaiter(std::coroutine_handle<promise_type> op) : op_(op) {}
    bool await_ready() noexcept { return false; }
    template <TaskPromise Promise>
    void await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      op_.promise().set_continuation(awaiting);
      op_.promise().set_context(awaiting.promise().context());
      Transfer(op_);
    }
    T await_resume() {
      if (op_.promise().error) std::rethrow_exception(op_.promise().error);
      return std::move(*op_.promise().value);
    }

   private:
    std::coroutine_handle<promise_type> op_;
  };

  Awaiter operator co_await() && noexcept { return Awaiter(handle_); }

 private:
  explicit Op(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_OP_H_
