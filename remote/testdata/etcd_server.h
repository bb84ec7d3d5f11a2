// -----------------------------------------------------------------------------
// File: testdata/etcd_server.h
// -----------------------------------------------------------------------------
//
// `EtcdServer`: a real etcd (Debian's etcd-server), started by a test on
// loopback ports in a temporary directory, and stopped (and its directory
// removed) when destroyed.
//
//   std::unique_ptr<EtcdServer> etcd = EtcdServer::Start();
//   ASSERT_NE(etcd, nullptr) << EtcdServer::last_error();
//   options.endpoint = etcd->endpoint();   // "127.0.0.1:port"

#ifndef TROUPE_REMOTE_TESTDATA_ETCD_SERVER_H_
#define TROUPE_REMOTE_TESTDATA_ETCD_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

namespace troupe::remote::testdata {

class EtcdServer {
 public:
  // Starts etcd and waits (up to 30 s) until it answers; null on failure,
  // with the reason in last_error().
  static std::unique_ptr<EtcdServer> Start();
  static const std::string& last_error();

  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Its client endpoint, "127.0.0.1:port" (gRPC).
  const std::string& endpoint() const { return endpoint_; }

 private:
  EtcdServer(pid_t pid, std::string dir, std::string endpoint)
      : pid_(pid), dir_(std::move(dir)), endpoint_(std::move(endpoint)) {}

  pid_t pid_;
  std::string dir_;
  std::string endpoint_;
};

}  // namespace troupe::remote::testdata

#endif  // TROUPE_REMOTE_TESTDATA_ETCD_SERVER_H_
