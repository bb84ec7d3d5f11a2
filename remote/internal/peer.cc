#include "remote/internal/peer.h"

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "actor/internal/system_link.h"
#include "base/logging.h"
#include "remote/internal/node_core.h"

namespace troupe::remote_internal {

const LogComponent& RemoteLog() {
  static const LogComponent& component = LogComponent::Named("remote");
  return component;
}

// One gRPC stream to the peer. Its writes start from senders' threads as
// well as from its own callbacks, hence the hold (grpc::ClientBidiReactor's
// AddHold): gRPC cannot finish the stream while it is held. Its fields are
// under the peer's mu_, except while `writing`: then out_, in_flight and
// write_core belong to the write — to the thread that serialises the batch
// (Peer::Write, outside mu_) and then to gRPC until OnWriteDone. in_
// belongs to gRPC between StartRead and OnReadDone.
class Peer::Stream final : public grpc::ClientBidiReactor<wire::Frame, wire::Frame>,
                           public std::enable_shared_from_this<Stream> {
 public:
  explicit Stream(std::shared_ptr<Peer> peer) : peer_(std::move(peer)) {}

  // Owned by itself from Start to OnDone; Close() holds it a moment longer.
  static Stream* Make(std::shared_ptr<Peer> peer) {
    auto stream = std::make_shared<Stream>(std::move(peer));
    stream->self_ = stream;
    return stream.get();
  }
  std::shared_ptr<Stream> self() { return shared_from_this(); }

  void Start(wire::Transport::Stub& stub) {
    stub.async()->Connect(&context_, this);
    StartWrite(&out_);  // the Hello, set by the peer
    StartRead(&in_);
    AddHold();
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      peer_->OnBroken(this);
      return;
    }
    peer_->OnRead(this, in_);
    StartRead(&in_);  // heartbeats, and the end of the stream
  }

  void OnWriteDone(bool ok) override { peer_->OnWritten(this, ok); }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<Stream> self = std::move(self_);  // may be the last reference
    std::shared_ptr<Peer> peer = std::move(peer_);
    std::shared_ptr<LiveStreams> live = peer->live_;
    peer->OnStreamDone(this, status);
    peer.reset();  // before counting out (Peer::LiveStreams)
    MutexLock count(live->mu);
    if (--live->count == 0) live->done.SignalAll();
  }

  // Starts the next frame to write. A batch goes into the last one's
  // envelopes and payload strings, cleared rather than freed (wire.proto's
  // Frame), so a steady flow of batches allocates nothing; what is kept is
  // bounded by the frame limit. A heartbeat means the stream is idle: it
  // gets a fresh frame, and the memory goes.
  wire::Batch* NewBatch() {
    out_.Clear();
    return out_.mutable_batch();
  }
  wire::Frame* NewIdleFrame() {
    out_ = wire::Frame();
    return &out_;
  }

  grpc::ClientContext context_;
  wire::Frame out_;
  wire::Frame in_;
  bool writing = true;  // the Hello
  bool broken = false;
  absl::Time last_heard;    // the start, or the last frame from the peer
  absl::Time last_written;  // the last write started
  bool hold_released = false;
  std::vector<Outgoing> in_flight;       // the envelopes of the batch being written
  std::shared_ptr<NodeCore> write_core;  // for Peer::Write

 private:
  std::shared_ptr<Peer> peer_;
  std::shared_ptr<Stream> self_;
};

