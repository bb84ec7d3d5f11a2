#include "remote/internal/inbound.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/logging.h"
#include "remote/internal/peer.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {

// Owned by itself (self_) from Connect() to OnDone(); the service's ticker
// holds it a moment longer while it ticks it.
class InboundStream final : public grpc::ServerBidiReactor<wire::Frame, wire::Frame>,
                            public std::enable_shared_from_this<InboundStream> {
 public:
  InboundStream(std::shared_ptr<NodeCore> core, TransportService* service, std::string peer,
                uint64_t serial)
      : core_(std::move(core)), service_(service), peer_(std::move(peer)), serial_(serial) {}

  // After construction, once shared: starts the first read.
  void Start() {
    MutexLock lock(mu_);
    self_ = shared_from_this();
    last_heard_ = absl::Now();
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    MutexLock lock(mu_);
    if (!ok) {  // the peer closed its side, or the stream was cancelled
      FinishLocked(grpc::Status::OK);
      return;
    }
    if (cut_) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "troupe: association lost"));
      return;
    }
    const absl::Time now = absl::Now();
    last_heard_ = now;
    if (node_.empty()) {
      Greet(now);
      return;
    }
    // The frame is parsed into again, its envelopes and payload strings
    // reused (wire.proto's Frame); what is kept is bounded by the frame
    // limit (a frame with more envelopes than a node writes, one per
    // kEnvelopeOverhead bytes of it, is not kept). A heartbeat means the
    // caller is idle: a fresh frame, and the memory goes.
    bool keep = false;
    if (in_.has_batch()) {
      core_->DeliverBatch(in_.batch(), node_, serial_);
      keep = static_cast<size_t>(in_.batch().envelopes_size()) <=
             core_->options().max_message_bytes / kEnvelopeOverhead;
    }
    if (!keep) in_ = wire::Frame();
    MaybeHeartbeatLocked(now);
    StartRead(&in_);
  }

  void OnWriteDone(bool /*ok*/) override {
    MutexLock lock(mu_);
    writing_ = false;
    if (finish_wanted_) FinishLocked(finish_status_);
  }

  void OnDone() override {
    std::shared_ptr<InboundStream> self;
    std::string node;
    {
      MutexLock lock(mu_);  // after every reaction, as far as TSAN can tell
      self = std::move(self_);
      node = node_;
    }
    // The watches that node holds through this stream end with it.
    if (!node.empty()) core_->InboundEnded(node, serial_);
    service_->StreamDone(this);
  }

  // The caller's node, once it has said Hello ("" before).
  std::string node() const {
    MutexLock lock(mu_);
    return node_;
  }

  // InboundStream::Tick()
  //
  // From the node's ticker, outside any reaction: ends the stream if the
  // caller has been silent too long (its failure timeout, or three of the
  // caller's heartbeat intervals if that is longer).
  void Tick(absl::Time now) {
    {
      MutexLock lock(mu_);
      if (finished_ || finish_wanted_) return;
      const absl::Duration limit = std::max(core_->options().failure_timeout, 3 * caller_interval_);
      if (now - last_heard_ <= limit) return;
      LogWarning(RemoteLog(), "stream from node {} ({}): nothing heard for {}: closed",
                 node_.empty() ? "?" : node_, peer_, absl::FormatDuration(now - last_heard_));
      core_->counters().silent_streams_closed.fetch_add(1, std::memory_order_relaxed);
    }
    End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "troupe: no heartbeat"));
  }

  // InboundStream::Cut()
  //
  // From any thread: the stream ends (UNAVAILABLE) when its next frame
  // arrives, in that read's reaction — within one of the caller's heartbeat
  // intervals, since it writes at least that often. (Finishing from the
  // cutting thread raced gRPC's own teardown of a cancelled call.) A
  // caller that has gone silent is closed by Tick() instead.
  void Cut() {
    MutexLock lock(mu_);
    cut_ = true;
  }

  // InboundStream::End()
  //
  // Outside any reaction: finishes the stream with `status` (once the write
  // in flight, if any, is done).
  void End(grpc::Status status) {
    {
      MutexLock lock(mu_);
      if (finished_ || finish_wanted_) return;
      if (writing_) {  // OnWriteDone finishes it
        finish_wanted_ = true;
        finish_status_ = std::move(status);
        return;
      }
      finished_ = true;
    }
    // Outside mu_: an operation started outside a reaction may run one
    // inline. The stream lives until OnDone, which needs this Finish.
    Finish(std::move(status));
  }

 private:
  // Finish, or once the write in flight is done.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    if (writing_) {
      finish_wanted_ = true;
      finish_status_ = std::move(status);
      return;
    }
    finished_ = true;
    Finish(std::move(status));
  }

  // In a reaction: answers the caller's frames with a heartbeat when this
  // side has written nothing for half the caller's interval, so that the
  // caller hears from us at its own pace, busy or idle.
  void MaybeHeartbeatLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || finish_wanted_ || now - last_written_ < caller_interval_ / 2) {
      return;
    }
    out_.Clear();
    out_.mutable_heartbeat();
    writing_ = true;
    last_written_ = now;
    StartWrite(&out_);
  }

  // The first frame: it must be a Hello with the token.
  void Greet(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!in_.has_hello() || !core_->TokenMatches(in_.hello().cluster_token())) {
      core_->counters().streams_refused.fetch_add(1, std::memory_order_relaxed);
      LogWarning(RemoteLog(), "refused a stream from {}: no valid cluster token", peer_);
      FinishLocked(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "troupe: bad cluster token"));
      return;
    }
    const wire::Hello& hello = in_.hello();
    if (hello.protocol_version() != kProtocolVersion || hello.node().empty()) {
      core_->counters().streams_refused.fetch_add(1, std::memory_order_relaxed);
      FinishLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                absl::StrCat("troupe: protocol version ", hello.protocol_version(),
                                             ", this node speaks ", kProtocolVersion)));
      return;
    }
    node_ = hello.node();
    core_->Greeted(node_);
    caller_interval_ = hello.heartbeat_interval_ms() == 0
                           ? core_->options().heartbeat_interval
                           : std::clamp(absl::Milliseconds(hello.heartbeat_interval_ms()),
                                        absl::Milliseconds(10), absl::Hours(1));
    last_written_ = now;
    wire::Welcome* welcome = out_.mutable_welcome();
    welcome->set_node(core_->address());
    welcome->set_incarnation(core_->incarnation());
    writing_ = true;
    StartWrite(&out_);
    StartRead(&in_);
  }

  const std::shared_ptr<NodeCore> core_;
  TransportService* const service_;
  const std::string peer_;  // gRPC's name for the caller, for logs
  const uint64_t serial_;   // this stream's number, for NodeCore's relays
  mutable Mutex mu_;
  std::shared_ptr<InboundStream> self_ ABSL_GUARDED_BY(mu_);
  wire::Frame in_ ABSL_GUARDED_BY(mu_);
  wire::Frame out_ ABSL_GUARDED_BY(mu_);
  std::string node_ ABSL_GUARDED_BY(mu_);  // the caller's node, once it said Hello
  absl::Time last_heard_ ABSL_GUARDED_BY(mu_);
  absl::Time last_written_ ABSL_GUARDED_BY(mu_);
  absl::Duration caller_interval_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish called
  bool cut_ ABSL_GUARDED_BY(mu_) = false;       // Cut(): finish at the next read
  bool finish_wanted_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Refuses a stream over the limit.
