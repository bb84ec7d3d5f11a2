// -----------------------------------------------------------------------------
// File: testdata/child_process.h
// -----------------------------------------------------------------------------
//
// `ChildProcess`: a program a test runs beside itself (a node of a cluster),
// with a pipe to its standard input and one from its standard output, that
// never outlives the test (PR_SET_PDEATHSIG) and is always reaped.
//
//   auto room = ChildProcess::Start({binary, "--role=room"}, stderr_path);
//   std::optional<std::string> ready = room->ReadLine(absl::Seconds(30));
//   room->Kill();                      // SIGKILL, reaped
//   int status = room->Terminate();    // SIGTERM, and its exit status

#ifndef TROUPE_REMOTE_TESTDATA_CHILD_PROCESS_H_
#define TROUPE_REMOTE_TESTDATA_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace troupe::remote::testdata {

class ChildProcess {
 public:
  // Runs argv[0] with `argv`; its stderr goes to `stderr_path` (appended)
  // if given, else to the test's. Null if it cannot be started.
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const std::string& stderr_path = "");

  // Closes its stdin, waits up to 10 s for it to end, then kills it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of its stdout (without the newline), or nothing if it
  // closed its stdout or `timeout` passed.
  std::optional<std::string> ReadLine(absl::Duration timeout);

  // SIGSTOP, returning once every thread of it has stopped (a group stop
  // completes thread by thread: until then it may still answer); SIGCONT.
  void Freeze();
  void Thaw();
  // SIGKILL, reaped.
  void Kill();
  // Waits for it to end by itself, reaped: its wait status (-1, and it is
  // killed, if it has not ended within `timeout`).
  int Wait(absl::Duration timeout);
  // SIGTERM, then Wait(30 s).
  int Terminate();

  // How it ended, if it has ("running" if not): for failure messages.
  std::string Describe();

  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int in, int out) : pid_(pid), stdin_(in), stdout_(out) {}

  const pid_t pid_;
  int stdin_;
  int stdout_;
  bool reaped_ = false;
};

}  // namespace troupe::remote::testdata

#endif  // TROUPE_REMOTE_TESTDATA_CHILD_PROCESS_H_
