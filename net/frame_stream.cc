#include "net/frame_stream.h"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "async/channel.h"
#include "channel/channel.h"
#include "net/events.h"
#include "net/framing.h"

namespace troupe::net {
namespace {

// What the owner actor passes on: the input, then how it ended.
using ConnectionInput = std::variant<Received, InputEnded, Closed>;

// The connection's owner: hands its events to the stream, in order. The
// channel is unbounded in messages but not in bytes: a Received holds its
// share of the connection's input budget until the stream has framed it.
class InputForwarder : public Actor {
 public:
  explicit InputForwarder(troupe::Sender<ConnectionInput> input) : input_(std::move(input)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Received>([this](Received&& received) { Forward(std::move(received)); })
        .On<InputEnded>([this](const InputEnded& ended) { Forward(ended); })
        .On<Closed>([this](const Closed& closed) {
          Forward(closed);
          Stop();
        });
  }
  void OnStop() override { input_.Close(); }

 private:
  // Refused only once the stream is gone: then the input has nobody to go
  // to, and dropping it gives its bytes back to the connection.
  void Forward(ConnectionInput event) { (void)input_.TrySend(std::move(event)); }

  troupe::Sender<ConnectionInput> input_;
};

// Lines or length-prefixed frames, behind one face.
class Framer {
 public:
  explicit Framer(const FrameStreamOptions& options) {
    if (options.framing == FrameStreamOptions::Framing::kLines) {
      lines_.emplace(options.max_frame);
    } else {
      frames_.emplace(options.max_frame);
    }
  }
  absl::Status Push(std::string_view bytes) {
    return lines_ ? lines_->Push(bytes) : frames_->Push(bytes);
  }
  std::optional<std::string> Next() { return lines_ ? lines_->Next() : frames_->Next(); }
  size_t partial() const { return lines_ ? lines_->partial() : frames_->partial(); }

 private:
  std::optional<LineFramer> lines_;
  std::optional<LengthPrefixFramer> frames_;
};

// How a connection's close ends its stream: `partial` bytes of a frame were
// still waiting.
absl::Status EndOf(const Closed& closed, size_t partial) {
  switch (closed.reason) {
    case CloseReason::kPeerClosed:
    case CloseReason::kLocalClose:
      if (partial == 0) return absl::OkStatus();
      return absl::DataLossError(
          absl::StrCat("the connection closed in the middle of a frame (", partial, " bytes)"));
    case CloseReason::kTimedOut:
      return absl::DeadlineExceededError(absl::StrCat("the connection timed out: ", closed.detail));
    default:
      return absl::UnavailableError(absl::StrCat("the connection closed (",
                                                 std::string(CloseReasonName(closed.reason)), ")",
                                                 closed.detail.empty() ? "" : ": ", closed.detail));
  }
}

// Closes the connection if the stream is dropped before its end: its
// consumer gave up on it.
struct CloseUnlessEnded {
  Connection connection;
  bool ended = false;
  ~CloseUnlessEnded() {
    if (!ended) connection.Close();
  }
};

Stream<std::string> Frames(Receiver<ConnectionInput> input, Connection connection,
                           FrameStreamOptions options) {
  Framer framer(options);
  CloseUnlessEnded guard{connection};
  for (;;) {
    RecvResult<ConnectionInput> got = co_await Recv(input);
    if (!got.ok()) {
      // kCancelled: the consumer's task was; kClosed with no Closed before
      // it: the owner actor stopped (its system shut down).
      co_yield EndStream(got.error() == RecvError::kCancelled
                             ? absl::CancelledError("the frame stream's consumer was cancelled")
                             : absl::UnavailableError("the connection's owner actor stopped"));
    }
    if (Received* received = std::get_if<Received>(&*got)) {
      absl::Status pushed = framer.Push(received->data);
      got = RecvResult<ConnectionInput>(RecvError::kEmpty);  // its bytes back to the connection
      // Past a frame too long, nothing more can be framed: stop reading now;
      // the frames complete before it still go out, then the error.
      if (!pushed.ok()) connection.Abort(std::string(pushed.message()));
      while (std::optional<std::string> frame = framer.Next()) {
        connection.FrameReceived();
        co_yield std::move(*frame);
      }
      if (!pushed.ok()) {
        guard.ended = true;
        co_yield EndStream(std::move(pushed));
      }
      continue;
    }
    guard.ended = true;
    if (std::holds_alternative<InputEnded>(*got)) {
      Closed input_end{CloseReason::kPeerClosed, "input ended", 0};
      absl::Status end = EndOf(input_end, framer.partial());
      if (!end.ok()) co_yield EndStream(std::move(end));
      co_return;
    }
    absl::Status end = EndOf(std::get<Closed>(*got), framer.partial());
    if (!end.ok()) co_yield EndStream(std::move(end));
    co_return;
  }
}

}  // namespace

ConnectionFactory StreamFrames(ActorSystem& system, FrameStreamOptions options,
                               absl::AnyInvocable<void(Stream<std::string>, Connection)> on_open) {
  return [&system, options, on_open = std::move(on_open)](Connection connection) mutable {
    auto [tx, rx] = Channel<ConnectionInput>::Unbounded();
    ActorRef owner = system.Spawn<InputForwarder>(std::move(tx));
    on_open(Frames(std::move(rx), connection, options), connection);
    return owner;
  };
}

}  // namespace troupe::net
