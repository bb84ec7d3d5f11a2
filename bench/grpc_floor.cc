// grpc_floor: the floor under remote/'s R1 and R2 — Debian's gRPC alone,
// no actors.
//
//   bazel run -c opt //bench:grpc_floor -- [items] [batch]
//   bazel run -c opt //bench:grpc_floor -- rtt|rtt-callback|rtt-async [round-trips]
//
// A server and a client in this process, on loopback: the client writes
// `items` (2*10^6 by default) 16-byte items over one bidirectional stream
// in batches of `batch` (1000), the server echoes each batch as it reads
// it, and the client reads every echo back. Prints the items per second
// each way. Run it in the same sitting as `bench --filter='^R1'` and
// compare the ratio, not the figures: the machine is noisy.
//
// With `rtt`: one 16-byte item at a time, each written only when the last
// came back (10^5 by default), as R2's asks go; prints the median and the
// 99th percentile of the round trips. `rtt` uses gRPC's synchronous API,
// where the thread that waits for the echo polls for it itself;
// `rtt-callback` the callback API (remote/'s today: completions run on
// gRPC's own threads, which wake the waiting thread); `rtt-async` the
// completion-queue API with one thread per end that polls and runs the
// completions, which wakes the waiting thread. The differences are what
// each API's hand-overs cost a round trip.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/grpc_floor.grpc.pb.h"

namespace {

using troupe::bench::floor::Echo;
using troupe::bench::floor::Items;

// Times `count` calls of `round_trip` (false: the stream broke) and prints
// their median and 99th percentile.
int TimeRoundTrips(const char* api, int64_t count, const std::function<bool()>& round_trip) {
  std::vector<int64_t> nanos;
  nanos.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const absl::Time sent = absl::Now();
    if (!round_trip()) break;
    nanos.push_back(absl::ToInt64Nanoseconds(absl::Now() - sent));
  }
  if (nanos.size() != static_cast<size_t>(count)) {
    std::fprintf(stderr, "grpc_floor: the stream broke\n");
    return 1;
  }
  std::sort(nanos.begin(), nanos.end());
  std::printf("%lld round trips of one item (%s API): p50 %.1f us, p99 %.1f us\n",
              static_cast<long long>(count), api, nanos[nanos.size() / 2] / 1e3,
              nanos[nanos.size() * 99 / 100] / 1e3);
  return 0;
}

Items OneItem() {
  Items item;
  item.add_item(std::string(16, 'x'));
  return item;
}

// A one-shot signal between a completion and the waiting thread, reset by
// each wait. Built on std::mutex, not troupe's: the floor is gRPC alone.
class Done {
 public:
  void Set(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    ok_ = ok;
    cv_.notify_one();
  }
  // Waits for Set, returns its `ok` and resets.
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return set_; });
    set_ = false;
    return ok_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
  bool ok_ = false;
};

// --- rtt: the synchronous API ------------------------------------------------

class SyncEcho final : public Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, grpc::ServerReaderWriter<Items, Items>* stream) override {
    Items items;
    while (stream->Read(&items)) {
      if (!stream->Write(items)) break;
    }
    return grpc::Status::OK;
  }
};

int SyncRoundTrips(Echo::Stub& stub, int64_t count) {
  grpc::ClientContext context;
  auto stream = stub.Echo(&context);
  const Items item = OneItem();
  Items back;
  const int failed =
      TimeRoundTrips("sync", count, [&] { return stream->Write(item) && stream->Read(&back); });
  stream->WritesDone();
  return stream->Finish().ok() ? failed : 1;
}

// --- rtt-callback: the callback API -------------------------------------------

class CallbackEcho final : public Echo::CallbackService {
  class Reactor final : public grpc::ServerBidiReactor<Items, Items> {
   public:
    Reactor() { StartRead(&items_); }
    void OnReadDone(bool ok) override {
      if (ok) {
        StartWrite(&items_);
      } else {
        Finish(grpc::Status::OK);
      }
    }
    void OnWriteDone(bool ok) override {
      if (ok) {
        StartRead(&items_);
      } else {
        Finish(grpc::Status::OK);
      }
    }
    void OnDone() override { delete this; }

   private:
    Items items_;
  };
  grpc::ServerBidiReactor<Items, Items>* Echo(grpc::CallbackServerContext*) override {
    return new Reactor;
  }
};

class CallbackClient final : public grpc::ClientBidiReactor<Items, Items> {
 public:
  void OnWriteDone(bool ok) override { written_.Set(ok); }
  void OnReadDone(bool ok) override { read_.Set(ok); }
  void OnWritesDoneDone(bool) override {}
  void OnDone(const grpc::Status& status) override { done_.Set(status.ok()); }

  // Writes one item and waits for it to be written and echoed.
  bool RoundTrip(const Items& item) {
    StartWrite(&item);
    StartRead(&back_);
    const bool written = written_.Wait();
    return read_.Wait() && written;
  }
  bool Finish() {
    StartWritesDone();
    return done_.Wait();
  }

 private:
  Items back_;
  Done written_, read_, done_;
};

