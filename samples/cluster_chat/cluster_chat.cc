// samples/cluster_chat: one chat room for clients of many gateway nodes.
//
//   etcd --listen-client-urls=http://127.0.0.1:2379 ...      (a running etcd)
//   cluster_chat --etcd=127.0.0.1:2379 --role=room
//   cluster_chat --etcd=127.0.0.1:2379 --role=gateway --port=7000
//   cluster_chat --etcd=127.0.0.1:2379 --role=gateway --port=7001
//   nc 127.0.0.1 7000          nc 127.0.0.1 7001          (type lines)
//
// Every process is a remote::Node with EtcdMembership: the room node
// registers its Room actor cluster-wide as "chat-room"; a gateway looks it
// up (waiting until some node holds it), accepts TCP clients and gives each
// a Member actor that joins the room through a remote ref. The room watches
// its members: a gateway that dies takes its members out of the room (the
// Downs come with NODE_DOWN). Each process logs the nodes joining and
// leaving the cluster ("cluster: + <address>" / "cluster: - <address>").
// Prints "room ready" or "gateway listening on <address>", and runs until
// SIGINT/SIGTERM.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/system.pb.h"
#include "base/logging.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "remote/cluster.pb.h"
#include "remote/membership.h"
#include "remote/node.h"
#include "samples/cluster_chat/cluster_chat.pb.h"

namespace {

constexpr size_t kMaxLine = 1024;
constexpr char kRoomName[] = "chat-room";

// The members by name (refs from other nodes: the one each joined with is
// kept, and watched), and who hears what.
class Room : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<cluster_chat::Join>([this](const cluster_chat::Join& join) {
          members_[join.name()] = Sender();
          Watch(Sender());  // its node may die without a Leave
          Broadcast(absl::StrCat("*** ", join.name(), " joined, ", members_.size(),
                                 members_.size() == 1 ? " member" : " members"));
        })
        .On<cluster_chat::Leave>([this](const cluster_chat::Leave& leave) {
          auto it = members_.find(leave.name());
          if (it == members_.end()) return;
          Unwatch(it->second);
          members_.erase(it);
        })
        .On<cluster_chat::Say>([this](const cluster_chat::Say& say) {
          Broadcast(absl::StrCat(say.name(), ": ", say.text()));
        })
        .On<troupe::proto::Down>([this](const troupe::proto::Down& down) {
          for (auto it = members_.begin(); it != members_.end(); ++it) {
            if (it->second != Sender()) continue;
            troupe::LogInfo("{} gone ({})", it->first,
                            troupe::proto::ExitReason::Kind_Name(down.reason().kind()));
            members_.erase(it);
            return;
          }
        });
  }

 private:
  void Broadcast(std::string text) {
    cluster_chat::Line line;
    line.set_text(std::move(text));
    for (const auto& [name, member] : members_) member.Tell(line);
  }

  std::map<std::string, troupe::ActorRef> members_;
};

bool IsText(std::string_view line) {
  for (unsigned char c : line) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// One client of a gateway: its lines go to the room, the room's lines to it.
class Member : public troupe::Actor {
 public:
  Member(troupe::net::Connection connection, troupe::ActorRef room, std::string name)
      : connection_(std::move(connection)), room_(std::move(room)), name_(std::move(name)) {}

 protected:
  void OnStart() override {
    cluster_chat::Join join;
    join.set_name(name_);
    Send(room_, join);
  }
  void OnStop() override {
    cluster_chat::Leave leave;
    leave.set_name(name_);
    Send(room_, leave);
    connection_.Close();
  }

  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<troupe::net::Received>([this](const troupe::net::Received& r) {
          if (dropped_) return;
          if (absl::Status s = lines_.Push(r.data); !s.ok()) return Drop(std::string(s.message()));
          while (std::optional<std::string> text = lines_.Next()) {
            if (!IsText(*text)) return Drop("binary garbage");
            connection_.FrameReceived();
            cluster_chat::Say say;
            say.set_name(name_);
            say.set_text(*std::move(text));
            Send(room_, say);
          }
        })
        .On<cluster_chat::Line>([this](const cluster_chat::Line& line) {
          if (auto framed = troupe::net::LineFramer::Frame(line.text()); framed.ok()) {
            connection_.Write(*std::move(framed));
          }
        })
        .On<troupe::net::Closed>([this](const troupe::net::Closed&) { Stop(); });
  }

 private:
  void Drop(const std::string& why) {
    dropped_ = true;
    troupe::LogWarning("dropping {}: {}", name_, why);
    connection_.Abort(why);
  }

  troupe::net::Connection connection_;
  troupe::ActorRef room_;
  std::string name_;
  troupe::net::LineFramer lines_{kMaxLine};
  bool dropped_ = false;
};

