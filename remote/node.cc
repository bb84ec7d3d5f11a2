#include "remote/node.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "remote/etcd.grpc.pb.h"
#include "remote/internal/cluster_view.h"
#include "remote/internal/inbound.h"
#include "remote/internal/node_core.h"
#include "remote/internal/peer.h"
#include "remote/internal/remote_ref.h"
#include "threads/condvar.h"
#include "threads/mutex.h"
#include "threads/thread.h"

namespace troupe::remote {

using remote_internal::NodeCore;

class Node::Impl {
 public:
  explicit Impl(std::shared_ptr<NodeCore> core)
      : core(std::move(core)), service(this->core), cluster(this->core) {}

  std::shared_ptr<NodeCore> core;
  remote_internal::TransportService service;
  remote_internal::ClusterView cluster;
  std::shared_ptr<MembershipProvider> membership;  // may be null
  std::unique_ptr<grpc::Server> server;
  Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;

  // The ticker: heartbeats and failure detection, every heartbeat interval.
  void StartTicker() {
    ticker = std::make_unique<Thread<void>>("remote-ticker", [this] {
      const absl::Duration interval = core->options().heartbeat_interval;
      while (true) {
        {
          MutexLock lock(ticker_mu);
          if (!ticker_stop) (void)ticker_cv.WaitFor(ticker_mu, interval);
          if (ticker_stop) return;
        }
        const absl::Time now = absl::Now();
        core->Tick(now);
        service.Tick(now);
      }
    });
  }
  void StopTicker() {
    {
      MutexLock lock(ticker_mu);
      ticker_stop = true;
      ticker_cv.SignalAll();
    }
    if (ticker) (void)ticker->Join();
  }
  Mutex ticker_mu;
  CondVar ticker_cv;
  bool ticker_stop ABSL_GUARDED_BY(ticker_mu) = false;
  std::unique_ptr<Thread<void>> ticker;
};

namespace {

// "host:port" with a port in range.
bool IsHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  int port;
  return absl::SimpleAtoi(std::string(address.substr(colon + 1)), &port) && port > 0 &&
         port < 65536;
}

// Called once per process, before the first node starts.
//
// gRPC shuts its library down when its last channel or server goes; if
// that is a channel released by a stream's last callback, the shutdown runs
// on gRPC's own callback thread and aborts (seen: "prior > 0" in
// grpc_cq_internal_unref). The same holds one level down: the callback API
// runs on a shared completion queue whose threads start with its first
// channel and are joined when its last channel lets go of it — on one of
// those very threads, if a callback drops the last channel, which then
// joins itself and the queue is freed under it (grpc/grpc#32584, fixed
// after Debian's 1.51). So one reference to the library, and one channel
// that has made a callback call, are kept for the life of the process.
bool KeepGrpcUp() {
  grpc_init();
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  // Kept, and reachable from here (for LeakSanitizer): it holds the queue.
  static etcdserverpb::KV::Stub* const stub = etcdserverpb::KV::NewStub(channel).release();
  auto* context = new grpc::ClientContext;
  context->set_deadline(std::chrono::system_clock::now());  // fails at once, unsent
  auto* request = new etcdserverpb::RangeRequest;
  auto* response = new etcdserverpb::RangeResponse;
  stub->async()->Range(context, request, response, [context, request, response](grpc::Status) {
    delete context;
    delete request;
    delete response;
  });
  return true;
}

bool LooksLikePem(const std::string& text) { return text.find("-----BEGIN ") != std::string::npos; }

absl::Status ValidateTls(const TlsOptions& tls) {
  if (!LooksLikePem(tls.root_certificates)) {
    return absl::InvalidArgumentError("TlsOptions::root_certificates is not PEM");
  }
  if (!LooksLikePem(tls.certificate_chain)) {
    return absl::InvalidArgumentError("TlsOptions::certificate_chain is not PEM");
  }
  if (!LooksLikePem(tls.private_key)) {
    return absl::InvalidArgumentError("TlsOptions::private_key is not PEM");
  }
  return absl::OkStatus();
}

absl::Status Validate(const NodeOptions& options) {
  if (options.cluster_token.empty()) {
    return absl::InvalidArgumentError("NodeOptions::cluster_token is required");
  }
  if (options.tls) {
    if (absl::Status tls = ValidateTls(*options.tls); !tls.ok()) return tls;
  }
  if (options.max_message_bytes < (size_t{64} << 10) ||
      options.max_message_bytes > (size_t{1} << 30)) {
    return absl::InvalidArgumentError("NodeOptions::max_message_bytes must be in [64 KiB, 1 GiB]");
  }
  if (options.max_queued_per_peer == 0 || options.max_queued_bytes_per_peer == 0 ||
      options.max_inbound_streams <= 0 || options.max_peers == 0) {
    return absl::InvalidArgumentError("NodeOptions limits must be positive");
  }
  if (options.heartbeat_interval <= absl::ZeroDuration() ||
      options.failure_timeout <= options.heartbeat_interval) {
    return absl::InvalidArgumentError(
        "NodeOptions: heartbeat_interval must be positive and less than failure_timeout");
  }
  if (options.reconnect_backoff < absl::ZeroDuration() ||
      options.max_reconnect_backoff < options.reconnect_backoff) {
    return absl::InvalidArgumentError("NodeOptions: bad reconnect back-off");
  }
  if (!options.advertised_address.empty() && !IsHostPort(options.advertised_address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NodeOptions::advertised_address is not host:port: ", options.advertised_address));
  }
  return absl::OkStatus();
}

// Serving: with TLS, a caller must present a certificate that the cluster's
// authority signed, or the handshake fails.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const NodeOptions& options) {
  if (!options.tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = options.tls->root_certificates;
  ssl.pem_key_cert_pairs.push_back({options.tls->private_key, options.tls->certificate_chain});
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << file.rdbuf();
  if (!LooksLikePem(text.str())) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not PEM"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<TlsOptions> TlsOptions::FromFiles(const std::string& root_certificates_path,
                                                 const std::string& certificate_chain_path,
                                                 const std::string& private_key_path) {
  TlsOptions tls;
  absl::StatusOr<std::string> root = ReadPemFile(root_certificates_path);
  if (!root.ok()) return root.status();
  absl::StatusOr<std::string> chain = ReadPemFile(certificate_chain_path);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = ReadPemFile(private_key_path);
  if (!key.ok()) return key.status();
  tls.root_certificates = *std::move(root);
  tls.certificate_chain = *std::move(chain);
  tls.private_key = *std::move(key);
  return tls;
}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(ActorSystem& system, NodeOptions options) {
  if (absl::Status valid = Validate(options); !valid.ok()) return valid;
  static const bool kept_up = KeepGrpcUp();
  (void)kept_up;
  const size_t colon = options.listen_address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("NodeOptions::listen_address is not host:port: ", options.listen_address));
  }
  auto impl = std::make_unique<Impl>(std::make_shared<NodeCore>(system, options));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, ServerCredentials(options), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  builder.RegisterService(&impl->service);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     options.tls ? " (in use, not local, or TLS credentials gRPC cannot load?)"
                                 : " (in use, or not local?)"));
  }
  impl->core->set_address(options.advertised_address.empty()
                              ? absl::StrCat(options.listen_address.substr(0, colon), ":", port)
                              : options.advertised_address);
  impl->StartTicker();
  auto node = std::unique_ptr<Node>(new Node(std::move(impl)));
  if (options.membership) {
    Impl* raw = node->impl_.get();
    absl::Status joined = options.membership->Join(
        Member{node->address(), node->incarnation()},
        [raw](const MembershipEvent& event) { raw->cluster.OnEvent(event); });
    if (!joined.ok()) return joined;  // the node shuts down as it goes
    raw->membership = std::move(options.membership);
  }
  return node;
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { Shutdown(); }

