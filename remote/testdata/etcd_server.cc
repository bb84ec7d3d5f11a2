#include "remote/testdata/etcd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "remote/etcd.grpc.pb.h"

namespace troupe::remote::testdata {
namespace {

std::string& LastError() {
  static std::string error;
  return error;
}

// A loopback port free now (bound to port 0 and released: another process
// could take it before etcd does, which would fail Start clearly).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// The end of etcd's log, for a failure message (the directory goes with
// the server).
std::string LogTail(const std::string& log) {
  std::string text;
  if (FILE* file = fopen(log.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
    fclose(file);
  }
  return text.size() > 1500 ? text.substr(text.size() - 1500) : text;
}

bool Answers(const std::string& endpoint) {
  auto kv =
      etcdserverpb::KV::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  etcdserverpb::RangeRequest request;
  request.set_key("probe");
  etcdserverpb::RangeResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  return kv->Range(&context, request, &response).ok();
}

}  // namespace

const std::string& EtcdServer::last_error() { return LastError(); }

std::unique_ptr<EtcdServer> EtcdServer::Start() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/etcd.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    LastError() = "mkdtemp failed";
    return nullptr;
  }
  const std::string dir = pattern;
  const int client_port = FreePort();
  const int peer_port = FreePort();
  const std::string client = absl::StrCat("http://127.0.0.1:", client_port);
  const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port);
  std::vector<std::string> args = {
      "etcd",
      "--name=test",
      absl::StrCat("--data-dir=", dir, "/data"),
      absl::StrCat("--listen-client-urls=", client),
      absl::StrCat("--advertise-client-urls=", client),
      absl::StrCat("--listen-peer-urls=", peer),
      absl::StrCat("--initial-advertise-peer-urls=", peer),
      absl::StrCat("--initial-cluster=test=", peer),
  };
  const std::string log = dir + "/etcd.log";
  const pid_t pid = fork();
  if (pid < 0) {
    LastError() = "fork failed";
    return nullptr;
  }
  if (pid == 0) {
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp("etcd", argv.data());
    _exit(127);
  }
  std::unique_ptr<EtcdServer> server(
      new EtcdServer(pid, dir, absl::StrCat("127.0.0.1:", client_port)));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = 0;
      LastError() = absl::StrCat(
          "etcd exited (status ", status,
          "; is Debian's etcd-server installed? tools/test.sh installs it): ", LogTail(log));
      return nullptr;
    }
    if (Answers(server->endpoint())) return server;
    absl::SleepFor(absl::Milliseconds(100));
  }
  LastError() = absl::StrCat("etcd did not answer within 30 s: ", LogTail(log));
  return nullptr;
}

EtcdServer::~EtcdServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace troupe::remote::testdata
