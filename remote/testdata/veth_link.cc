#include "remote/testdata/veth_link.h"

#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "remote/testdata/child_process.h"

namespace troupe::remote::testdata {
namespace {

constexpr char kIp[] = "/usr/sbin/ip";
constexpr char kNsenter[] = "/usr/bin/nsenter";

}  // namespace

absl::Status RunCommand(const std::vector<std::string>& argv) {
  if (access(argv[0].c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(argv[0], " is not installed"));
  }
  std::unique_ptr<ChildProcess> child = ChildProcess::Start(argv);
  if (child == nullptr) return absl::InternalError(absl::StrCat("cannot run ", argv[0]));
  const int status = child->Wait(absl::Seconds(30));
  if (status != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("`", absl::StrJoin(argv, " "), "` failed (", child->Describe(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<VethLink>> VethLink::Create() {
  // Names of at most 15 characters, and a /30 of 10.213/16, both from our
  // pid (mod 2^14): distinct for the tests that run at once.
  const unsigned id = static_cast<unsigned>(getpid()) & 0x3fff;
  const std::string local_name = absl::StrCat("trp", id, "a");
  const std::string remote_name = absl::StrCat("trp", id, "b");
  const std::string subnet = absl::StrCat("10.213.", id >> 6, ".");
  const unsigned base = (id & 63) * 4;
  if (access(absl::StrCat("/sys/class/net/", local_name).c_str(), F_OK) == 0) {
    (void)RunCommand({kIp, "link", "del", local_name});  // a leftover of a killed run
  }
  absl::Status made =
      RunCommand({kIp, "link", "add", local_name, "type", "veth", "peer", "name", remote_name});
  if (!made.ok()) return made;
  auto link = std::unique_ptr<VethLink>(new VethLink(
      local_name, remote_name, absl::StrCat(subnet, base + 1), absl::StrCat(subnet, base + 2)));
  absl::Status addressed =
      RunCommand({kIp, "addr", "add", link->local_address_ + "/30", "dev", local_name});
  if (!addressed.ok()) return addressed;  // the pair goes with `link`
  return link;
}

absl::Status VethLink::MoveInto(pid_t child) {
  const std::string pid = std::to_string(child);
  const std::vector<std::vector<std::string>> steps = {
      {kIp, "link", "set", remote_name_, "netns", pid},
      {kNsenter, "--target", pid, "--net", kIp, "addr", "add", remote_address_ + "/30", "dev",
       remote_name_},
      {kNsenter, "--target", pid, "--net", kIp, "link", "set", remote_name_, "up"},
      {kNsenter, "--target", pid, "--net", kIp, "link", "set", "lo", "up"},
      {kIp, "link", "set", local_name_, "up"},
  };
  for (const std::vector<std::string>& step : steps) {
    if (absl::Status done = RunCommand(step); !done.ok()) return done;
  }
  return absl::OkStatus();
}

VethLink::~VethLink() { (void)RunCommand({kIp, "link", "del", local_name_}); }

absl::Status VethLink::Down() { return RunCommand({kIp, "link", "set", local_name_, "down"}); }

absl::Status VethLink::Up() { return RunCommand({kIp, "link", "set", local_name_, "up"}); }

}  // namespace troupe::remote::testdata