class RefusedStream final : public grpc::ServerBidiReactor<wire::Frame, wire::Frame> {
 public:
  explicit RefusedStream(TransportService* service) : service_(service) {
    Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "troupe: too many streams open to this node"));
  }
  void OnDone() override {
    service_->StreamDone(nullptr);
    delete this;
  }

 private:
  TransportService* const service_;
};

}  // namespace

grpc::ServerBidiReactor<wire::Frame, wire::Frame>* TransportService::Connect(
    grpc::CallbackServerContext* context) {
  const int open = open_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (open > core_->options().max_inbound_streams) {
    core_->counters().streams_refused.fetch_add(1, std::memory_order_relaxed);
    LogWarning(RemoteLog(), "refused a stream from {}: {} open (NodeOptions::max_inbound_streams)",
               context->peer(), open - 1);
    return new RefusedStream(this);
  }
  auto stream = std::make_shared<InboundStream>(
      core_, this, context->peer(), next_serial_.fetch_add(1, std::memory_order_relaxed));
  {
    MutexLock lock(mu_);
    streams_.emplace(stream.get(), stream);
  }
  stream->Start();
  return stream.get();
}

void TransportService::StreamDone(InboundStream* stream) {
  if (stream != nullptr) {
    MutexLock lock(mu_);
    streams_.erase(stream);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
}

TransportService::TransportService(std::shared_ptr<NodeCore> core) : core_(std::move(core)) {
  core_->set_inbound(this);
}

TransportService::~TransportService() { core_->set_inbound(nullptr); }

std::vector<std::shared_ptr<InboundStream>> TransportService::Streams() {
  std::vector<std::shared_ptr<InboundStream>> streams;
  MutexLock lock(mu_);
  streams.reserve(streams_.size());
  for (const auto& [raw, weak] : streams_) {
    if (std::shared_ptr<InboundStream> stream = weak.lock()) streams.push_back(std::move(stream));
  }
  return streams;
}

void TransportService::Tick(absl::Time now) {
  // Outside mu_: a tick may finish a stream, whose OnDone takes mu_.
  for (const std::shared_ptr<InboundStream>& stream : Streams()) stream->Tick(now);
}

void TransportService::Cut(const std::string& address) {
  for (const std::shared_ptr<InboundStream>& stream : Streams()) {
    if (stream->node() != address) continue;
    LogDebug(RemoteLog(), "ending the streams from node {}: our way back to it is lost", address);
    stream->Cut();
  }
}

}  // namespace troupe::remote_internal
