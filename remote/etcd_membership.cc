// EtcdMembership(): members and cluster-wide names as etcd keys bound to
// each node's lease.
//
// Keys: <prefix>/members/<address> = the node's incarnation (decimal), and
// <prefix>/names/<name> = a serialized ActorRefProto, both put with the
// node's lease. Two threads per provider, each with one gRPC stream to etcd
// (gRPC's synchronous API: a blocked Read is ended by TryCancel):
//   * the keeper sends a keep-alive every third of the TTL; if etcd says
//     the lease is gone (this node was cut off longer than the TTL), it
//     takes a new lease and puts its keys back — the node rejoins;
//   * the watcher watches <prefix>/members/ from the revision of the last
//     listing and reports puts as joins and deletes as departures; if its
//     stream breaks, it lists the members again, reports the difference,
//     and watches on from there.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/logging.h"
#include "remote/etcd.grpc.pb.h"
#include "remote/membership.h"
#include "threads/condvar.h"
#include "threads/mutex.h"
#include "threads/thread.h"

namespace troupe::remote {
namespace {

const LogComponent& EtcdLog() {
  static const LogComponent& component = LogComponent::Named("remote.etcd");
  return component;
}

// The end of the key range holding every key that starts with `prefix`.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  const auto code = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                        ? absl::StatusCode::kUnavailable
                        : static_cast<absl::StatusCode>(status.error_code());
  return absl::Status(code, absl::StrCat("etcd ", what, ": ", status.error_message()));
}

class EtcdProvider final : public MembershipProvider {
 public:
  explicit EtcdProvider(EtcdMembershipOptions options)
      : options_(std::move(options)),
        members_prefix_(absl::StrCat(options_.prefix, "/members/")),
        names_prefix_(absl::StrCat(options_.prefix, "/names/")) {}

  ~EtcdProvider() override { Leave(); }

  absl::Status Join(const Member& self, Listener listener) override {
    {
      MutexLock lock(mu_);
      if (joined_) return absl::FailedPreconditionError("this provider has joined already");
      joined_ = true;
      self_ = self;
      listener_ = std::move(listener);
    }
    channel_ = grpc::CreateChannel(options_.endpoint, grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel_);
    lease_ = etcdserverpb::Lease::NewStub(channel_);
    watch_ = etcdserverpb::Watch::NewStub(channel_);
    if (absl::Status granted = GrantAndPut(); !granted.ok()) return granted;
    absl::StatusOr<int64_t> revision = Resync();
    if (!revision.ok()) return revision.status();
    keeper_ = std::make_unique<Thread<void>>("etcd-keeper", [this] { KeepAlive(); });
    watcher_ = std::make_unique<Thread<void>>("etcd-watcher",
                                              [this, from = *revision + 1] { WatchMembers(from); });
    return absl::OkStatus();
  }

  void Leave() override {
    int64_t lease = 0;
    {
      MutexLock lock(mu_);
      if (!joined_ || stopping_) return;
      stopping_ = true;
      wake_.SignalAll();
      if (keeper_context_ != nullptr) keeper_context_->TryCancel();
      if (watcher_context_ != nullptr) watcher_context_->TryCancel();
      lease = lease_id_;
    }
    if (keeper_) (void)keeper_->Join();
    if (watcher_) (void)watcher_->Join();
    if (lease != 0) {
      // Revoking the lease deletes this node's keys at once: the others
      // hear of the departure now rather than after the TTL.
      etcdserverpb::LeaseRevokeRequest request;
      request.set_id(lease);
      etcdserverpb::LeaseRevokeResponse response;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
      (void)lease_->LeaseRevoke(&context, request, &response);
    }
  }

  absl::Status RegisterName(const std::string& name, const proto::ActorRefProto& ref) override {
    if (name.empty()) return absl::InvalidArgumentError("a cluster-wide name cannot be empty");
    int64_t lease;
    {
      MutexLock lock(mu_);
      if (!joined_ || stopping_) return absl::FailedPreconditionError("not a member (Join first)");
      lease = lease_id_;
    }
    const std::string key = names_prefix_ + name;
    const std::string value = ref.SerializeAsString();
    // Claimed atomically: put only if nobody holds the name; else read who does.
    etcdserverpb::TxnRequest claim;
    etcdserverpb::Compare* absent = claim.add_compare();
    absent->set_key(key);
    absent->set_target(etcdserverpb::Compare::CREATE);
    absent->set_result(etcdserverpb::Compare::EQUAL);
    absent->set_create_revision(0);
    etcdserverpb::PutRequest* put = claim.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(value);
    put->set_lease(lease);
    claim.add_failure()->mutable_request_range()->set_key(key);
    etcdserverpb::TxnResponse claimed;
    grpc::ClientContext context;
    SetDeadline(context);
    if (absl::Status done = FromGrpc(kv_->Txn(&context, claim, &claimed), "txn"); !done.ok()) {
      return done;
    }
    if (!claimed.succeeded()) {
      proto::ActorRefProto holder;
      const etcdserverpb::RangeResponse& found = claimed.responses(0).response_range();
      if (found.kvs_size() > 0) (void)holder.ParseFromString(found.kvs(0).value());
      if (holder.node() != ref.node()) {
        return absl::AlreadyExistsError(
            absl::StrCat("the name \"", name, "\" is held by node ", holder.node()));
      }
      // Ours already: point it at `ref` now.
      if (absl::Status again = Put(key, value, lease); !again.ok()) return again;
    }
    MutexLock lock(mu_);
    names_[name] = value;  // put back if the lease is renewed
    return absl::OkStatus();
  }

