// grpc_floor: the floor under remote/'s R1 — Debian's gRPC alone, no actors.
//
//   bazel run -c opt //bench:grpc_floor -- [items] [batch]
//
// A server and a client in this process, on loopback: the client writes
// `items` (2*10^6 by default) 16-byte items over one bidirectional stream
// in batches of `batch` (1000), the server echoes each batch as it reads
// it, and the client reads every echo back. Prints the items per second
// each way. Run it in the same sitting as `bench --filter='^R1'` and
// compare the ratio, not the figures: the machine is noisy.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

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

}  // namespace

int main(int argc, char** argv) {
  int64_t total = 2'000'000;
  int64_t batch = 1000;
  if ((argc > 1 && (!absl::SimpleAtoi(argv[1], &total) || total <= 0)) ||
      (argc > 2 && (!absl::SimpleAtoi(argv[2], &batch) || batch <= 0))) {
    std::fprintf(stderr, "usage: grpc_floor [items] [batch]\n");
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
