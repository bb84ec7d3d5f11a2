// samples/chat_server: a chat room over TCP, on troupe's net layer.
//
//   bazel run //samples/chat_server -- --port=7000      (0: any free port)
//   nc 127.0.0.1 7000                                    (type lines)
//
// One actor per connection and one room actor. A new client is greeted with
// "*** welcome <name>, <n> members". Its lines go to the room, which sends
// "<name>: <text>" to every member, the sender included.
// The wire protocol is text lines; between actors, the protobuf messages
// of chat.proto. A client that sends an over-long line or binary garbage
// is dropped with a log line; the others carry on. The server prints
// "listening on <address>" and serves until SIGINT/SIGTERM.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "base/logging.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "samples/chat_server/chat.pb.h"

namespace {

constexpr size_t kMaxLine = 1024;

// The members, and the one place that says who hears what.
class Room : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<chat::Join>([this](const chat::Join& join) {
          members_[Sender()] = join.name();
          chat::Line welcome;
          welcome.set_text(absl::StrCat("*** welcome ", join.name(), ", ", members_.size(),
                                        members_.size() == 1 ? " member" : " members"));
          Reply(welcome);
        })
        .On<chat::Leave>([this](const chat::Leave& leave) {
          members_.erase(Sender());
          if (leave.ack()) Reply(chat::Left());
        })
        .On<chat::Say>([this](const chat::Say& say) {
          chat::Line line;
          line.set_text(absl::StrCat(say.name(), ": ", say.text()));
          for (const auto& [member, name] : members_) member.Tell(line);
        });
  }

 private:
  absl::flat_hash_map<troupe::ActorRef, std::string> members_;
};

// Printable text and tabs only: anything else is not chat.
bool IsText(std::string_view line) {
  for (unsigned char c : line) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// One client: lines in go to the room; the room's lines go out.
class Member : public troupe::Actor {
 public:
  Member(troupe::net::Connection connection, troupe::ActorRef room)
      : connection_(std::move(connection)),
        room_(std::move(room)),
        name_(absl::StrCat("guest", connection_.id())) {}

 protected:
  void OnStart() override {
    chat::Join join;
    join.set_name(name_);
    Send(room_, join);
  }
  void OnStop() override {
    if (!left_) Send(room_, chat::Leave());
    connection_.Close();
  }

  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<troupe::net::Received>([this](const troupe::net::Received& r) {
          if (dropped_) return;  // input that was queued before the abort: ignore it
          if (absl::Status s = lines_.Push(r.data); !s.ok()) return Drop(std::string(s.message()));
          while (std::optional<std::string> text = lines_.Next()) {
            if (!IsText(*text)) return Drop("binary garbage");
            connection_.FrameReceived();
            chat::Say say;
            say.set_name(name_);
            say.set_text(*std::move(text));
            Send(room_, say);
          }
        })
        .On<chat::Line>([this](const chat::Line& line) {
          // Lines come from IsText() input: no "\n" or "\r" to refuse.
          if (auto framed = troupe::net::LineFramer::Frame(line.text()); framed.ok()) {
            connection_.Write(*std::move(framed));
          }
        })
        // The client sent its last line (EOF): leave the room, hear what
        // it still owes us (our own last lines among it), then close.
        .On<troupe::net::InputEnded>([this](const troupe::net::InputEnded&) {
          chat::Leave leave;
          leave.set_ack(true);
          Send(room_, leave);
          left_ = true;
        })
        .On<chat::Left>([this](const chat::Left&) { connection_.Close(); })
        .On<troupe::net::Closed>([this](const troupe::net::Closed&) { Stop(); });
  }

 private:
  // Once per client: the line says who and why.
  void Drop(const std::string& why) {
    dropped_ = true;
    troupe::LogWarning("dropping {} ({}): {}", name_, connection_.peer().ToString(), why);
    connection_.Abort(why);  // its Closed follows, and stops us
  }

  troupe::net::Connection connection_;
  troupe::ActorRef room_;
  std::string name_;
  troupe::net::LineFramer lines_{kMaxLine};
  bool dropped_ = false;
  bool left_ = false;
};

// A lock-free atomic: safe in a signal handler, and (unlike a volatile
// sig_atomic_t) also when the signal lands on another thread than main's.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void OnSignal(int) { stop_requested.store(true, std::memory_order_relaxed); }

}  // namespace

int main(int argc, char** argv) {
  std::string port = "0";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--port=", 7) == 0) {
      port = argv[i] + 7;
    } else {
      std::fprintf(stderr, "usage: chat_server [--port=N]\n");
      return 2;
    }
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  troupe::ActorSystem system;
  troupe::net::Reactor reactor(system);
  troupe::ActorRef room = system.Spawn<Room>(troupe::SpawnOptions{.name = "room"});
  troupe::net::ListenOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  // Limits for a server on the open internet (net/listener.h,
  // net/connection.h): a cap on members, a first line within 30 s, and no
  // trickling a line at under 64 bytes/s. Quiet members may stay.
  options.max_connections = 4096;
  options.connection.first_frame_timeout = absl::Seconds(30);
  options.connection.min_receive_rate = 64;
  // After a client's EOF, the member decides when to close (InputEnded):
  // the room's answers come later than the input is handled.
  options.connection.close_on_input_end = false;
  auto listener = troupe::net::Listen(reactor, options, [&](troupe::net::Connection c) {
    return system.Spawn<Member>(std::move(c), room);
  });
  if (!listener.ok()) {
    std::fprintf(stderr, "chat_server: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\n", listener->address().ToString().c_str());
  std::fflush(stdout);
  while (!stop_requested.load(std::memory_order_relaxed)) absl::SleepFor(absl::Milliseconds(20));
  std::printf("shutting down after %llu connections\n",
              static_cast<unsigned long long>(listener->accepted()));
  reactor.Shutdown();  // every member gets Closed, leaves the room
  system.Shutdown();
  return 0;
}