const std::string& Node::address() const { return impl_->core->address(); }
uint64_t Node::incarnation() const { return impl_->core->incarnation(); }

absl::StatusOr<ActorRef> Node::Lookup(std::string_view name_at_node) {
  const size_t at = name_at_node.find('@');
  if (at == std::string_view::npos || at == 0 || !IsHostPort(name_at_node.substr(at + 1))) {
    return absl::InvalidArgumentError(
        absl::StrCat("not name@host:port: ", std::string(name_at_node)));
  }
  proto::ActorRefProto ref;
  ref.set_name(std::string(name_at_node.substr(0, at)));
  ref.set_node(std::string(name_at_node.substr(at + 1)));
  return FromProto(ref);
}

absl::StatusOr<proto::ActorRefProto> Node::ToProto(const ActorRef& ref) {
  if (!ref) return absl::InvalidArgumentError("ToProto of an empty ActorRef");
  return impl_->core->Describe(ref.target());
}

absl::StatusOr<ActorRef> Node::FromProto(const proto::ActorRefProto& ref) {
  if (ref.node().empty() || (ref.id() == 0 && ref.name().empty())) {
    return absl::InvalidArgumentError("an ActorRefProto names a node and an id or a name");
  }
  actor_internal::AddressablePtr target = impl_->core->Resolve(ref);
  if (!target && ref.node() != address()) {
    return absl::UnavailableError(absl::StrCat("node ", ref.node(), " cannot be reached now"));
  }
  return ActorRef(std::move(target));
}

