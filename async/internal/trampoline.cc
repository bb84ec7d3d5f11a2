#include "async/internal/trampoline.h"

#include <coroutine>
#include <utility>

namespace troupe::async_internal {

void QueueOverflow(Trampoline& trampoline, std::coroutine_handle<> to) {
  trampoline.overflow->handles.push_back(to);
}

namespace {

// The loop: runs the queued handles in order until none is left. `next` is
// always the oldest queued handle: it is refilled from the overflow before
// the one taken runs, so that one's own transfers queue behind.
void Drain(Trampoline& trampoline) {
  Overflow& overflow = *trampoline.overflow;
  while (std::coroutine_handle<> next = std::exchange(trampoline.next, nullptr)) {
    if (overflow.head < overflow.handles.size()) {
      trampoline.next = overflow.handles[overflow.head++];
      if (overflow.head == overflow.handles.size()) {
        overflow.handles.clear();
        overflow.head = 0;
      }
    }
    next.resume();
  }
}

}  // namespace

void RunTrampoline(std::coroutine_handle<> first) { RunTrampoline(first, nullptr); }

void RunTrampoline(std::coroutine_handle<> first, std::coroutine_handle<> (*then)()) {
  Trampoline& trampoline = tls_trampoline;
  const Trampoline outer = trampoline;
  Overflow overflow;
  trampoline = Trampoline{nullptr, true, &overflow};
  for (std::coroutine_handle<> next = first; next; next = then != nullptr ? then() : nullptr) {
    next.resume();
    Drain(trampoline);
  }
  trampoline = outer;
}

DeferTransfers::DeferTransfers() : owner_(!tls_trampoline.running) {
  if (owner_) tls_trampoline = Trampoline{nullptr, true, &overflow_};
}

DeferTransfers::~DeferTransfers() {
  if (owner_) {
    Trampoline& trampoline = tls_trampoline;
    Drain(trampoline);
    trampoline = Trampoline{};
  }
}

}  // namespace troupe::async_internal
