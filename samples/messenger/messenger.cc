// samples/messenger: an interactive program. Type a line: a server actor
// reverses it and a printer actor prints it. End the input (Ctrl-D) to quit.
//
//   bazel run //samples/messenger
//
// Main reads stdin and tells the server each line; the server tells the
// printer. At end of input main drains both in order (an ask each, answered
// only after the mail before it, since mail from one sender stays in order)
// and shuts down cleanly.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "samples/messenger/messenger.pb.h"

namespace {

class Printer : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<messenger::Show>([](const messenger::Show& show) {
          std::printf("[%lld] %s\n", static_cast<long long>(show.seq()), show.text().c_str());
          std::fflush(stdout);
        })
        .On<messenger::Drain>([](const messenger::Drain&) { return messenger::Drained(); });
  }
};

class Reverser : public troupe::Actor {
 public:
  explicit Reverser(troupe::ActorRef printer) : printer_(std::move(printer)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<messenger::Typed>([this](messenger::Typed& typed) {
          std::string text = std::move(*typed.mutable_text());
          std::reverse(text.begin(), text.end());
          messenger::Show show;
          show.set_seq(typed.seq());
          show.set_text(std::move(text));
          Send(printer_, std::move(show));
        })
        .On<messenger::Drain>([](const messenger::Drain&) { return messenger::Drained(); });
  }

 private:
  troupe::ActorRef printer_;
};

}  // namespace

int main() {
  troupe::ActorSystem system;
  troupe::ActorRef printer = system.Spawn<Printer>();
  troupe::ActorRef reverser = system.Spawn<Reverser>(printer);
  std::fprintf(stderr, "type lines; Ctrl-D ends\n");
  int64_t seq = 0;
  for (std::string line; std::getline(std::cin, line);) {
    messenger::Typed typed;
    typed.set_seq(++seq);
    typed.set_text(std::move(line));
    reverser.Tell(std::move(typed));
  }
  // The reverser has passed everything on once it answers; then the
  // printer has printed it all once it answers.
  for (const troupe::ActorRef& stage : {reverser, printer}) {
    if (!stage.Ask<messenger::Drained>(messenger::Drain(), absl::Seconds(30)).Get().ok()) {
      std::fprintf(stderr, "messenger: a stage did not drain\n");
      return 1;
    }
  }
  system.Shutdown();
  std::printf("bye after %lld lines\n", static_cast<long long>(seq));
  return 0;
}
