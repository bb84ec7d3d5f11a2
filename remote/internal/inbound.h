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
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "remote/internal/node_core.h"
#include "remote/wire.grpc.pb.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {

namespace wire = ::troupe::remote::wire;

class InboundStream;

class TransportService final : public wire::Transport::CallbackService, public InboundStreams {
 public:
  // Registers itself with `core` (NodeCore::set_inbound) until destroyed.
  explicit TransportService(std::shared_ptr<NodeCore> core);
  ~TransportService() override;

  grpc::ServerBidiReactor<wire::Frame, wire::Frame>* Connect(
      grpc::CallbackServerContext* context) override;

  // Streams not yet done.
  int open_streams() const { return open_.load(std::memory_order_relaxed); }

  // From a stream's OnDone (null for a refused one).
  void StreamDone(InboundStream* stream) ABSL_LOCKS_EXCLUDED(mu_);

  // TransportService::Tick()
  //
  // Every heartbeat interval: ends each stream whose caller has been silent
  // too long (the failure timeout, or three of the caller's heartbeat
  // intervals if longer). Heartbeats themselves are answers: a stream
  // writes one back when it reads a frame and has written nothing for half
  // the caller's interval.
  void Tick(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends every stream from node `address` (UNAVAILABLE; at its next frame):
  // the association with it is lost (NodeCore::AssociationLost).
  void Cut(const std::string& address) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Every open stream, held while the caller works on them.
  std::vector<std::shared_ptr<InboundStream>> Streams() ABSL_LOCKS_EXCLUDED(mu_);

  const std::shared_ptr<NodeCore> core_;
  std::atomic<int> open_{0};
  std::atomic<uint64_t> next_serial_{1};
  Mutex mu_;
  absl::flat_hash_map<InboundStream*, std::weak_ptr<InboundStream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_INBOUND_H_
