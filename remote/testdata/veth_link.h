// -----------------------------------------------------------------------------
// File: testdata/veth_link.h
// -----------------------------------------------------------------------------
//
// `VethLink`: a network link between this process and a child process that
// lives in a network namespace of its own (`unshare --net`), made of a veth
// pair, that a test takes down and brings back up. A partition as the
// network makes one: no reset and no error reach either side, only silence.
//
//   absl::StatusOr<std::unique_ptr<VethLink>> link = VethLink::Create();
//   if (!link.ok()) GTEST_SKIP() << link.status();   // not root, no iproute2
//   auto node = ChildProcess::Start({"/usr/bin/unshare", "--net", "--", binary,
//                                    "--advertise=" + (*link)->remote_address() + ":4100"});
//   (wait until the child has started: it is in its own namespace by then)
//   ASSERT_OK((*link)->MoveInto(node->pid()));
//   ... this side reaches it at (*link)->remote_address(), it us at local_address() ...
//   (*link)->Down();   // partitioned
//   (*link)->Up();     // healed
//
// Needs CAP_NET_ADMIN in this process's network namespace and iproute2's
// `ip`; Create says which step failed otherwise. The pair is deleted with
// the VethLink, and by the kernel with the child's namespace if the test
// dies first.

#ifndef TROUPE_REMOTE_TESTDATA_VETH_LINK_H_
#define TROUPE_REMOTE_TESTDATA_VETH_LINK_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace troupe::remote::testdata {

class VethLink {
 public:
  // The pair, on a /30 subnet of 10.213.0.0/16 chosen by this process's
  // id (so parallel runs of a test do not meet); this end addressed and up.
  static absl::StatusOr<std::unique_ptr<VethLink>> Create();

  ~VethLink();
  VethLink(const VethLink&) = delete;
  VethLink& operator=(const VethLink&) = delete;

  // This end's address, and the child's ("10.213.x.y").
  const std::string& local_address() const { return local_address_; }
  const std::string& remote_address() const { return remote_address_; }

  // Moves the other end into the namespace of `child` (which must already
  // have its own), addresses it and brings it and the child's loopback up.
  absl::Status MoveInto(pid_t child);

  // Takes this end down (the child's link goes dark too), or brings it
  // back up. Addresses and routes come back with it.
  absl::Status Down();
  absl::Status Up();

 private:
  VethLink(std::string local_name, std::string remote_name, std::string local_address,
           std::string remote_address)
      : local_name_(std::move(local_name)),
        remote_name_(std::move(remote_name)),
        local_address_(std::move(local_address)),
        remote_address_(std::move(remote_address)) {}

  const std::string local_name_;
  const std::string remote_name_;
  const std::string local_address_;
  const std::string remote_address_;
};

// Runs a command (argv[0] a full path) to its end: OK if it exited 0.
absl::Status RunCommand(const std::vector<std::string>& argv);

}  // namespace troupe::remote::testdata

#endif  // TROUPE_REMOTE_TESTDATA_VETH_LINK_H_
