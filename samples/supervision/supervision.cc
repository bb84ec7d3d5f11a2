// samples/supervision: a pool of workers under a supervisor, healing.
//
//   bazel run //samples/supervision
//
// Four workers run under a one-for-one supervisor. Main hands out twenty
// jobs; one is poison: its worker throws, the supervisor restarts it behind
// the same ref and mailbox, and the jobs queued behind the poison are done
// by the new incarnation. Then one worker is fed poison until the restart
// limit (of the whole pool) is passed: the supervisor gives up and fails,
// stopping its workers first, and a collector that watches it is told why
// (a Down message).

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/supervisor.h"
#include "base/logging.h"
#include "samples/supervision/supervision.pb.h"
#include "threads/latch.h"

namespace {

// Measures words. Every incarnation announces itself; "poison" kills it.
class Worker : public troupe::Actor {
 public:
  Worker(std::string name, std::atomic<int>* incarnations)
      : name_(std::move(name)), incarnation_(incarnations->fetch_add(1) + 1) {}

 protected:
  void OnStart() override { absl::PrintF("  %s: incarnation %d started\n", name_, incarnation_); }
  void OnStop() override { absl::PrintF("  %s: incarnation %d stopped\n", name_, incarnation_); }

  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<supervision::Job>([this](const supervision::Job& job) {
      if (job.word() == "poison")
        throw std::runtime_error(absl::StrCat("poisoned by job ", job.id()));
      supervision::JobDone done;
      done.set_id(job.id());
      done.set_worker(name_);
      done.set_length(static_cast<int64_t>(job.word().size()));
      Reply(done);
    });
  }

 private:
  std::string name_;
  int incarnation_;
};

// Receives the results, and the Down of the pool it watches.
class Collector : public troupe::Actor {
 public:
  Collector(troupe::ActorRef pool, troupe::Latch* jobs_done, troupe::Latch* pool_down)
      : pool_(std::move(pool)), jobs_done_(jobs_done), pool_down_(pool_down) {}

 protected:
  void OnStart() override { Watch(pool_); }

  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<supervision::JobDone>([this](const supervision::JobDone& done) {
          ++done_;
          jobs_done_->CountDown();
        })
        .On<troupe::proto::Down>([this](const troupe::proto::Down& down) {
          absl::PrintF("collector: the pool is down: %s: %s\n",
                       troupe::proto::ExitReason::Kind_Name(down.reason().kind()),
                       down.reason().detail());
          pool_down_->CountDown();
        })
        .On<int>([this](int) { return done_; });
  }

 private:
  troupe::ActorRef pool_;
  troupe::Latch* jobs_done_;
  troupe::Latch* pool_down_;
  int done_ = 0;
};

supervision::Job JobOf(int64_t id, std::string word) {
  supervision::Job job;
  job.set_id(id);
  job.set_word(std::move(word));
  return job;
}

}  // namespace

int main() {
  // This program tells the story itself: silence troupe's own log lines.
  troupe::SetLogLevel(troupe::LogLevel::kOff);
  constexpr int kWorkers = 4;
  constexpr int kJobs = 20;
  constexpr int kPoisonJob = 6;  // goes to worker-3
  const absl::Duration kTimeout = absl::Seconds(10);

  troupe::ActorSystem system;
  std::atomic<int> incarnations[kWorkers] = {};
  troupe::SupervisorOptions options;
  options.strategy = troupe::SupervisionStrategy::kOneForOne;
  options.max_restarts = 3;
  options.within = absl::Seconds(10);
  options.backoff.initial = absl::Milliseconds(10);
  std::vector<troupe::ChildSpec> specs;
  for (int i = 0; i < kWorkers; ++i) {
    const std::string name = absl::StrCat("worker-", i + 1);
    specs.push_back(troupe::ChildSpec::Of<Worker>(name, name, &incarnations[i]));
  }
  std::puts("starting a pool of 4 workers under a one-for-one supervisor:");
  troupe::ActorRef pool = system.Spawn<troupe::Supervisor>(options, std::move(specs));
  auto workers =
      pool.Ask<std::vector<troupe::SupervisedChild>>(troupe::WhichChildren(), kTimeout).Get();
  if (!workers.ok() || workers->size() != kWorkers) {
    std::fprintf(stderr, "the pool did not start\n");
    return 1;
  }

  troupe::Latch jobs_done(kJobs - 1);
  troupe::Latch pool_down(1);
  troupe::ActorRef collector = system.Spawn<Collector>(pool, &jobs_done, &pool_down);

  absl::PrintF("handing out %d jobs, job %d is poison:\n", kJobs, kPoisonJob);
  for (int id = 0; id < kJobs; ++id) {
    const troupe::ActorRef& worker = (*workers)[id % kWorkers].ref;
    worker.Tell(JobOf(id, id == kPoisonJob ? "poison" : "supervised"), collector);
  }
  if (!jobs_done.WaitFor(kTimeout)) {
    std::fprintf(stderr, "the jobs were not all done\n");
    return 1;
  }
  absl::PrintF("jobs done: %d of %d; dead letters: %d (the poison job)\n",
               *collector.Ask<int>(0, kTimeout).Get(), kJobs,
               system.dead_letters().count(troupe::DeadLetterReason::kHandlerFailed));
  absl::PrintF("worker-3 has the same ref after its restart: %s\n",
               (*workers)[2].ref.IsAlive() ? "yes" : "no");

  // The limit counts the restarts of every child: worker-3 used one.
  std::puts("feeding worker-1 poison until the supervisor gives up (3 restarts in 10s):");
  for (int id = 100; id < 103; ++id) (*workers)[0].ref.Tell(JobOf(id, "poison"), collector);
  if (!pool_down.WaitFor(kTimeout)) {
    std::fprintf(stderr, "the pool did not give up\n");
    return 1;
  }
  absl::PrintF("workers alive after the pool failed: %d\n", [&] {
    int alive = 0;
    for (const troupe::SupervisedChild& w : *workers) alive += w.ref.IsAlive();
    return alive;
  }());
  system.Shutdown();
  std::puts("done");
  return 0;
}
