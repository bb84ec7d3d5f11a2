#include "bench/anchor.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace troupe::bench {
namespace {

// Runs `binary workload` and returns what it printed.
absl::StatusOr<std::string> RunAnchor(const char* binary, const std::string& workload) {
  int out[2];
  if (pipe(out) != 0) return absl::InternalError("anchor: pipe");
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError("anchor: fork");
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(binary, binary, workload.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string output;
  char buffer[512];
  ssize_t n;
  // An anchor prints a line or two. Past the limit (a binary that is not
  // one) the rest is read and dropped, so that the child never blocks on a
  // full pipe while we wait for it.
  while ((n = read(out[0], buffer, sizeof(buffer))) > 0) {
    if (output.size() < (1 << 16)) output.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnavailableError(
        absl::StrCat("anchor: `", binary, " ", workload, "` failed: ", output));
  }
  return output;
}

}  // namespace

absl::StatusOr<double> ParseAnchorFigure(absl::string_view output, absl::string_view figure) {
  bool checked = false;
  absl::StatusOr<double> value =
      absl::NotFoundError(absl::StrCat("anchor: no ", figure, " in: ", output));
  for (absl::string_view field :
       absl::StrSplit(output, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> key_value = absl::StrSplit(field, '=');
    if (key_value.first == "check") checked = key_value.second == "ok";
    double parsed;
    if (key_value.first == figure && absl::SimpleAtod(key_value.second, &parsed)) value = parsed;
  }
  if (!checked) return absl::DataLossError(absl::StrCat("anchor: no check=ok in: ", output));
  return value;
}

absl::StatusOr<Rows> WithAnchor(absl::StatusOr<Rows> rows, const Anchor& anchor,
                                absl::string_view id, absl::string_view workload,
                                absl::string_view figure) {
  const char* binary = std::getenv(anchor.variable);
  if (!rows.ok() || binary == nullptr || *binary == '\0') return rows;
  absl::StatusOr<std::string> output = RunAnchor(binary, std::string(workload));
  if (!output.ok()) return output.status();
  absl::StatusOr<double> theirs = ParseAnchorFigure(*output, figure);
  if (!theirs.ok()) return theirs.status();
  for (const Row& row : *rows) {
    if (row.id != id) continue;
    const double own = row.value;
    rows->push_back({absl::StrCat(id, "-", anchor.tag), *theirs});
    rows->push_back({absl::StrCat(id, "/", anchor.tag), own / *theirs});
    return rows;
  }
  return absl::InternalError(absl::StrCat("anchor: no row ", id));
}

RowSpec AnchorRow(const Anchor& anchor, absl::string_view id, absl::string_view workload,
                  absl::string_view unit) {
  return {
      absl::StrCat(id, "-", anchor.tag),
      absl::StrCat("  ", anchor.system, " ", workload, ", same repetition (", anchor.variable, ")"),
      std::string(unit), ""};
}

RowSpec AnchorRatioRow(const Anchor& anchor, absl::string_view id, absl::string_view workload,
                       absl::string_view target) {
  return {absl::StrCat(id, "/", anchor.tag),
          absl::StrCat("  ", id, " / ", anchor.system, " ", workload), "ratio",
          std::string(target)};
}

}  // namespace troupe::bench