  absl::Status UnregisterName(const std::string& name) override {
    {
      MutexLock lock(mu_);
      if (names_.erase(name) == 0) {
        return absl::NotFoundError(absl::StrCat("this node holds no name \"", name, "\""));
      }
    }
    etcdserverpb::DeleteRangeRequest request;
    request.set_key(names_prefix_ + name);
    etcdserverpb::DeleteRangeResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    return FromGrpc(kv_->DeleteRange(&context, request, &response), "delete");
  }

  absl::StatusOr<proto::ActorRefProto> LookupName(const std::string& name) override {
    {
      MutexLock lock(mu_);
      if (!joined_) return absl::FailedPreconditionError("not a member (Join first)");
    }
    absl::StatusOr<std::optional<proto::ActorRefProto>> held = Get(names_prefix_ + name);
    if (!held.ok()) return held.status();
    if (!*held) return absl::NotFoundError(absl::StrCat("no node holds the name \"", name, "\""));
    return **held;
  }

 private:
  void SetDeadline(grpc::ClientContext& context) const {
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  }

  absl::Status Put(const std::string& key, const std::string& value, int64_t lease) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    return FromGrpc(kv_->Put(&context, request, &response), "put");
  }

  absl::StatusOr<std::optional<proto::ActorRefProto>> Get(const std::string& key) {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    etcdserverpb::RangeResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    if (absl::Status got = FromGrpc(kv_->Range(&context, request, &response), "range"); !got.ok()) {
      return got;
    }
    if (response.kvs_size() == 0) return std::optional<proto::ActorRefProto>();
    proto::ActorRefProto ref;
    if (!ref.ParseFromString(response.kvs(0).value())) {
      return absl::DataLossError(absl::StrCat("etcd key ", key, " holds no ActorRefProto"));
    }
    return std::optional<proto::ActorRefProto>(std::move(ref));
  }

