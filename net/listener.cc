#include "net/listener.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log_limiter.h"
#include "base/logging.h"
#include "net/internal/connection_state.h"

namespace troupe::net {
namespace net_internal {

class ListenerState final : public IoHandler {
 public:
  ListenerState(Reactor& reactor, std::shared_ptr<IoLoop> loop, int fd, SocketAddress address,
                ListenOptions options, ConnectionFactory factory)
      : reactor_(reactor),
        loop_holder_(std::move(loop)),
        loop_(*loop_holder_),
        fd_(fd),
        address_(address),
        options_(std::move(options)),
        factory_(std::move(factory)),
        spare_fd_(open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

  ~ListenerState() override {
    if (!closed_) close(fd_);
    if (spare_fd_ >= 0) close(spare_fd_);
  }

  void Start() {
    auto self = std::static_pointer_cast<ListenerState>(shared_from_this());
    loop_.Post([self] {
      if (absl::Status s = self->loop_.Add(self->fd_, EPOLLIN, self); !s.ok()) {
        LogError(NetLog(), "listener on {}: {}", self->address_.ToString(), s.ToString());
        self->DoClose();
        return;
      }
      self->registered_ = true;
    });
  }

  void Close() {
    auto self = std::static_pointer_cast<ListenerState>(shared_from_this());
    if (!loop_.Post([self] { self->DoClose(); })) {
      // The loop has stopped, and closed us with it.
    }
  }

  void OnEvents(uint32_t) override {
    // Bounded per wake-up: level-triggered epoll brings us back.
    for (int i = 0; i < 64 && !closed_; ++i) {
      sockaddr_storage peer{};
      socklen_t length = sizeof(peer);
      const int fd =
          accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        OnAcceptError(errno);
        return;
      }
      if (options_.max_connections > 0 &&
          open_->load(std::memory_order_relaxed) >= options_.max_connections) {
        Refuse(fd);
        continue;
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      Hand(fd, SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&peer), length));
    }
  }

  void OnShutdown() override { DoClose(); }

  const SocketAddress& address() const { return address_; }
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  int64_t open_connections() const { return open_->load(std::memory_order_relaxed); }

 private:
  // At max_connections: the client sees its connection closed at once.
  void Refuse(int fd) {
    refused_.fetch_add(1, std::memory_order_relaxed);  // counted before the client can see it
    close(fd);
    if (int64_t skipped; refuse_log_.ShouldLog(&skipped)) {
      LogWarning(NetLog(), "listener on {}: {} connections open, the limit: refusing new ones{}",
                 address_.ToString(), options_.max_connections, LogLimiter::Skipped(skipped));
    }
  }

  void Hand(int fd, SocketAddress peer) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    auto connection = std::make_shared<ConnectionState>(
        reactor_.system(), reactor_.NextLoop(), fd, peer,
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), length),
        options_.connection, open_);
    ActorRef owner;
    try {
      owner = factory_(connection->handle());
    } catch (const std::exception& e) {
      LogError(NetLog(), "listener on {}: the connection factory threw: {}", address_.ToString(),
               e.what());
    } catch (...) {
      LogError(NetLog(), "listener on {}: the connection factory threw", address_.ToString());
    }
    connection->Start(std::move(owner));
  }

  void OnAcceptError(int error) {
    // Out of descriptors (or memory): the pending connection would keep the
    // socket readable forever. Free the spare, accept and drop it, re-arm.
    const absl::Time now = absl::Now();
    if (now - last_error_log_ >= absl::Seconds(1)) {
      last_error_log_ = now;
      LogWarning(NetLog(), "listener on {}: accept: {} (dropping the connection)",
                 address_.ToString(), std::strerror(error));
    }
    if ((error == EMFILE || error == ENFILE) && spare_fd_ >= 0) {
      close(spare_fd_);
      const int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) close(fd);
      spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    if (registered_) loop_.Remove(fd_);
    close(fd_);
  }

  Reactor& reactor_;                           // used on the loop's thread only, which stops first
  const std::shared_ptr<IoLoop> loop_holder_;  // the handle may outlive the reactor
  IoLoop& loop_;
  const int fd_;
  const SocketAddress address_;
  const ListenOptions options_;
  ConnectionFactory factory_;
  int spare_fd_;
  bool registered_ = false;
  bool closed_ = false;
  absl::Time last_error_log_ = absl::InfinitePast();
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  // Open connections: each counts itself until its socket closes (shared:
  // connections may outlive the listener).
  const std::shared_ptr<std::atomic<int64_t>> open_ = std::make_shared<std::atomic<int64_t>>(0);
  LogLimiter refuse_log_;
};

}  // namespace net_internal

const SocketAddress& Listener::address() const {
  static const SocketAddress none;
  return state_ != nullptr ? state_->address() : none;
}

uint64_t Listener::accepted() const { return state_ != nullptr ? state_->accepted() : 0; }
uint64_t Listener::refused() const { return state_ != nullptr ? state_->refused() : 0; }
int64_t Listener::open_connections() const {
  return state_ != nullptr ? state_->open_connections() : 0;
}

void Listener::Close() const {
  if (state_ != nullptr) state_->Close();
}

absl::StatusOr<Listener> Listen(Reactor& reactor, ListenOptions options,
                                ConnectionFactory factory) {
  if (factory == nullptr) return absl::InvalidArgumentError("Listen: no connection factory");
  if (reactor.IsShuttingDown()) return absl::FailedPreconditionError("the reactor is shut down");
  absl::StatusOr<SocketAddress> address = SocketAddress::Parse(options.address);
  if (!address.ok()) return address.status();
  const int fd = socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, address->data(), address->size()) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind ", address->ToString(), ": ", std::strerror(error)));
  }
  if (listen(fd, options.backlog) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("listen ", address->ToString(), ": ", std::strerror(error)));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  auto state = std::make_shared<net_internal::ListenerState>(
      reactor, reactor.NextLoop(), fd,
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&bound), length), std::move(options),
      std::move(factory));
  state->Start();
  return Listener(std::move(state));
}

}  // namespace troupe::net
