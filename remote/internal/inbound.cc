#include "remote/internal/inbound.h"

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "remote/internal/peer.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {
namespace {

class InboundStream final : public grpc::ServerBidiReactor<wire::Frame, wire::Frame> {
 public:
  InboundStream(std::shared_ptr<NodeCore> core, TransportService* service, std::string peer)
      : core_(std::move(core)), service_(service), peer_(std::move(peer)) {
    MutexLock lock(mu_);
    StartRead(in_);
  }

  void OnReadDone(bool ok) override {
    MutexLock lock(mu_);
    if (!ok) {  // the peer closed its side, or the stream was cancelled
      Finish(grpc::Status::OK);
      return;
    }
    if (node_.empty()) {
      Greet();
      return;
    }
    if (in_->has_batch()) core_->DeliverBatch(in_->batch(), node_);
    // The next frame on a fresh arena: a batch's envelopes cost a few
    // blocks, not a malloc each.
    arena_.Reset();
    in_ = google::protobuf::Arena::CreateMessage<wire::Frame>(&arena_);
    StartRead(in_);
  }

  void OnWriteDone(bool /*ok*/) override { MutexLock lock(mu_); }

  void OnDone() override {
    { MutexLock lock(mu_); }  // after every reaction, as far as TSAN can tell
    service_->StreamDone();
    delete this;
  }

 private:
  // The first frame: it must be a Hello with the token.
  void Greet() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!in_->has_hello() || !core_->TokenMatches(in_->hello().cluster_token())) {
      core_->counters().streams_refused.fetch_add(1, std::memory_order_relaxed);
      LogWarning(RemoteLog(), "refused a stream from {}: no valid cluster token", peer_);
      Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "troupe: bad cluster token"));
      return;
    }
    const wire::Hello& hello = in_->hello();
    if (hello.protocol_version() != kProtocolVersion || hello.node().empty()) {
      core_->counters().streams_refused.fetch_add(1, std::memory_order_relaxed);
      Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("troupe: protocol version ", hello.protocol_version(),
                                       ", this node speaks ", kProtocolVersion)));
      return;
    }
    node_ = hello.node();
    wire::Welcome* welcome = out_.mutable_welcome();
    welcome->set_node(core_->address());
    welcome->set_incarnation(core_->incarnation());
    StartWrite(&out_);
    StartRead(in_);
  }

  const std::shared_ptr<NodeCore> core_;
  TransportService* const service_;
  const std::string peer_;  // gRPC's name for the caller, for logs
  Mutex mu_;
  google::protobuf::Arena arena_ ABSL_GUARDED_BY(mu_);
  wire::Frame* in_ ABSL_GUARDED_BY(mu_) =
      google::protobuf::Arena::CreateMessage<wire::Frame>(&arena_);
  wire::Frame out_ ABSL_GUARDED_BY(mu_);
  std::string node_ ABSL_GUARDED_BY(mu_);  // the caller's node, once it said Hello
};

// Refuses a stream over the limit.
class RefusedStream final : public grpc::ServerBidiReactor<wire::Frame, wire::Frame> {
 public:
  explicit RefusedStream(TransportService* service) : service_(service) {
    Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "troupe: too many streams open to this node"));
  }
  void OnDone() override {
    service_->StreamDone();
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
  return new InboundStream(core_, this, context->peer());
}

}  // namespace troupe::remote_internal
