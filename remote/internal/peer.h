// -----------------------------------------------------------------------------
// File: internal/peer.h
// -----------------------------------------------------------------------------
//
// `Peer`: this node's way out to one other node. It owns the gRPC stream
// that carries our mail there, opened when the first message is queued,
// and the queue of mail waiting for it.
//
//   std::shared_ptr<Peer> peer = core->PeerFor("10.0.0.7:4100");
//   DeadLetterReason refused;
//   if (peer->Enqueue(Target{.name = "accounts"}, envelope, refused) != PushResult::kPushed) {
//     PublishDeadLetter(link, std::move(envelope), refused, nullptr);  // still ours
//   }
//
// The stream: Hello (our address, incarnation, the cluster token), then,
// once the peer's Welcome arrives, batches. One batch is in flight at a
// time; it holds everything queued when it was taken (up to the frame size
// limit), so a burst costs one write, and each type name and target is
// written once per batch. Order from this node to any actor on the peer is
// the queue's order.
//
// Failure: when the stream breaks (the peer is gone, refused us, or never
// answered), every queued envelope is a dead letter ("node unreachable":
// asks fail at once with kUnavailable), and for a back-off that doubles up
// to NodeOptions::max_reconnect_backoff new mail fails fast; the next
// message after it opens a new stream. A batch already written is not
// retried: delivery is at most once.
//
// Thread-safety: Enqueue from any thread. The stream's callbacks run on
// gRPC's threads; everything they share with senders is under mu_, or
// handed over under it: a batch's mail, once taken for a write, belongs to
// that write, which encodes it outside mu_ (so senders do not wait for the
// encoding), and whose completion frees it before taking mu_. mu_ is also
// what lets ThreadSanitizer see the hand-overs: gRPC itself is not
// instrumented.

#ifndef TROUPE_REMOTE_INTERNAL_PEER_H_
#define TROUPE_REMOTE_INTERNAL_PEER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "actor/dead_letters.h"
#include "actor/message.h"
#include "base/logging.h"
#include "remote/internal/outgoing_queue.h"
#include "remote/internal/remote_ref.h"
#include "remote/wire.grpc.pb.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {

// What a frame holds besides payloads, per envelope and per batch, at most
// (tags, lengths, a sender's ref): the slack left when a payload's size is
// checked against the frame limit. So a frame a node writes holds at most
// one envelope per kEnvelopeOverhead bytes of the limit.
inline constexpr size_t kEnvelopeOverhead = 256;
inline constexpr size_t kFrameOverhead = 4096;

namespace wire = ::troupe::remote::wire;

class NodeCore;

// remote/'s log component ("[remote] ...").
const LogComponent& RemoteLog();

class Peer : public std::enable_shared_from_this<Peer> {
 public:
  Peer(std::shared_ptr<NodeCore> core, std::string address);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Peer::Enqueue()
  //
  // Queues `envelope` for `target` on this peer (kPushed; the envelope is
  // taken). Refused, it stays in `envelope` and `refused` says why:
  // kNodeUnreachable (closed, or backing off after a failure; kClosed),
  // kNotSerializable or kTooLarge (kClosed), or too much queued already
  // (kMailboxFull; kFull).
  PushResult Enqueue(const Target& target, EnvelopePtr& envelope, DeadLetterReason& refused)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Peer::Watch() / Unwatch() / LinkExit() / OnWatchFired()
  //
  // `watcher` watches (or, with `link`, links to) the actor that
  // `target_ref` (a RemoteRef through this peer, naming `target`) points
  // to: a WatchRequest goes to the peer, whose node answers with WatchFired
  // when the actor stops; the watcher then gets its Down (a linker: its
  // Exit) with `target_ref` as the sender. If the stream breaks, or the
  // request cannot be sent, every watch and link through this peer fires
  // at once with NODE_DOWN. Unwatch forgets the watch (or link) here and
  // tells the peer. LinkExit: the linker has stopped with `reason`; the
  // linked actor gets its Exit. OnWatchFired: false if the watch is not
  // this peer's (or was cancelled).
  void Watch(const actor_internal::AddressablePtr& target_ref, const Target& target,
             const actor_internal::AddressablePtr& watcher, bool link) ABSL_LOCKS_EXCLUDED(mu_);
  void Unwatch(const actor_internal::Addressable* target_ref, const Target& target,
               const actor_internal::Addressable* watcher, bool link) ABSL_LOCKS_EXCLUDED(mu_);
  void LinkExit(const actor_internal::Addressable* target_ref, const Target& target,
                const actor_internal::Addressable& linker, const proto::ExitReason& reason)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool OnWatchFired(const wire::WatchFired& fired) ABSL_LOCKS_EXCLUDED(mu_);