Peer::Peer(std::shared_ptr<NodeCore> core, std::string address)
    : address_(std::move(address)),
      max_queued_(core->options().max_queued_per_peer),
      max_queued_bytes_(core->options().max_queued_bytes_per_peer),
      max_frame_bytes_(core->options().max_message_bytes),
      min_backoff_(core->options().reconnect_backoff),
      max_backoff_(core->options().max_reconnect_backoff),
      heartbeat_interval_(core->options().heartbeat_interval),
      failure_timeout_(core->options().failure_timeout),
      link_(core->link()),
      core_(std::move(core)),
      backoff_(min_backoff_) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(static_cast<int>(max_frame_bytes_));
  args.SetMaxReceiveMessageSize(static_cast<int>(max_frame_bytes_));
  // Each peer gets a connection of its own, not one shared by address.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (const std::optional<remote::TlsOptions>& tls = core_->options().tls) {
    // Dialling, the node presents its certificate and trusts only the
    // cluster's authority.
    credentials = grpc::SslCredentials(grpc::SslCredentialsOptions{
        tls->root_certificates, tls->private_key, tls->certificate_chain});
    if (!tls->peer_name.empty()) args.SetSslTargetNameOverride(tls->peer_name);
  }
  channel_ = grpc::CreateCustomChannel(address_, credentials, args);
  stub_ = wire::Transport::NewStub(channel_);
  link_->Ref();
}

Peer::~Peer() { link_->Unref(); }

PushResult Peer::Enqueue(const Target& target, EnvelopePtr& envelope, DeadLetterReason& refused) {
  size_t payload = 0;
  if (std::optional<DeadLetterReason> unsendable = Unsendable(*envelope, payload)) {
    refused = *unsendable;
    return PushResult::kClosed;
  }
  const size_t bytes = payload + kEnvelopeOverhead;
  Stream* write = nullptr;
  {
    MutexLock lock(mu_);
    if (state_ == State::kClosed || (state_ == State::kIdle && absl::Now() < retry_at_)) {
      if (core_) core_->counters().unreachable.fetch_add(1, std::memory_order_relaxed);
      refused = DeadLetterReason::kNodeUnreachable;
      return PushResult::kClosed;
    }
    // The queue's encoded bytes: its frame shares less their overheads.
    const size_t queued_bytes = queue_.bytes() - queue_.size() * kEnvelopeOverhead;
    if (queue_.size() >= max_queued_ ||
        (!queue_.empty() && queued_bytes + payload > max_queued_bytes_)) {
      if (core_) core_->counters().queue_full.fetch_add(1, std::memory_order_relaxed);
      refused = DeadLetterReason::kMailboxFull;
      return PushResult::kFull;
    }
    // Asks are noted here, where the envelope is still in this thread's
    // cache, not by the writer (TakeWriteLocked stays O(1) under mu_).
    NoteAskLocked(*envelope);
    queue_.Push(Outgoing{target, std::move(envelope), bytes});
    if (state_ == State::kIdle) ConnectLocked();
    write = TakeWriteLocked();
  }
  if (write != nullptr) Write(write);
  return PushResult::kPushed;
}

std::optional<DeadLetterReason> Peer::Unsendable(const Envelope& envelope, size_t& payload) const {
  payload = 0;
  if (envelope.Is<absl::Status>()) return std::nullopt;  // a failed ask's reply
  const google::protobuf::Message* message = envelope.AsProtobuf();
  if (message == nullptr) {
    LogWarning(RemoteLog(), "{} is not a protobuf message: it cannot be sent to node {}",
               envelope.type().name(), address_);
    return DeadLetterReason::kNotSerializable;
  }
  // Sized once, here: the batch's encoder serialises with this cached size.
  payload = message->ByteSizeLong();
  if (payload + kEnvelopeOverhead + kFrameOverhead > max_frame_bytes_) {
    LogWarning(RemoteLog(), "{} of {} bytes does not fit a frame to node {} ({} bytes at most)",
               envelope.type().name(), payload, address_, max_frame_bytes_);
    return DeadLetterReason::kTooLarge;
  }
  return std::nullopt;
}

bool Peer::Reachable() const {
  MutexLock lock(mu_);
  return state_ != State::kClosed && !(state_ == State::kIdle && absl::Now() < retry_at_);
}

uint64_t Peer::incarnation() const {
  MutexLock lock(mu_);
  return peer_incarnation_;
}

