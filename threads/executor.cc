#include "threads/executor.h"

#include <utility>

namespace troupe {
namespace {

class Inline final : public Executor {
 public:
  void Execute(Closure task) override { std::move(task)(); }
};

}  // namespace

Executor& InlineExecutor() {
  static Inline* executor = new Inline();  // never destroyed: usable during exit
  return *executor;
}

}  // namespace troupe
