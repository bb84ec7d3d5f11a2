#include "samples/pipeline/pipelines.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/send.h"
#include "async/go.h"
#include "async/stream.h"
#include "async/task.h"
#include "channel/channel.h"
#include "samples/pipeline/pipeline.pb.h"
#include "threads/future.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace pipeline {
namespace {

std::string LineOf(int64_t i) { return absl::StrCat("k", i % kKeys, ",", i * 7 % 1000); }

bool Parse(const std::string& line, std::string* key, int64_t* value) {
  const size_t comma = line.find(',');
  if (comma == std::string::npos) return false;
  *key = line.substr(0, comma);
  return absl::SimpleAtoi(line.substr(comma + 1), value);
}

bool Keep(int64_t value) { return value % 3 != 0; }

// -- actors -------------------------------------------------------------------------------

// Every stage's mailbox holds at most kCapacity messages, and every sender
// waits for room instead of growing it: the producer thread in TellWithin,
// the stages' handler tasks in co_await Send (actor/send.h). A handler
// task is not reentrant, so each stage still handles its mail in order,
// and the end-of-input marker comes after the last record.
troupe::SpawnOptions BoundedStage() {
  troupe::SpawnOptions options;
  options.mailbox_capacity = kCapacity;
  return options;
}

// Sums per key; at the end of input, keeps its promise of the totals.
class Sink : public troupe::Actor {
 public:
  explicit Sink(troupe::Promise<pipeline::Totals>* totals) : totals_(totals) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<pipeline::Record>([this](const pipeline::Record& record) {
          sums_[record.key()] += record.value();
          ++records_;
        })
        .On<pipeline::EndOfInput>([this](const pipeline::EndOfInput&) {
          pipeline::Totals totals;
          for (const auto& [key, sum] : sums_) (*totals.mutable_sums())[key] = sum;
          totals.set_records(records_);
          totals_->SetValue(std::move(totals));
        });
  }

 private:
  troupe::Promise<pipeline::Totals>* totals_;
  std::map<std::string, int64_t> sums_;
  int64_t records_ = 0;
};

// Passes on the records it keeps, then the end-of-input marker.
class Filter : public troupe::Actor {
 public:
  explicit Filter(troupe::ActorRef next) : next_(std::move(next)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<pipeline::Record>([this](pipeline::Record& record) -> troupe::Task<absl::Status> {
          if (!Keep(record.value())) co_return absl::OkStatus();
          co_return co_await next_.Send(record);
        })
        .On<pipeline::EndOfInput>([this](pipeline::EndOfInput& end) -> troupe::Task<absl::Status> {
          co_return co_await next_.Send(end);
        });
  }

 private:
  troupe::ActorRef next_;
};

class Parser : public troupe::Actor {
 public:
  explicit Parser(troupe::ActorRef next) : next_(std::move(next)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<pipeline::RawLine>([this](const pipeline::RawLine& line) -> troupe::Task<absl::Status> {
          pipeline::Record record;
          std::string key;
          int64_t value;
          if (!Parse(line.text(), &key, &value)) co_return absl::OkStatus();
          record.set_key(std::move(key));
          record.set_value(value);
          co_return co_await next_.Send(record);
        })
        .On<pipeline::EndOfInput>([this](pipeline::EndOfInput& end) -> troupe::Task<absl::Status> {
          co_return co_await next_.Send(end);
        });
  }

 private:
  troupe::ActorRef next_;
};

// -- streams ------------------------------------------------------------------------

troupe::Stream<std::string> Lines() {
  for (int64_t i = 0; i < kRecords; ++i) co_yield LineOf(i);
}

// A line parsed, or not (then dropped by the next stage).
struct Parsed {
  std::string key;
  int64_t value = 0;
  bool parsed = false;
};

Parsed ParseRecord(std::string line) {
  Parsed record;
  record.parsed = Parse(line, &record.key, &record.value);
  return record;
}

}  // namespace

