// StaticMembership(): the cluster is a fixed list of addresses.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "remote/membership.h"

namespace troupe::remote {
namespace {

class StaticProvider final : public MembershipProvider {
 public:
  explicit StaticProvider(std::vector<std::string> seeds) : seeds_(std::move(seeds)) {}

  absl::Status Join(const Member& self, Listener listener) override {
    for (const std::string& seed : seeds_) {
      if (seed != self.address)
        listener(MembershipEvent{MembershipEvent::Kind::kJoined, {seed, 0}});
    }
    return absl::OkStatus();
  }

  void Leave() override {}

  absl::Status RegisterName(const std::string&, const proto::ActorRefProto&) override {
    return NoNames();
  }
  absl::Status UnregisterName(const std::string&) override { return NoNames(); }
  absl::StatusOr<proto::ActorRefProto> LookupName(const std::string&) override { return NoNames(); }

 private:
  static absl::Status NoNames() {
    return absl::UnimplementedError(
        "static membership keeps no cluster-wide names: use Node::Lookup(\"name@host:port\"), "
        "or EtcdMembership");
  }

  const std::vector<std::string> seeds_;
};

}  // namespace

std::shared_ptr<MembershipProvider> StaticMembership(std::vector<std::string> seeds) {
  return std::make_shared<StaticProvider>(std::move(seeds));
}

}  // namespace troupe::remote