void Peer::ConnectLocked() {
  Stream* stream = Stream::Make(shared_from_this());
  wire::Hello* hello = stream->out_.mutable_hello();
  hello->set_protocol_version(kProtocolVersion);
  hello->set_node(core_->address());
  hello->set_incarnation(core_->incarnation());
  hello->set_cluster_token(core_->options().cluster_token);
  hello->set_heartbeat_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(heartbeat_interval_)));
  stream->last_heard = absl::Now();  // a Welcome is due within the failure timeout
  stream_ = stream;
  {
    MutexLock count(live_->mu);
    ++live_->count;
  }
  state_ = State::kConnecting;
  // Start() only posts the first operations and activates the call; its
  // callbacks come later, on gRPC's threads. (The hello is written before
  // anything else could be: `writing` is set.)
  stream->Start(*stub_);
}

Peer::Stream* Peer::TakeWriteLocked() {
  Stream* stream = stream_;
  if (stream == nullptr || state_ != State::kConnected || stream->writing || stream->broken ||
      queue_.empty() || !core_) {
    return nullptr;
  }
  // As much of the queue as fits a frame: all of it, usually. (The last
  // batch's mail went when its write completed or the stream broke.)
  queue_.TakeBatch(max_frame_bytes_ > kFrameOverhead ? max_frame_bytes_ - kFrameOverhead : 0,
                   stream->in_flight);
  stream->writing = true;
  stream->last_written = absl::Now();
  stream->write_core = core_;
  return stream;
}

void Peer::Write(Stream* stream) {
  // Outside mu_: senders keep queuing while the batch is encoded.
  const std::shared_ptr<NodeCore> core = std::move(stream->write_core);
  wire::Batch* batch = stream->NewBatch();
  // Each target, type and sender goes into the batch's tables once. A burst
  // (one sender, one type, one target) is the common case: a run of equal
  // entries is found by comparing with the last, not by hashing.
  absl::flat_hash_map<Target, uint32_t> targets;
  absl::flat_hash_map<const MessageType*, uint32_t> types;
  absl::flat_hash_map<const actor_internal::Addressable*, uint32_t> senders;
  const Target* last_target = nullptr;
  uint32_t last_target_index = 0;
  const MessageType* last_type = nullptr;
  uint32_t last_type_index = 0;
  const actor_internal::Addressable* last_sender = nullptr;
  uint32_t last_sender_index = 0;
  for (const Outgoing& out : stream->in_flight) {
    wire::Envelope* envelope = batch->add_envelopes();
    if (last_target == nullptr || !(*last_target == out.target)) {
      auto [index, added] = targets.try_emplace(out.target, targets.size());
      if (added) {
        wire::Target* t = batch->add_targets();
        t->set_id(out.target.id);
        t->set_name(out.target.name);
        t->set_incarnation(out.target.incarnation);
      }
      last_target = &out.target;
      last_target_index = index->second;
    }
    envelope->set_target(last_target_index);
    if (out.envelope->Is<absl::Status>()) {
      const absl::Status& status = out.envelope->As<absl::Status>();
      envelope->set_is_status(true);
      envelope->set_status_code(static_cast<int32_t>(status.code()));
      envelope->set_status_message(std::string(status.message()));
    } else {
      if (&out.envelope->type() != last_type) {
        auto [index, added] = types.try_emplace(&out.envelope->type(), types.size());
        if (added) batch->add_type_names(out.envelope->type().name());
        last_type = &out.envelope->type();
        last_type_index = index->second;
      }
      envelope->set_type(last_type_index);
      const google::protobuf::Message* message = out.envelope->AsProtobuf();
      std::string* serialized = envelope->mutable_payload();
      serialized->resize(static_cast<size_t>(message->GetCachedSize()));  // reused: no malloc
      message->SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(serialized->data()));
    }
    if (const actor_internal::AddressablePtr& sender = out.envelope->sender()) {
      if (sender.get() != last_sender) {
        auto [index, added] = senders.try_emplace(sender.get(), senders.size());
        if (added) {
          wire::Sender* entry = batch->add_senders();
          *entry->mutable_ref() = core->Describe(sender);
          // Not an actor: an ask's receiver, which wants to hear of a failure.
          entry->set_asks(sender->AsCell() == nullptr);
        }
        last_sender = sender.get();
        last_sender_index = index->second;
      }
      envelope->set_sender(last_sender_index + 1);
    }
  }
  core->counters().messages_sent.fetch_add(batch->envelopes_size(), std::memory_order_relaxed);
  core->counters().batches_sent.fetch_add(1, std::memory_order_relaxed);
  stream->StartWrite(&stream->out_);
}