  // Peer::RefFor() / Forget()
  //
  // The RemoteRef for `target` through this peer (`asks`: RemoteRef's
  // kind): the live one if there is one, else a new one, so that refs to
  // the same remote actor are the same receiver. Forget: a ref's last
  // reference has gone (RemoteRef::Destroy).
  actor_internal::AddressablePtr RefFor(actor_internal::SystemLink* link, const Target& target,
                                        bool asks) ABSL_LOCKS_EXCLUDED(refs_mu_);
  void Forget(const RemoteRef* ref) ABSL_LOCKS_EXCLUDED(refs_mu_);

  // Peer::DeclareDown()
  //
  // The peer is known to be gone (membership says it left): its stream is
  // cancelled and everything on it fails as on a break. `why` is logged.
  void DeclareDown(const std::string& why) ABSL_LOCKS_EXCLUDED(mu_);

  // Peer::Greeted()
  //
  // The peer has just opened a stream to us (its Hello was accepted): it is
  // up, so a back-off after an earlier failure ends now, and replies to
  // what it sends go out at once.
  void Greeted() ABSL_LOCKS_EXCLUDED(mu_);

  // Peer::Tick()
  //
  // Called every heartbeat interval (by the Node's ticker): declares the
  // peer down if nothing came from it for the failure timeout (the stream
  // breaks as if reset: queued mail dead-lettered, asks in flight failed),
  // else writes a heartbeat if the stream has been idle for the interval
  // (the peer answers it, so we hear from it at our own pace).
  void Tick(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // False once closed, or while backing off after a failure.
  bool Reachable() const ABSL_LOCKS_EXCLUDED(mu_);

  // Peer::Close()
  //
  // Ends the stream and waits for gRPC to finish with it; queued mail is
  // dead-lettered. Later mail is refused. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& address() const { return address_; }
  // The peer's incarnation from its Welcome; 0 before.
  uint64_t incarnation() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  class Stream;
  enum class State { kIdle, kConnecting, kConnected, kClosed };
  static constexpr size_t kMinAskSweep = 1024;
  // An ask whose request was queued or written to the peer: if the stream
  // breaks before the reply comes (on the peer's own stream to us), it fails
  // then, not at its timeout. (One still queued fails as a dead letter
  // first; the sweep then finds it answered.)
  struct AskInFlight {
    actor_internal::AddressablePtr asker;
    const MessageType* request;
  };
  // A watch of (or link to) an actor on the peer, by one of ours.
  struct RemoteWatch {
    actor_internal::AddressablePtr watcher;
    actor_internal::AddressablePtr target_ref;  // the Down's (Exit's) sender
    bool link = false;
  };
  // What a broken stream leaves to fail.
  struct Failed {
    std::deque<Outgoing> mail;
    std::vector<AskInFlight> asks;
    std::vector<RemoteWatch> watches;
    bool association_lost = false;  // the current stream broke (not a Close)
  };

  // Starts a stream (kIdle -> kConnecting).
  void ConnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // If the current stream is welcomed, not writing and mail is queued:
  // moves the next batch's mail to it and returns it, marked writing, for
  // the caller to Write() once mu_ is released. Else null.
  Stream* TakeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Encodes the stream's batch and starts its write, without mu_: senders
  // keep queuing meanwhile, and gRPC may run a callback inline (callbacks
  // take mu_).
  void Write(Stream* stream) ABSL_LOCKS_EXCLUDED(mu_);
  // The stream's callbacks.
  // Any frame from the peer: it is alive; a Welcome opens the stream to mail.
  void OnRead(Stream* stream, const wire::Frame& frame) ABSL_LOCKS_EXCLUDED(mu_);
  void OnWritten(Stream* stream, bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  void OnBroken(Stream* stream) ABSL_LOCKS_EXCLUDED(mu_);
  void OnStreamDone(Stream* stream, const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  // Why `envelope` cannot go to another node (logged), if it cannot;
  // `payload` gets its serialised size (0 for a status).
  std::optional<DeadLetterReason> Unsendable(const Envelope& envelope, size_t& payload) const;
  // Marks `stream` broken: no more writes start on it, the peer backs
  // off, and what was queued or in flight is moved to `failed`. True if
  // the caller must now release the stream's hold (outside mu_).
  bool BreakLocked(Stream* stream, Failed& failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Dead-letters the mail ("node unreachable") and fails the asks.
  void Fail(Failed failed);
  // Delivers `watch` its Down (a link: its Exit), from its target_ref.
  static void Fire(const RemoteWatch& watch, proto::ExitReason::Kind kind, std::string detail,
                   const proto::ActorAddress* actor = nullptr);
  // Removes `watcher`'s watches (or links) through `target_ref`: their ids.
  std::vector<uint64_t> TakeWatches(const actor_internal::Addressable* target_ref,
                                    const actor_internal::Addressable* watcher, bool link)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Remembers `request` if it is an ask's (its sender not an actor).
  void NoteAskLocked(const Envelope& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<wire::Transport::Stub> stub_;
  const size_t max_queued_;
  const size_t max_queued_bytes_;
  const size_t max_frame_bytes_;
  const absl::Duration min_backoff_;
  const absl::Duration max_backoff_;
  const absl::Duration heartbeat_interval_;
  const absl::Duration failure_timeout_;
  // The node's system, counted (the peer may outlive the node's core):
  // where mail that cannot be sent is dead-lettered.
  actor_internal::SystemLink* const link_;

  // Streams not yet done, counted apart from mu_ and shared with each
  // stream, so that the last thing a finished stream's OnDone does — after
  // letting go of its Peer — is count itself out. Close() waits for zero:
  // then no gRPC callback holds the Peer, whose destruction (and its
  // channel's) must not happen on gRPC's own thread (seen: "prior > 0").
  struct LiveStreams {
    Mutex mu;
    CondVar done;
    int count ABSL_GUARDED_BY(mu) = 0;
  };
  const std::shared_ptr<LiveStreams> live_ = std::make_shared<LiveStreams>();

  mutable Mutex mu_;
  std::shared_ptr<NodeCore> core_ ABSL_GUARDED_BY(mu_);  // null once closed
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;  // the current stream, if any
  OutgoingQueue queue_ ABSL_GUARDED_BY(mu_);
  std::vector<AskInFlight> asks_in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, RemoteWatch> watches_ ABSL_GUARDED_BY(mu_);
  size_t asks_sweep_at_ ABSL_GUARDED_BY(mu_) = kMinAskSweep;
  uint64_t peer_incarnation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  // The live RemoteRefs through this peer, without a reference each (see
  // Addressable::TryRef); apart from mu_, which senders hold to queue.
  Mutex refs_mu_;
  absl::flat_hash_map<std::pair<Target, bool>, RemoteRef*> refs_ ABSL_GUARDED_BY(refs_mu_);
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_PEER_H_