  // A new lease, with this node's member key and names put under it.
  absl::Status GrantAndPut() {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(options_.lease_ttl)));
    etcdserverpb::LeaseGrantResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    if (absl::Status granted = FromGrpc(lease_->LeaseGrant(&context, request, &response), "grant");
        !granted.ok()) {
      return granted;
    }
    if (!response.error().empty()) return absl::UnavailableError("etcd grant: " + response.error());
    Member self;
    absl::flat_hash_map<std::string, std::string> names;
    {
      MutexLock lock(mu_);
      lease_id_ = response.id();
      lease_ttl_ = absl::Seconds(response.ttl());
      self = self_;
      names = names_;
    }
    absl::Status put =
        Put(members_prefix_ + self.address, absl::StrCat(self.incarnation), response.id());
    for (const auto& [name, value] : names) {
      if (!put.ok()) break;
      put = Put(names_prefix_ + name, value, response.id());
    }
    return put;
  }

  // Lists the members, reports what changed since the last listing, and
  // returns the revision it saw.
  absl::StatusOr<int64_t> Resync() {
    etcdserverpb::RangeRequest request;
    request.set_key(members_prefix_);
    request.set_range_end(PrefixEnd(members_prefix_));
    etcdserverpb::RangeResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    if (absl::Status listed = FromGrpc(kv_->Range(&context, request, &response), "range");
        !listed.ok()) {
      return listed;
    }
    std::map<std::string, uint64_t> now;
    for (const etcdserverpb::KeyValue& kv : response.kvs()) {
      std::optional<Member> member = MemberOf(kv);
      if (member) now[member->address] = member->incarnation;
    }
    for (auto it = known_.begin(); it != known_.end();) {
      if (now.count(it->first) == 0) {
        Report(MembershipEvent::Kind::kLeft, Member{it->first, it->second});
        it = known_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [address, incarnation] : now) Joined(Member{address, incarnation});
    return response.header().revision();
  }

  std::optional<Member> MemberOf(const etcdserverpb::KeyValue& kv) const {
    if (kv.key().size() <= members_prefix_.size()) return std::nullopt;
    Member member;
    member.address = kv.key().substr(members_prefix_.size());
    if (!absl::SimpleAtoi(kv.value(), &member.incarnation)) member.incarnation = 0;
    return member;
  }

  // A member seen: reported if new, or as a departure and a join if it
  // came back as another incarnation. This node itself is not reported.
  void Joined(const Member& member) {
    {
      MutexLock lock(mu_);
      if (member.address == self_.address) return;
    }
    auto it = known_.find(member.address);
    if (it != known_.end()) {
      if (it->second == member.incarnation) return;
      Report(MembershipEvent::Kind::kLeft, Member{it->first, it->second});
    }
    known_[member.address] = member.incarnation;
    Report(MembershipEvent::Kind::kJoined, member);
  }

  void Report(MembershipEvent::Kind kind, const Member& member) {
    Listener listener;
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      listener = listener_;
    }
    listener(MembershipEvent{kind, member});
  }

  // Waits up to `timeout` unless stopping; true if stopping.
  bool Pause(absl::Duration timeout) {
    MutexLock lock(mu_);
    if (!stopping_) (void)wake_.WaitFor(mu_, timeout);
    return stopping_;
  }

  // The keeper's loop.
  void KeepAlive() {
    absl::Duration backoff = absl::Milliseconds(100);
    while (true) {
      grpc::ClientContext context;
      int64_t lease;
      absl::Duration interval;
      {
        MutexLock lock(mu_);
        if (stopping_) return;
        keeper_context_ = &context;
        lease = lease_id_;
        interval = std::max(absl::Milliseconds(200), lease_ttl_ / 3);
      }
      auto stream = lease_->LeaseKeepAlive(&context);
      bool expired = false;
      while (true) {
        etcdserverpb::LeaseKeepAliveRequest request;
        request.set_id(lease);
        etcdserverpb::LeaseKeepAliveResponse response;
        if (!stream->Write(request) || !stream->Read(&response)) break;
        backoff = absl::Milliseconds(100);
        if (response.ttl() <= 0) {
          expired = true;
          break;
        }
        if (Pause(interval)) break;
      }
      stream->WritesDone();
      context.TryCancel();
      (void)stream->Finish();
      {
        MutexLock lock(mu_);
        keeper_context_ = nullptr;
        if (stopping_) return;
      }
      if (expired) {
        LogWarning(EtcdLog(), "lease {} expired (cut off from etcd too long): joining again",
                   lease);
        if (absl::Status rejoined = GrantAndPut(); !rejoined.ok()) {
          LogWarning(EtcdLog(), "rejoining failed: {}", rejoined.ToString());
        }
        continue;
      }
      if (Pause(backoff)) return;
      backoff = std::min(backoff * 2, absl::Seconds(2));
    }
  }

  // The watcher's loop, from revision `from`.
  void WatchMembers(int64_t from) {
    absl::Duration backoff = absl::Milliseconds(100);
    while (true) {
      grpc::ClientContext context;
      {
        MutexLock lock(mu_);
        if (stopping_) return;
        watcher_context_ = &context;
      }
      auto stream = watch_->Watch(&context);
      etcdserverpb::WatchRequest create;
      etcdserverpb::WatchCreateRequest* request = create.mutable_create_request();
      request->set_key(members_prefix_);
      request->set_range_end(PrefixEnd(members_prefix_));
      request->set_start_revision(from);
      etcdserverpb::WatchResponse response;
      if (stream->Write(create)) {
        while (stream->Read(&response)) {
          backoff = absl::Milliseconds(100);
          if (response.canceled()) break;  // compacted past `from`: resync below
          for (const etcdserverpb::Event& event : response.events()) {
            std::optional<Member> member = MemberOf(event.kv());
            if (!member) continue;
            if (event.type() == etcdserverpb::Event::PUT) {
              Joined(*member);
            } else if (auto it = known_.find(member->address); it != known_.end()) {
              Report(MembershipEvent::Kind::kLeft, Member{it->first, it->second});
              known_.erase(it);
            }
            from = std::max(from, event.kv().mod_revision() + 1);
          }
        }
      }
      context.TryCancel();
      (void)stream->Finish();
      {
        MutexLock lock(mu_);
        watcher_context_ = nullptr;
        if (stopping_) return;
      }
      if (Pause(backoff)) return;
      backoff = std::min(backoff * 2, absl::Seconds(2));
      absl::StatusOr<int64_t> revision = Resync();
      if (revision.ok()) from = *revision + 1;
    }
  }

  const EtcdMembershipOptions options_;
  const std::string members_prefix_;
  const std::string names_prefix_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<Thread<void>> keeper_;
  std::unique_ptr<Thread<void>> watcher_;
  // The members reported; Join's thread, then the watcher's only.
  std::map<std::string, uint64_t> known_;

  Mutex mu_;
  CondVar wake_;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Member self_ ABSL_GUARDED_BY(mu_);
  Listener listener_ ABSL_GUARDED_BY(mu_);
  int64_t lease_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration lease_ttl_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> names_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* keeper_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  grpc::ClientContext* watcher_context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace

absl::StatusOr<std::shared_ptr<MembershipProvider>> EtcdMembership(EtcdMembershipOptions options) {
  if (options.endpoint.empty()) return absl::InvalidArgumentError("etcd endpoint is empty");
  if (options.prefix.empty()) return absl::InvalidArgumentError("etcd key prefix is empty");
  if (options.lease_ttl < absl::Seconds(1)) {
    return absl::InvalidArgumentError("etcd lease TTL must be at least one second");
  }
  if (options.rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd rpc timeout must be positive");
  }
  return std::shared_ptr<MembershipProvider>(std::make_shared<EtcdProvider>(std::move(options)));
}

}  // namespace troupe::remote