void Peer::OnRead(Stream* stream, const wire::Frame& frame) {
  Stream* write = nullptr;
  {
    MutexLock lock(mu_);
    stream->last_heard = absl::Now();
    if (!frame.has_welcome() || stream != stream_ || state_ != State::kConnecting) return;
    state_ = State::kConnected;
    peer_incarnation_ = frame.welcome().incarnation();
    backoff_ = min_backoff_;
    write = TakeWriteLocked();
  }
  if (write != nullptr) Write(write);
}

actor_internal::AddressablePtr Peer::RefFor(actor_internal::SystemLink* link, const Target& target,
                                            bool asks) {
  actor_internal::AddressablePtr ref;
  MutexLock lock(refs_mu_);
  RemoteRef*& cached = refs_[{target, asks}];
  if (cached != nullptr && cached->TryRef()) {
    ref = actor_internal::AddressablePtr(cached);
    cached->Unref();  // the TryRef's reference, now held by `ref`
    return ref;
  }
  // None, or one whose last reference is going (its Forget will find this
  // one in its place and leave it).
  cached = new RemoteRef(link, shared_from_this(), target, asks);
  return actor_internal::AddressablePtr(cached);
}

void Peer::Forget(const RemoteRef* ref) {
  MutexLock lock(refs_mu_);
  auto it = refs_.find(std::make_pair(ref->target(), ref->asks()));
  if (it != refs_.end() && it->second == ref) refs_.erase(it);
}

void Peer::DeclareDown(const std::string& why) {
  Failed failed;
  std::shared_ptr<Stream> stream;
  bool release;
  {
    MutexLock lock(mu_);
    if (stream_ == nullptr || stream_->broken) return;
    LogInfo(RemoteLog(), "node {}: {}: declared down", address_, why);
    stream = stream_->self();
    release = BreakLocked(stream_, failed);
  }
  stream->context_.TryCancel();
  if (release) stream->RemoveHold();
  Fail(std::move(failed));
}

void Peer::Greeted() {
  MutexLock lock(mu_);
  if (state_ != State::kIdle) return;
  retry_at_ = absl::InfinitePast();
  backoff_ = min_backoff_;
}

void Peer::Tick(absl::Time now) {
  Failed failed;
  std::shared_ptr<Stream> stream;
  bool release = false;
  bool heartbeat = false;
  {
    MutexLock lock(mu_);
    if (stream_ == nullptr || stream_->broken) return;
    if (now - stream_->last_heard > failure_timeout_) {
      // Silent for too long (a frozen or partitioned node: no reset comes).
      LogWarning(RemoteLog(), "node {}: nothing heard for {}: declared down", address_,
                 absl::FormatDuration(now - stream_->last_heard));
      stream = stream_->self();
      release = BreakLocked(stream_, failed);
      if (core_) core_->counters().peers_declared_down.fetch_add(1, std::memory_order_relaxed);
    } else if (state_ == State::kConnected && !stream_->writing && queue_.empty() &&
               now - stream_->last_written >= heartbeat_interval_) {
      // Idle: tell the peer we are here (it judges us as we judge it).
      stream_->NewIdleFrame()->mutable_heartbeat();
      stream_->writing = true;
      stream_->last_written = now;
      stream = stream_->self();
      heartbeat = true;
    }
  }
  if (stream == nullptr) return;
  if (heartbeat) {
    stream->StartWrite(&stream->out_);
    return;
  }
  stream->context_.TryCancel();
  if (release) stream->RemoveHold();
  Fail(std::move(failed));
}

