#include "bench/process.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace troupe::bench {

int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  return static_cast<bool>(clear);
}

int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      int64_t kb = 0;
      status >> kb;
      return kb * 1024;
    }
    status.ignore(1 << 20, '\n');
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss * 1024;
}

absl::StatusOr<Rows> InChildProcess(const std::function<absl::StatusOr<Rows>()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return body();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return body();
  }
  if (pid == 0) {
    close(fds[0]);
    absl::StatusOr<Rows> rows = body();
    std::string out;
    if (rows.ok()) {
      for (const Row& row : *rows) out += absl::StrCat(row.id, " ", row.value, "\n");
    } else {
      out = absl::StrCat("error ", rows.status().ToString(), "\n");
    }
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0)
    text.append(buffer, static_cast<size_t>(n));
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (text.rfind("error ", 0) == 0) return absl::InternalError(text.substr(6));
  Rows rows;
  std::istringstream lines(text);
  Row row;
  while (lines >> row.id >> row.value) rows.push_back(row);
  if (rows.empty()) return absl::InternalError("the child process reported nothing");
  return rows;
}

}  // namespace troupe::bench