Sums Expected() {
  Sums sums;
  for (int64_t i = 0; i < kRecords; ++i) {
    std::string key;
    int64_t value;
    Parse(LineOf(i), &key, &value);
    if (Keep(value)) sums[key] += value;
  }
  return sums;
}

// -- threads and channels ---------------------------------------------------------

Sums WithChannels() {
  auto [lines_tx, lines_rx] = troupe::Channel<std::string>::Bounded(kCapacity);
  auto [parsed_tx, parsed_rx] =
      troupe::Channel<std::pair<std::string, int64_t>>::Bounded(kCapacity);
  auto [kept_tx, kept_rx] = troupe::Channel<std::pair<std::string, int64_t>>::Bounded(kCapacity);
  troupe::Thread<void> producer("produce", [tx = std::move(lines_tx)]() mutable {
    for (int64_t i = 0; i < kRecords; ++i) {
      if (!tx.Send(LineOf(i)).ok()) return;
    }
  });  // each stage's Sender goes with its thread: the channel closes
  troupe::Thread<void> parser(
      "parse", [rx = std::move(lines_rx), tx = std::move(parsed_tx)]() mutable {
        for (std::string& line : rx) {
          std::pair<std::string, int64_t> record;
          if (Parse(line, &record.first, &record.second) && !tx.Send(std::move(record)).ok())
            return;
        }
      });
  troupe::Thread<void> filter("filter",
                              [rx = std::move(parsed_rx), tx = std::move(kept_tx)]() mutable {
                                for (auto& record : rx) {
                                  if (Keep(record.second) && !tx.Send(std::move(record)).ok())
                                    return;
                                }
                              });
  Sums sums;
  for (auto& [key, value] : kept_rx) sums[key] += value;
  (void)producer.Join();
  (void)parser.Join();
  (void)filter.Join();
  return sums;
}

Sums WithActors(int64_t* records, uint32_t* deepest) {
  troupe::Promise<pipeline::Totals> promise;
  troupe::Future<pipeline::Totals> done = promise.GetFuture();
  troupe::ActorSystem system;
  troupe::ActorRef sink = system.Spawn<Sink>(BoundedStage(), &promise);
  troupe::ActorRef filter = system.Spawn<Filter>(BoundedStage(), sink);
  troupe::ActorRef parser = system.Spawn<Parser>(BoundedStage(), filter);
  for (int64_t i = 0; i < kRecords; ++i) {
    pipeline::RawLine line;
    line.set_text(LineOf(i));
    if (!parser.TellWithin(line, absl::Seconds(60)).ok()) return {};
  }
  pipeline::EndOfInput end;
  if (!parser.TellWithin(end, absl::Seconds(60)).ok()) return {};
  absl::StatusOr<pipeline::Totals> totals = done.GetFor(absl::Seconds(60));
  *deepest = 0;
  for (const troupe::ActorStats& actor : system.Stats().actors) {
    *deepest = std::max(*deepest, actor.mailbox_high_water);
  }
  Sums sums;
  if (totals.ok()) {
    for (const auto& [key, sum] : totals->sums()) sums[key] = sum;
    *records = totals->records();
  }
  return sums;
}

Sums WithStreams(int workers) {
  troupe::ThreadPool pool(workers);
  troupe::JoinHandle<Sums> sums = troupe::Go(pool, [] {
    return Lines()
        .Buffer(kCapacity)
        .Map(ParseRecord)
        .Filter([](const Parsed& record) { return record.parsed; })
        .Buffer(kCapacity)
        .Filter([](const Parsed& record) { return Keep(record.value); })
        .Buffer(kCapacity)
        .Fold(Sums{}, [](Sums sums, Parsed record) {
          sums[record.key] += record.value;
          return sums;
        });
  });
  absl::StatusOr<Sums> result = sums.Get();
  return result.ok() ? *std::move(result) : Sums{};
}

}  // namespace pipeline