void Peer::OnWritten(Stream* stream, bool ok) {
  if (ok) {
    // At most once: the written mail is out of our hands. Still the
    // write's (`writing`), so freed here, outside mu_; the buffer stays
    // for a later batch (TakeWriteLocked trades it for the queue's), so a
    // steady flow allocates no queue memory. One left by a burst goes.
    stream->in_flight.clear();
    if (stream->in_flight.capacity() > OutgoingQueue::kKeptCapacity) {
      std::vector<Outgoing>().swap(stream->in_flight);
    }
  }
  Failed failed;
  Stream* write = nullptr;
  bool release = false;
  {
    MutexLock lock(mu_);
    stream->writing = false;
    if (ok) {
      if (core_) {
        // gRPC sized the frame to serialise it.
        core_->counters().bytes_sent.fetch_add(stream->out_.GetCachedSize(),
                                               std::memory_order_relaxed);
      }
    }
    if (ok && !stream->broken) {
      write = TakeWriteLocked();
    } else {
      release = BreakLocked(stream, failed);
    }
  }
  if (write != nullptr) Write(write);
  if (!ok) stream->context_.TryCancel();  // so that its read ends too
  if (release) stream->RemoveHold();
  Fail(std::move(failed));
}

void Peer::OnBroken(Stream* stream) {
  Failed failed;
  bool release;
  {
    MutexLock lock(mu_);
    release = BreakLocked(stream, failed);
  }
  if (release) stream->RemoveHold();
  Fail(std::move(failed));
}

bool Peer::BreakLocked(Stream* stream, Failed& failed) {
  // The mail of a write that did not go through. (While a write is under
  // way its mail is the writer's: this runs again when it completes.)
  if (!stream->writing) {
    for (Outgoing& out : stream->in_flight) failed.mail.push_back(std::move(out));
    stream->in_flight.clear();
  }
  if (!stream->broken) {
    stream->broken = true;
    if (stream == stream_) {
      stream_ = nullptr;
      queue_.DrainInto(failed.mail);
      failed.asks.swap(asks_in_flight_);
      asks_sweep_at_ = kMinAskSweep;
      for (auto& [id, watch] : watches_) failed.watches.push_back(std::move(watch));
      watches_.clear();
      if (state_ != State::kClosed) {
        failed.association_lost = true;
        // Fail fast for a while: a peer that is down should not cost every
        // sender a connection attempt.
        state_ = State::kIdle;
        retry_at_ = absl::Now() + backoff_;
        backoff_ = std::min(backoff_ * 2, max_backoff_);
      }
    }
  }
  // The hold goes once nothing more will be written: not while a write is
  // in flight (its OnWriteDone comes, with !ok, and releases it then).
  if (stream->writing || stream->hold_released) return false;
  stream->hold_released = true;
  return true;
}

void Peer::OnStreamDone(Stream* stream, const grpc::Status& status) {
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    LogInfo(RemoteLog(), "stream to node {} ended: {} ({})", address_, status.error_message(),
            static_cast<int>(status.error_code()));
  }
  MutexLock lock(mu_);
  if (stream == stream_) stream_ = nullptr;
}

