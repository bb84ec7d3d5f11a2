#include "net/reactor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/logging.h"
#include "threads/mutex.h"
#include "threads/thread.h"

namespace troupe::net {
namespace net_internal {

namespace {
thread_local const IoLoop* current_loop = nullptr;
}  // namespace

struct IoLoop::State {
  int epoll_fd = -1;
  int wake_fd = -1;
  Mutex mu;
  std::vector<absl::AnyInvocable<void()>> tasks ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  // Loop thread only: what is registered, kept alive while it is.
  absl::flat_hash_map<int, std::shared_ptr<IoHandler>> handlers;
  // Removed during the current batch of events: freed after it, since a
  // later event of the batch may still point at one.
  std::vector<std::shared_ptr<IoHandler>> removed;
  // Loop thread only: AtEndOfBatch() tasks.
  std::vector<absl::AnyInvocable<void()>> end_of_batch;
  std::optional<Thread<void>> thread;
};

IoLoop::IoLoop(std::string thread_name) : state_(std::make_unique<State>()) {
  state_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  TROUPE_CHECK(state_->epoll_fd >= 0, "epoll_create1: {}", std::strerror(errno));
  state_->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  TROUPE_CHECK(state_->wake_fd >= 0, "eventfd: {}", std::strerror(errno));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // null: the wake-up
  TROUPE_CHECK(epoll_ctl(state_->epoll_fd, EPOLL_CTL_ADD, state_->wake_fd, &event) == 0,
               "epoll_ctl(wake): {}", std::strerror(errno));
  state_->thread.emplace(std::move(thread_name), [this] { Run(); });
}

IoLoop::~IoLoop() {
  Stop();
  close(state_->wake_fd);
  close(state_->epoll_fd);
}

bool IoLoop::Post(absl::AnyInvocable<void()> task) {
  {
    MutexLock lock(state_->mu);
    if (state_->stopping) return false;
    state_->tasks.push_back(std::move(task));
    // Tasks already waiting means a wake-up is already on its way (the loop
    // takes them all at once, under this lock): save the syscall.
    if (state_->tasks.size() > 1) return true;
  }
  const uint64_t one = 1;
  // The eventfd counter saturates long before this matters; EAGAIN (full)
  // still leaves it readable, which is all a wake-up needs.
  (void)!write(state_->wake_fd, &one, sizeof(one));
  return true;
}

bool IoLoop::InLoopThread() const { return current_loop == this; }

void IoLoop::AtEndOfBatch(absl::AnyInvocable<void()> task) {
  TROUPE_DCHECK(InLoopThread(), "IoLoop::AtEndOfBatch off its thread");
  state_->end_of_batch.push_back(std::move(task));
}

absl::Status IoLoop::Add(int fd, uint32_t events, std::shared_ptr<IoHandler> handler) {
  TROUPE_DCHECK(InLoopThread(), "IoLoop::Add off its thread");
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler.get();
  if (epoll_ctl(state_->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl(ADD): ", std::strerror(errno)));
  }
  state_->handlers[fd] = std::move(handler);
  return absl::OkStatus();
}

absl::Status IoLoop::Modify(int fd, uint32_t events, IoHandler* handler) {
  TROUPE_DCHECK(InLoopThread(), "IoLoop::Modify off its thread");
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (epoll_ctl(state_->epoll_fd, EPOLL_CTL_MOD, fd, &event) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl(MOD): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void IoLoop::Remove(int fd) {
  TROUPE_DCHECK(InLoopThread(), "IoLoop::Remove off its thread");
  epoll_ctl(state_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  auto it = state_->handlers.find(fd);
  if (it == state_->handlers.end()) return;
  state_->removed.push_back(std::move(it->second));
  state_->handlers.erase(it);
}

void IoLoop::Run() {
  current_loop = this;
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  bool stopping = false;
  while (!stopping) {
    const int n = epoll_wait(state_->epoll_fd, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LogError(NetLog(), "epoll_wait: {}", std::strerror(errno));
      continue;
    }
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        woken = true;
        continue;
      }
      static_cast<IoHandler*>(events[i].data.ptr)->OnEvents(events[i].events);
    }
    if (woken) {
      uint64_t count;
      (void)!read(state_->wake_fd, &count, sizeof(count));
      std::vector<absl::AnyInvocable<void()>> tasks;
      {
        MutexLock lock(state_->mu);
        tasks.swap(state_->tasks);
        stopping = state_->stopping;
      }
      for (auto& task : tasks) task();
    }
    // (A task may add more: run until none is left.)
    while (!state_->end_of_batch.empty()) {
      std::vector<absl::AnyInvocable<void()>> end = std::move(state_->end_of_batch);
      state_->end_of_batch.clear();
      for (auto& task : end) task();
    }
    state_->removed.clear();
  }
  // Stopping: every handler still registered closes (OnShutdown removes it).
  std::vector<std::shared_ptr<IoHandler>> left;
  for (auto& [fd, handler] : state_->handlers) left.push_back(handler);
  for (auto& handler : left) handler->OnShutdown();
  state_->removed.clear();
  state_->handlers.clear();
  current_loop = nullptr;
}

void IoLoop::Stop() {
  {
    MutexLock lock(state_->mu);
    state_->stopping = true;
  }
  const uint64_t one = 1;
  (void)!write(state_->wake_fd, &one, sizeof(one));
  // From the loop's own thread (a task that shuts the reactor down) the
  // loop ends after this batch; the owner's later Stop() joins it.
  if (InLoopThread()) return;
  (void)state_->thread->Join();  // a second Join() just reports "not joinable"
}

}  // namespace net_internal

Reactor::Reactor(ActorSystem& system, ReactorOptions options) : system_(system) {
  const int threads = options.io_threads > 0 ? options.io_threads : 1;
  for (int i = 0; i < threads; ++i) {
    loops_.push_back(std::make_shared<net_internal::IoLoop>(absl::StrCat(options.name, "-", i)));
  }
}

Reactor::~Reactor() { Shutdown(); }

void Reactor::Shutdown() {
  shutting_down_.store(true, std::memory_order_release);
  for (auto& loop : loops_) loop->Stop();
}

std::shared_ptr<net_internal::IoLoop> Reactor::NextLoop() {
  return loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
}

}  // namespace troupe::net
