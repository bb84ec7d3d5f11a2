// -----------------------------------------------------------------------------
// File: reactor.h
// -----------------------------------------------------------------------------
//
// `Reactor`: epoll loops on a few I/O threads (one by default) that turn
// socket readiness into actor messages. Sockets are non-blocking, and all
// reading and writing happens on the I/O threads, never on an actor worker.
//
//   troupe::ActorSystem system;
//   troupe::net::Reactor reactor(system);            // beside the system
//   auto listener = troupe::net::Listen(reactor, {.address = "127.0.0.1:0"},
//       [&](troupe::net::Connection c) { return system.Spawn<EchoConnection>(c); });
//   ...
//   reactor.Shutdown();   // closes every connection (each actor gets Closed)
//
// Each socket belongs to one loop for its whole life, so its state needs no
// lock: other threads act on it by posting a task to its loop (Post()),
// which wakes the loop through an eventfd. Loops are given sockets round-
// robin.
//
// Shut the reactor down before the actor system (the destructor does it):
// connection actors then see their Closed message.
//
// Thread-safety: every public method may be called from any thread.

#ifndef TROUPE_NET_REACTOR_H_
#define TROUPE_NET_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "actor/actor_system.h"

namespace troupe::net {

struct ReactorOptions {
  int io_threads = 1;
  std::string name = "troupe-io";
};

namespace net_internal {

// Something registered with a loop: told which epoll events fired. Called
// on the loop's thread only.
class IoHandler : public std::enable_shared_from_this<IoHandler> {
 public:
  virtual ~IoHandler() = default;
  virtual void OnEvents(uint32_t events) = 0;
  // The reactor is shutting down: close, and tell whoever needs to know.
  virtual void OnShutdown() = 0;
};

class IoLoop;

}  // namespace net_internal

class Reactor {
 public:
  explicit Reactor(ActorSystem& system, ReactorOptions options = ReactorOptions());
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Reactor::Shutdown()
  //
  // Closes every listener and connection (connection actors get Closed with
  // kShutdown), then stops and joins the I/O threads. Idempotent.
  void Shutdown();

  ActorSystem& system() { return system_; }
  bool IsShuttingDown() const { return shutting_down_.load(std::memory_order_acquire); }

  // The loop for the next new socket (round-robin). Shared: a connection's
  // handle may outlive the reactor (then its calls do nothing).
  std::shared_ptr<net_internal::IoLoop> NextLoop();

 private:
  ActorSystem& system_;
  std::vector<std::shared_ptr<net_internal::IoLoop>> loops_;
  std::atomic<uint64_t> next_loop_{0};
  std::atomic<bool> shutting_down_{false};
};

namespace net_internal {

// One epoll loop and its thread.
class IoLoop {
 public:
  explicit IoLoop(std::string thread_name);
  ~IoLoop();

  // Runs `task` on this loop's thread, soon. False (and `task` dropped) if
  // the loop has stopped. Safe to call for as long as the loop exists.
  bool Post(absl::AnyInvocable<void()> task);

  // On the loop's thread: registers / changes / removes `fd`. The loop keeps
  // the handler alive while it is registered.
  absl::Status Add(int fd, uint32_t events, std::shared_ptr<IoHandler> handler);
  absl::Status Modify(int fd, uint32_t events, IoHandler* handler);
  void Remove(int fd);

  // On the loop's thread: runs `task` once the current batch of events and
  // posted tasks is done (so that, say, many writes queued by one batch go
  // out in one send).
  void AtEndOfBatch(absl::AnyInvocable<void()> task);

  bool InLoopThread() const;

  // Closes every handler (OnShutdown), then stops the thread and joins it.
  void Stop();

 private:
  struct State;
  void Run();
  std::unique_ptr<State> state_;
};

}  // namespace net_internal
}  // namespace troupe::net

#endif  // TROUPE_NET_REACTOR_H_