int CallbackRoundTrips(Echo::Stub& stub, int64_t count) {
  grpc::ClientContext context;
  CallbackClient client;
  stub.async()->Echo(&context, &client);
  client.StartCall();
  const Items item = OneItem();
  const int failed = TimeRoundTrips("callback", count, [&] { return client.RoundTrip(item); });
  return client.Finish() ? failed : 1;
}

// --- rtt-async: the completion-queue API ----------------------------------------

// The server's completions, by their tags.
enum ServerTag : intptr_t { kNewCall = 1, kRead, kWrite, kFinish };
void* AsTag(ServerTag tag) { return reinterpret_cast<void*>(tag); }

// Serves one echo stream on `cq`'s thread until the queue shuts down: reads
// after the call arrives and after each write, writes back what it read,
// finishes once a read or write fails.
void ServeAsync(Echo::AsyncService& service, grpc::ServerCompletionQueue& cq) {
  grpc::ServerContext context;
  grpc::ServerAsyncReaderWriter<Items, Items> stream(&context);
  Items items;
  service.RequestEcho(&context, &stream, &cq, &cq, AsTag(kNewCall));
  bool finished = false;
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
    const auto completed = static_cast<ServerTag>(reinterpret_cast<intptr_t>(tag));
    if (finished || completed == kFinish) continue;
    if (!ok) {
      if (completed != kNewCall) stream.Finish(grpc::Status::OK, AsTag(kFinish));
      finished = true;
    } else if (completed == kRead) {
      stream.Write(items, AsTag(kWrite));
    } else {
      stream.Read(&items, AsTag(kRead));
    }
  }
}

// The client's completions are tagged with the Done each one sets.
int AsyncRoundTrips(Echo::Stub& stub, int64_t count) {
  grpc::ClientContext context;
  grpc::CompletionQueue cq;
  Done started, written, read, writes_done, finished;
  auto stream = stub.AsyncEcho(&context, &cq, &started);
  std::thread poller([&] {
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) static_cast<Done*>(tag)->Set(ok);
  });
  int failed = 1;
  if (started.Wait()) {
    const Items item = OneItem();
    Items back;
    failed = TimeRoundTrips("async", count, [&] {
      stream->Write(item, &written);
      stream->Read(&back, &read);
      const bool ok = written.Wait();
      return read.Wait() && ok;
    });
    stream->WritesDone(&writes_done);
  }
  grpc::Status status;
  stream->Finish(&status, &finished);
  finished.Wait();
  cq.Shutdown();
  poller.join();
  return status.ok() ? failed : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t total = 2'000'000;
  int64_t batch = 1000;
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool rtt = mode == "rtt" || mode == "rtt-callback" || mode == "rtt-async";
  if (rtt) {
    total = 100'000;
    if (argc > 2 && (!absl::SimpleAtoi(argv[2], &total) || total <= 0)) total = 0;
  } else if ((argc > 1 && (!absl::SimpleAtoi(argv[1], &total) || total <= 0)) ||
             (argc > 2 && (!absl::SimpleAtoi(argv[2], &batch) || batch <= 0))) {
    total = 0;
  }
  if (total == 0) {
    std::fprintf(stderr,
                 "usage: grpc_floor [items] [batch] | grpc_floor rtt|rtt-callback|rtt-async "
                 "[round-trips]\n");
    return 2;
  }
  SyncEcho sync_service;
  CallbackEcho callback_service;
  Echo::AsyncService async_service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::ServerCompletionQueue> server_cq;
  if (mode == "rtt-callback") {
    builder.RegisterService(&callback_service);
  } else if (mode == "rtt-async") {
    builder.RegisterService(&async_service);
    server_cq = builder.AddCompletionQueue();
  } else {
    builder.RegisterService(&sync_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "grpc_floor: cannot listen on loopback\n");
    return 1;
  }
  std::thread server_poller;
  if (server_cq != nullptr)
    server_poller = std::thread([&] { ServeAsync(async_service, *server_cq); });
  auto stub = Echo::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  if (rtt) {
    const int failed = mode == "rtt-callback" ? CallbackRoundTrips(*stub, total)
                       : mode == "rtt-async"  ? AsyncRoundTrips(*stub, total)
                                              : SyncRoundTrips(*stub, total);
    server->Shutdown();
    if (server_cq != nullptr) {
      server_cq->Shutdown();
      server_poller.join();
    }
    return failed;
  }

  grpc::ClientContext context;
  auto stream = stub->Echo(&context);
  Items items;
  for (int64_t i = 0; i < batch; ++i) items.add_item(std::string(16, 'x'));
  const int64_t batches = (total + batch - 1) / batch;
  const absl::Time start = absl::Now();
  // Writes run ahead of reads on a thread of their own, as a pipelined
  // sender would; flow control bounds how far.
  std::thread writer([&] {
    for (int64_t b = 0; b < batches; ++b) {
      if (!stream->Write(items)) return;
    }
    stream->WritesDone();
  });
  int64_t echoed = 0;
  Items back;
  while (stream->Read(&back)) echoed += back.item_size();
  writer.join();
  const grpc::Status status = stream->Finish();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("echoed %lld items in %.3f s: %.2f M items/s each way, status %d\n",
              static_cast<long long>(echoed), seconds, echoed / seconds / 1e6,
              static_cast<int>(status.error_code()));
  server->Shutdown();
  return echoed == batches * batch && status.ok() ? 0 : 1;
}
