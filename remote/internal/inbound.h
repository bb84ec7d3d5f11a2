// -----------------------------------------------------------------------------
// File: internal/inbound.h
// -----------------------------------------------------------------------------
//
// `TransportService`: the gRPC service other nodes open their streams to,
// and `InboundStream`, the server side of one such stream.
//
//   remote_internal::TransportService service(core);
//   builder.RegisterService(&service);
//
// A stream must begin with a Hello carrying the cluster token and this
// protocol's version; anything else ends it with UNAUTHENTICATED (or
// FAILED_PRECONDITION for another version) before a single envelope is
// read. Then each Batch goes to NodeCore::DeliverBatch, in order.
// At most NodeOptions::max_inbound_streams are open at a time; more are
// refused with RESOURCE_EXHAUSTED.
//
// Thread-safety: gRPC calls the reactions on its threads. gRPC is not
// built with ThreadSanitizer, so the hand-over from one reaction to the
// next is invisible to it: each reaction takes the stream's own mutex,
// which TSAN does see.

#ifndef TROUPE_REMOTE_INTERNAL_INBOUND_H_
#define TROUPE_REMOTE_INTERNAL_INBOUND_H_

#include <atomic>
#include <memory>
#include <string>

#include "remote/internal/node_core.h"
#include "remote/wire.grpc.pb.h"

namespace troupe::remote_internal {

namespace wire = ::troupe::remote::wire;

class TransportService final : public wire::Transport::CallbackService {
 public:
  explicit TransportService(std::shared_ptr<NodeCore> core) : core_(std::move(core)) {}

  grpc::ServerBidiReactor<wire::Frame, wire::Frame>* Connect(
      grpc::CallbackServerContext* context) override;

  // Streams not yet done.
  int open_streams() const { return open_.load(std::memory_order_relaxed); }
  void StreamDone() { open_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  const std::shared_ptr<NodeCore> core_;
  std::atomic<int> open_{0};
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_INBOUND_H_