// Logs the cluster's nodes coming and going.
class ClusterLog : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<troupe::proto::MemberUp>([](const troupe::proto::MemberUp& up) {
          std::fprintf(stderr, "cluster: + %s\n", up.address().c_str());
        })
        .On<troupe::proto::MemberDown>([](const troupe::proto::MemberDown& down) {
          std::fprintf(stderr, "cluster: - %s\n", down.address().c_str());
        });
  }
};

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void OnSignal(int) { stop_requested.store(true, std::memory_order_relaxed); }

void WaitForSignal() {
  while (!stop_requested.load(std::memory_order_relaxed)) absl::SleepFor(absl::Milliseconds(20));
}

int Usage() {
  std::fprintf(stderr,
               "usage: cluster_chat --etcd=<host:port> --role=room|gateway [--port=N] "
               "[--token=T]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string etcd;
  std::string role;
  std::string port = "0";
  std::string token = "cluster-chat";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 7) == "--etcd=") {
      etcd = arg.substr(7);
    } else if (arg.substr(0, 7) == "--role=") {
      role = arg.substr(7);
    } else if (arg.substr(0, 7) == "--port=") {
      port = arg.substr(7);
    } else if (arg.substr(0, 8) == "--token=") {
      token = arg.substr(8);
    } else {
      return Usage();
    }
  }
  if (etcd.empty() || (role != "room" && role != "gateway")) return Usage();
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  troupe::remote::EtcdMembershipOptions membership;
  membership.endpoint = etcd;
  membership.prefix = "/troupe/cluster_chat";
  membership.lease_ttl = absl::Seconds(3);
  auto provider = troupe::remote::EtcdMembership(membership);
  if (!provider.ok()) {
    std::fprintf(stderr, "cluster_chat: %s\n", provider.status().ToString().c_str());
    return 1;
  }
  troupe::ActorSystem system;
  troupe::remote::NodeOptions options;
  options.cluster_token = token;
  options.membership = *provider;
  options.failure_timeout = absl::Seconds(3);
  auto node = troupe::remote::Node::Start(system, options);
  if (!node.ok()) {
    std::fprintf(stderr, "cluster_chat: %s\n", node.status().ToString().c_str());
    return 1;
  }
  (*node)->SubscribeMembers(system.Spawn<ClusterLog>());

  if (role == "room") {
    troupe::ActorRef room = system.Spawn<Room>(troupe::SpawnOptions{.name = "room"});
    if (absl::Status registered = (*node)->RegisterGlobal(kRoomName, room); !registered.ok()) {
      std::fprintf(stderr, "cluster_chat: %s\n", registered.ToString().c_str());
      return 1;
    }
    std::printf("room ready on %s\n", (*node)->address().c_str());
    std::fflush(stdout);
    WaitForSignal();
    (*node)->Shutdown();
    return 0;
  }

  // A gateway: the room first (some node must hold the name).
  absl::StatusOr<troupe::ActorRef> room = (*node)->LookupGlobal(kRoomName);
  while (!room.ok() && !stop_requested.load(std::memory_order_relaxed)) {
    absl::SleepFor(absl::Milliseconds(200));
    room = (*node)->LookupGlobal(kRoomName);
  }
  if (!room.ok()) return 1;
  troupe::net::Reactor reactor(system);
  troupe::net::ListenOptions listen;
  listen.address = absl::StrCat("127.0.0.1:", port);
  listen.max_connections = 4096;
  listen.connection.first_frame_timeout = absl::Seconds(30);
  listen.connection.min_receive_rate = 64;
  const std::string gateway = (*node)->address();
  auto listener = troupe::net::Listen(reactor, listen, [&](troupe::net::Connection c) {
    std::string name = absl::StrCat("guest", c.id(), "@", gateway);
    return system.Spawn<Member>(std::move(c), *room, std::move(name));
  });
  if (!listener.ok()) {
    std::fprintf(stderr, "cluster_chat: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  std::printf("gateway listening on %s\n", listener->address().ToString().c_str());
  std::fflush(stdout);
  WaitForSignal();
  reactor.Shutdown();  // every member gets Closed and leaves the room
  (*node)->Shutdown();
  system.Shutdown();
  return 0;
}