void Peer::Fail(Failed failed) {
  if (failed.mail.empty() && failed.asks.empty() && failed.watches.empty() &&
      !failed.association_lost) {
    return;  // the common case: a write went through
  }
  // Control messages of the watch protocol are not anyone's mail: the
  // watches they served fire below, and the peer's watches of our actors
  // end with the association.
  std::erase_if(failed.mail, [](const Outgoing& out) {
    return out.envelope->Is<wire::WatchRequest>() || out.envelope->Is<wire::Unwatch>() ||
           out.envelope->Is<wire::WatchFired>() || out.envelope->Is<wire::LinkExit>();
  });
  std::shared_ptr<NodeCore> core;
  {
    MutexLock lock(mu_);
    core = core_;
  }
  if (core) {
    core->counters().unreachable.fetch_add(static_cast<int64_t>(failed.mail.size()),
                                           std::memory_order_relaxed);
    if (failed.association_lost) core->AssociationLost(address_);
  }
  if (!failed.mail.empty()) {
    LogInfo(RemoteLog(), "node {} unreachable: {} message(s) dead-lettered", address_,
            failed.mail.size());
  }
  // Each dead letter names its receiver; a run of mail to one target (the
  // usual case) shares one ref.
  const Target* named = nullptr;
  actor_internal::AddressablePtr receiver;
  for (Outgoing& out : failed.mail) {
    if (named == nullptr || !(*named == out.target)) {
      receiver = RefFor(link_, out.target, /*asks=*/false);
      named = &out.target;
    }
    actor_internal::PublishDeadLetter(link_, std::move(out.envelope),
                                      DeadLetterReason::kNodeUnreachable, receiver.get());
  }
  for (const RemoteWatch& watch : failed.watches) {
    Fire(watch, proto::ExitReason::NODE_DOWN,
         absl::StrCat("node ", address_, " lost (its connection broke or fell silent)"));
  }
  for (AskInFlight& ask : failed.asks) {
    if (!ask.asker->IsAlive()) continue;  // answered already
    ask.asker->Deliver(MakeEnvelope(absl::UnavailableError(
        absl::StrCat("ask ", ask.request->name(), " to node ", address_,
                     " failed: node unreachable (the connection broke after it was sent)"))));
  }
}

void Peer::Fire(const RemoteWatch& watch, proto::ExitReason::Kind kind, std::string detail,
                const proto::ActorAddress* actor) {
  proto::ActorAddress address;
  if (actor != nullptr) {
    address = *actor;
  } else {
    address.set_id(watch.target_ref->id());
    address.set_name(watch.target_ref->name());
  }
  proto::ExitReason reason;
  reason.set_kind(kind);
  reason.set_detail(std::move(detail));
  if (watch.link) {
    proto::Exit exit;
    *exit.mutable_from() = std::move(address);
    *exit.mutable_reason() = std::move(reason);
    watch.watcher->Deliver(MakeEnvelope(std::move(exit), watch.target_ref));
  } else {
    proto::Down down;
    *down.mutable_actor() = std::move(address);
    *down.mutable_reason() = std::move(reason);
    watch.watcher->Deliver(MakeEnvelope(std::move(down), watch.target_ref));
  }
}

void Peer::Watch(const actor_internal::AddressablePtr& target_ref, const Target& target,
                 const actor_internal::AddressablePtr& watcher, bool link) {
  // Unique in this process, so that a WatchFired finds its watch whichever
  // of our peers (names for the same node) it came back through.
  static std::atomic<uint64_t> next_watch_id{1};
  const uint64_t id = next_watch_id.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(mu_);
    watches_.emplace(id, RemoteWatch{watcher, target_ref, link});
  }
  wire::WatchRequest request;
  request.set_watch_id(id);
  request.set_link(link);
  EnvelopePtr envelope = MakeEnvelope(std::move(request));
  DeadLetterReason refused;
  if (Enqueue(target, envelope, refused) == PushResult::kPushed) return;
  // Not sent (the peer is unreachable or closed): the Down or Exit comes now.
  RemoteWatch watch;
  {
    MutexLock lock(mu_);
    auto it = watches_.find(id);
    if (it == watches_.end()) return;  // a break fired it meanwhile
    watch = std::move(it->second);
    watches_.erase(it);
  }
  Fire(watch, proto::ExitReason::NODE_DOWN,
       absl::StrCat("node ", address_,
                    " unreachable: ", std::string(DeadLetterReasonName(refused))));
}

