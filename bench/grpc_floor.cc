// grpc_floor: the floor under remote/'s R1 and R2 — Debian's gRPC alone,
// no actors.
//
//   bazel run -c opt //bench:grpc_floor -- [items] [batch]
//   bazel run -c opt //bench:grpc_floor -- rtt [round-trips]
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
// 99th percentile of the round trips.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
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

class EchoService final : public Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, grpc::ServerReaderWriter<Items, Items>* stream) override {
    Items items;
    while (stream->Read(&items)) {
      if (!stream->Write(items)) break;
    }
    return grpc::Status::OK;
  }
};

// One item at a time; the round trips' median and 99th percentile.
int RoundTrips(grpc::ClientReaderWriter<Items, Items>& stream, int64_t count) {
  Items item;
  item.add_item(std::string(16, 'x'));
  Items back;
  std::vector<int64_t> nanos;
  nanos.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const absl::Time sent = absl::Now();
    if (!stream.Write(item) || !stream.Read(&back)) break;
    nanos.push_back(absl::ToInt64Nanoseconds(absl::Now() - sent));
  }
  stream.WritesDone();
  if (nanos.size() != static_cast<size_t>(count)) {
    std::fprintf(stderr, "grpc_floor: the stream broke\n");
    return 1;
  }
  std::sort(nanos.begin(), nanos.end());
  std::printf("%lld round trips of one item: p50 %.1f us, p99 %.1f us\n",
              static_cast<long long>(count), nanos[nanos.size() / 2] / 1e3,
              nanos[nanos.size() * 99 / 100] / 1e3);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t total = 2'000'000;
  int64_t batch = 1000;
  const bool rtt = argc > 1 && std::string(argv[1]) == "rtt";
  if (rtt) {
    total = 100'000;
    if (argc > 2 && (!absl::SimpleAtoi(argv[2], &total) || total <= 0)) total = 0;
  } else if ((argc > 1 && (!absl::SimpleAtoi(argv[1], &total) || total <= 0)) ||
             (argc > 2 && (!absl::SimpleAtoi(argv[2], &batch) || batch <= 0))) {
    total = 0;
  }
  if (total == 0) {
    std::fprintf(stderr, "usage: grpc_floor [items] [batch] | grpc_floor rtt [round-trips]\n");
    return 2;
  }
  EchoService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "grpc_floor: cannot listen on loopback\n");
    return 1;
  }
  auto stub = Echo::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->Echo(&context);
  if (rtt) {
    const int failed = RoundTrips(*stream, total);
    const grpc::Status status = stream->Finish();
    server->Shutdown();
    return failed != 0 || !status.ok() ? 1 : 0;
  }

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
