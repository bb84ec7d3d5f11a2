// The actor at the receiving end of the counting workloads (A3's kind: O1,
// O2, S3): it sums the Adds it is told and answers GetSum with the total.

#ifndef TROUPE_BENCH_SUMMER_H_
#define TROUPE_BENCH_SUMMER_H_

#include <cstdint>

#include "actor/actor.h"
#include "bench/actor_bench.pb.h"

namespace troupe::bench {

class AddSummer : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Add>([this](const Add& add) { sum_ += add.value(); })
        .On<GetSum>([this](const GetSum&) {
          Sum sum;
          sum.set_value(sum_);
          return sum;
        });
  }

 private:
  int64_t sum_ = 0;
};

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_SUMMER_H_