std::vector<Member> Node::Members() const { return impl_->cluster.Members(); }

void Node::SubscribeMembers(const ActorRef& subscriber) { impl_->cluster.Subscribe(subscriber); }

namespace {

absl::Status NoMembership() {
  return absl::FailedPreconditionError(
      "cluster-wide names need a membership provider (NodeOptions::membership)");
}

}  // namespace

absl::Status Node::RegisterGlobal(const std::string& name, const ActorRef& ref) {
  if (!impl_->membership) return NoMembership();
  if (ref && ref.target()->AsCell() == nullptr) {
    return absl::InvalidArgumentError("RegisterGlobal takes an actor of this node");
  }
  absl::StatusOr<proto::ActorRefProto> proto = ToProto(ref);
  if (!proto.ok()) return proto.status();
  return impl_->membership->RegisterName(name, *proto);
}

absl::Status Node::UnregisterGlobal(const std::string& name) {
  if (!impl_->membership) return NoMembership();
  return impl_->membership->UnregisterName(name);
}

absl::StatusOr<ActorRef> Node::LookupGlobal(const std::string& name) {
  if (!impl_->membership) return NoMembership();
  absl::StatusOr<proto::ActorRefProto> proto = impl_->membership->LookupName(name);
  if (!proto.ok()) return proto.status();
  return FromProto(*proto);
}

NodeStats Node::Stats() const {
  remote_internal::NodeCounters& c = impl_->core->counters();
  NodeStats stats;
  stats.messages_sent = c.messages_sent.load(std::memory_order_relaxed);
  stats.messages_received = c.messages_received.load(std::memory_order_relaxed);
  stats.bytes_sent = c.bytes_sent.load(std::memory_order_relaxed);
  stats.batches_sent = c.batches_sent.load(std::memory_order_relaxed);
  stats.streams_refused = c.streams_refused.load(std::memory_order_relaxed);
  stats.unknown_types = c.unknown_types.load(std::memory_order_relaxed);
  stats.unreachable = c.unreachable.load(std::memory_order_relaxed);
  stats.queue_full = c.queue_full.load(std::memory_order_relaxed);
  stats.peers_declared_down = c.peers_declared_down.load(std::memory_order_relaxed);
  stats.silent_streams_closed = c.silent_streams_closed.load(std::memory_order_relaxed);
  stats.exported_refs = static_cast<int64_t>(impl_->core->exports().size());
  return stats;
}

void Node::Shutdown() {
  MutexLock lock(impl_->shutdown_mu);
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  // Leave first: the other nodes hear of it now, and our names go.
  if (impl_->membership) impl_->membership->Leave();
  impl_->StopTicker();
  // Nothing cuts inbound streams (NodeCore::AssociationLost) while the
  // server shuts them down itself.
  impl_->core->set_inbound(nullptr);
  // Inbound first, so that nothing arrives for actors while the rest goes:
  // Shutdown cancels the open streams (their reactions Finish) and returns
  // once they are done.
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now()));
  impl_->server->Wait();
  impl_->core->Close();
}

}  // namespace troupe::remote