std::vector<uint64_t> Peer::TakeWatches(const actor_internal::Addressable* target_ref,
                                        const actor_internal::Addressable* watcher, bool link) {
  std::vector<uint64_t> ids;
  std::vector<RemoteWatch> dropped;  // released outside the lock
  {
    MutexLock lock(mu_);
    for (auto it = watches_.begin(); it != watches_.end();) {
      const RemoteWatch& watch = it->second;
      if (watch.watcher.get() == watcher && watch.target_ref.get() == target_ref &&
          watch.link == link) {
        ids.push_back(it->first);
        dropped.push_back(std::move(it->second));
        watches_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  return ids;
}

void Peer::Unwatch(const actor_internal::Addressable* target_ref, const Target& target,
                   const actor_internal::Addressable* watcher, bool link) {
  for (uint64_t id : TakeWatches(target_ref, watcher, link)) {
    wire::Unwatch unwatch;
    unwatch.set_watch_id(id);
    EnvelopePtr envelope = MakeEnvelope(std::move(unwatch));
    DeadLetterReason refused;
    (void)Enqueue(target, envelope, refused);  // if not, the peer is gone anyway
  }
}

void Peer::LinkExit(const actor_internal::Addressable* target_ref, const Target& target,
                    const actor_internal::Addressable& linker, const proto::ExitReason& reason) {
  for (uint64_t id : TakeWatches(target_ref, &linker, /*link=*/true)) {
    wire::LinkExit exit;
    exit.set_watch_id(id);
    exit.mutable_from()->set_id(linker.id());
    exit.mutable_from()->set_name(linker.name());
    *exit.mutable_reason() = reason;
    EnvelopePtr envelope = MakeEnvelope(std::move(exit));
    DeadLetterReason refused;
    (void)Enqueue(target, envelope, refused);  // else the far side hears NODE_DOWN
  }
}

bool Peer::OnWatchFired(const wire::WatchFired& fired) {
  RemoteWatch watch;
  {
    MutexLock lock(mu_);
    auto it = watches_.find(fired.watch_id());
    if (it == watches_.end()) return false;  // not ours, or unwatched meanwhile
    watch = std::move(it->second);
    watches_.erase(it);
  }
  Fire(watch, fired.reason().kind(), fired.reason().detail(), &fired.actor());
  return true;
}

void Peer::NoteAskLocked(const Envelope& request) {
  const actor_internal::AddressablePtr& asker = request.sender();
  if (!asker || asker->AsCell() != nullptr) return;  // no sender, or an actor
  if (asks_in_flight_.size() >= asks_sweep_at_) {
    // Answered asks are dropped when the list has doubled: amortised O(1).
    std::erase_if(asks_in_flight_, [](const AskInFlight& ask) { return !ask.asker->IsAlive(); });
    asks_sweep_at_ = std::max(kMinAskSweep, 2 * asks_in_flight_.size());
  }
  asks_in_flight_.push_back(AskInFlight{asker, &request.type()});
}

void Peer::Close() {
  std::shared_ptr<Stream> cancel;
  Failed failed;
  bool release = false;
  {
    MutexLock lock(mu_);
    if (state_ != State::kClosed) {
      state_ = State::kClosed;
      if (stream_ != nullptr) {
        cancel = stream_->self();  // alive until TryCancel below returns
        release = BreakLocked(stream_, failed);
      }
      // Whatever BreakLocked did not take (no current stream).
      queue_.DrainInto(failed.mail);
      for (AskInFlight& ask : asks_in_flight_) failed.asks.push_back(std::move(ask));
      asks_in_flight_.clear();
      for (auto& [id, watch] : watches_) failed.watches.push_back(std::move(watch));
      watches_.clear();
    }
  }
  // Outside mu_: cancelling may run the stream's callbacks inline.
  if (cancel != nullptr) {
    cancel->context_.TryCancel();
    if (release) cancel->RemoveHold();
    cancel.reset();
  }
  Fail(std::move(failed));
  {
    MutexLock count(live_->mu);
    while (live_->count > 0) live_->done.Wait(live_->mu);
  }
  std::shared_ptr<NodeCore> core;
  {
    MutexLock lock(mu_);
    core = std::move(core_);  // released outside the lock
  }
}

}  // namespace troupe::remote_internal
