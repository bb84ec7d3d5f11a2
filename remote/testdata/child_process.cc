#include "remote/testdata/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"

namespace troupe::remote::testdata {

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                  const std::string& stderr_path) {
  if (argv.empty()) return nullptr;
  int to_child[2];
  int from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) return nullptr;
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return nullptr;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) dup2(err, STDERR_FILENO);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, to_child[1], from_child[0]));
}

ChildProcess::~ChildProcess() {
  if (stdin_ >= 0) close(stdin_);
  close(stdout_);
  if (reaped_) return;
  // A graceful end first; a kill if it does not come.
  for (int i = 0; i < 1000 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::optional<std::string> ChildProcess::ReadLine(absl::Duration timeout) {
  std::string line;
  const absl::Time deadline = absl::Now() + timeout;
  char c;
  while (absl::Now() < deadline) {
    pollfd pfd{stdout_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    if (read(stdout_, &c, 1) != 1) return std::nullopt;
    if (c == '\n') return line;
    line.push_back(c);
  }
  return std::nullopt;
}

std::string ChildProcess::Describe() {
  if (reaped_) return "reaped";
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return "running";
  reaped_ = true;
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended, wait status " + std::to_string(status);
}

void ChildProcess::Freeze() {
  kill(pid_, SIGSTOP);
  int status = 0;
  while (waitpid(pid_, &status, WUNTRACED) == pid_ && !WIFSTOPPED(status)) {
  }
}

void ChildProcess::Thaw() { kill(pid_, SIGCONT); }

void ChildProcess::Kill() {
  if (reaped_) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  reaped_ = true;
}

int ChildProcess::Wait(absl::Duration timeout) {
  if (reaped_) return -1;
  int status = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      Kill();
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  reaped_ = true;
  return status;
}

int ChildProcess::Terminate() {
  if (reaped_) return -1;
  kill(pid_, SIGTERM);
  return Wait(absl::Seconds(30));
}

}  // namespace troupe::remote::testdata
