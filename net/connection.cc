#include "net/connection.h"

#include <memory>
#include <string>
#include <utility>

#include "net/internal/connection_state.h"

namespace troupe::net {

std::string_view CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kPeerClosed:
      return "peer closed";
    case CloseReason::kReset:
      return "reset by peer";
    case CloseReason::kError:
      return "socket error";
    case CloseReason::kTimedOut:
      return "timed out";
    case CloseReason::kLocalClose:
      return "closed";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kShutdown:
      return "reactor shut down";
    case CloseReason::kOutputOverflow:
      return "output overflow";
  }
  return "unknown";
}

// -- the handle ---------------------------------------------------------------------

void Connection::Write(std::string bytes) const {
  if (state_ != nullptr && !bytes.empty()) state_->Write(std::move(bytes));
}
void Connection::Close() const {
  if (state_ != nullptr) state_->Close();
}
void Connection::Abort(std::string why) const {
  if (state_ != nullptr) state_->Abort(std::move(why));
}
void Connection::NotifyWhenWritten() const {
  if (state_ != nullptr) state_->NotifyWhenWritten();
}
void Connection::FrameReceived() const {
  if (state_ != nullptr) state_->FrameReceived();
}
const SocketAddress& Connection::peer() const {
  static const SocketAddress none;
  return state_ != nullptr ? state_->peer() : none;
}
const SocketAddress& Connection::local() const {
  static const SocketAddress none;
  return state_ != nullptr ? state_->local() : none;
}
uint64_t Connection::id() const { return state_ != nullptr ? state_->id() : 0; }
size_t Connection::unprocessed_input() const {
  return state_ != nullptr ? state_->unprocessed_input() : 0;
}
size_t Connection::pending_output() const {
  return state_ != nullptr ? state_->pending_output() : 0;
}

namespace net_internal {

// -- input credits -------------------------------------------------------------------

InputCredit::InputCredit(std::shared_ptr<ConnectionState> connection, size_t bytes)
    : connection_(std::move(connection)), bytes_(bytes) {}

InputCredit& InputCredit::operator=(InputCredit&& other) noexcept {
  if (this != &other) {
    Release();
    connection_ = std::move(other.connection_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

InputCredit::~InputCredit() { Release(); }

void InputCredit::Release() {
  if (connection_ == nullptr) return;
  connection_->ReturnInput(bytes_);
  connection_.reset();
}

}  // namespace net_internal
}  // namespace troupe::net
