#include "net/connect.h"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "net/internal/connection_state.h"

namespace troupe::net {
namespace net_internal {
namespace {

// A socket waiting for its connect() to finish (writable), or for the
// timeout, whichever comes first; then it becomes a ConnectionState.
class Connecting final : public IoHandler {
 public:
  Connecting(ActorSystem& system, std::shared_ptr<IoLoop> loop, int fd, SocketAddress address,
             ConnectOptions options, ConnectionFactory factory, Promise<ActorRef> promise)
      : system_(system),
        loop_(std::move(loop)),
        fd_(fd),
        address_(address),
        options_(std::move(options)),
        factory_(std::move(factory)),
        promise_(std::move(promise)) {}

  ~Connecting() override {
    if (!done_) {
      close(fd_);
      promise_.SetError(absl::CancelledError("the connect was abandoned"));
    }
  }

  void Start() {
    auto self = std::static_pointer_cast<Connecting>(shared_from_this());
    const bool posted = loop_->Post([self] {
      if (absl::Status s = self->loop_->Add(self->fd_, EPOLLOUT, self); !s.ok()) {
        self->Fail(absl::InternalError(s.ToString()));
        return;
      }
      self->registered_ = true;
      std::weak_ptr<Connecting> weak = self;
      self->timer_ = self->system_.clock().ScheduleAt(
          self->system_.clock().Now() + self->options_.timeout, [weak] {
            if (auto connecting = weak.lock()) {
              connecting->loop_->Post([connecting] { connecting->OnTimeout(); });
            }
          });
    });
    if (!posted) Fail(absl::FailedPreconditionError("the reactor is shut down"));
  }

  void OnEvents(uint32_t) override {
    if (done_) return;
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      Fail(absl::UnavailableError(
          absl::StrCat("connect to ", address_.ToString(), ": ", std::strerror(error))));
      return;
    }
    done_ = true;
    system_.clock().Cancel(timer_);
    loop_->Remove(fd_);  // the connection registers it again, as its own
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_storage local{};
    socklen_t local_length = sizeof(local);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_length);
    auto connection = std::make_shared<ConnectionState>(
        system_, loop_, fd_, address_,
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), local_length),
        options_.connection);
    ActorRef owner;
    try {
      owner = factory_(connection->handle());
    } catch (const std::exception& e) {
      LogError(NetLog(), "connect to {}: the connection factory threw: {}", address_.ToString(),
               e.what());
    } catch (...) {
      LogError(NetLog(), "connect to {}: the connection factory threw", address_.ToString());
    }
    connection->Start(owner);
    if (owner) {
      promise_.SetValue(std::move(owner));
    } else {
      promise_.SetError(absl::InternalError("the connection factory gave no actor"));
    }
  }

  void OnShutdown() override { Fail(absl::FailedPreconditionError("the reactor shut down")); }

 private:
  void OnTimeout() {
    if (done_) return;
    Fail(absl::DeadlineExceededError(absl::StrCat("connect to ", address_.ToString(),
                                                  ": no connection after ",
                                                  absl::FormatDuration(options_.timeout))));
  }

  void Fail(absl::Status status) {
    if (done_) return;
    done_ = true;
    if (timer_ != 0) system_.clock().Cancel(timer_);
    if (registered_) loop_->Remove(fd_);
    close(fd_);
    promise_.SetError(std::move(status));
  }

  ActorSystem& system_;
  const std::shared_ptr<IoLoop> loop_;
  const int fd_;
  const SocketAddress address_;
  const ConnectOptions options_;
  ConnectionFactory factory_;
  Promise<ActorRef> promise_;
  bool registered_ = false;
  bool done_ = false;
  TimerId timer_ = 0;
};

}  // namespace
}  // namespace net_internal

Future<ActorRef> Connect(Reactor& reactor, ConnectOptions options, ConnectionFactory factory) {
  Promise<ActorRef> promise;
  Future<ActorRef> future = promise.GetFuture();
  if (factory == nullptr) {
    promise.SetError(absl::InvalidArgumentError("Connect: no connection factory"));
    return future;
  }
  if (reactor.IsShuttingDown()) {
    promise.SetError(absl::FailedPreconditionError("the reactor is shut down"));
    return future;
  }
  absl::StatusOr<SocketAddress> address = SocketAddress::Parse(options.address);
  if (!address.ok()) {
    promise.SetError(address.status());
    return future;
  }
  const int fd = socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    promise.SetError(absl::InternalError(absl::StrCat("socket: ", std::strerror(errno))));
    return future;
  }
  if (connect(fd, address->data(), address->size()) != 0 && errno != EINPROGRESS) {
    const int error = errno;
    close(fd);
    promise.SetError(absl::UnavailableError(
        absl::StrCat("connect to ", address->ToString(), ": ", std::strerror(error))));
    return future;
  }
  // Connected at once, or in progress: either way the socket turns writable.
  auto connecting = std::make_shared<net_internal::Connecting>(
      reactor.system(), reactor.NextLoop(), fd, *address, std::move(options), std::move(factory),
      std::move(promise));
  connecting->Start();
  return future;
}

}  // namespace troupe::net
