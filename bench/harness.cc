#include "bench/harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <string_view>

#include "fmt/format.h"

namespace troupe::bench {
namespace {

std::vector<Workload>& Registry() {
  static auto* registry = new std::vector<Workload>();
  return *registry;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  if (n == 0) return 0;
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

struct Options {
  std::string filter = ".*";
  bool json = false;
  int repetitions = 5;
  bool list = false;
};

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--filter=", 0) == 0) {
      options->filter = std::string(arg.substr(9));
    } else if (arg == "--json") {
      options->json = true;
    } else if (arg == "--list") {
      options->list = true;
    } else if (arg.rfind("--repetitions=", 0) == 0) {
      options->repetitions = std::atoi(std::string(arg.substr(14)).c_str());
      if (options->repetitions < 1) {
        std::fprintf(stderr, "bench: --repetitions must be >= 1\n");
        return false;
      }
    } else {
      std::fprintf(stderr,
                   "usage: bench [--filter=REGEX] [--json] [--repetitions=N] [--list]\n"
                   "  REGEX is matched against each workload's id and name.\n");
      return false;
    }
  }
  return true;
}

}  // namespace

bool RegisterWorkload(Workload workload) {
  Registry().push_back(std::move(workload));
  return true;
}

int RunMain(int argc, char** argv, const WorkloadRunner& runner) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) return 2;
  std::regex filter;
  try {
    filter = std::regex(options.filter);
  } catch (const std::regex_error& e) {
    std::fprintf(stderr, "bench: bad --filter regex '%s': %s\n", options.filter.c_str(), e.what());
    return 2;
  }

  std::vector<Workload*> selected;
  for (Workload& w : Registry()) {
    const RowSpec& first = w.rows.front();
    if (std::regex_search(first.id, filter) || std::regex_search(first.name, filter)) {
      selected.push_back(&w);
    }
  }
  std::sort(selected.begin(), selected.end(),
            [](Workload* a, Workload* b) { return a->rows.front().id < b->rows.front().id; });
  if (options.list) {
    for (Workload* w : selected)
      std::printf("%s\t%s\n", w->rows.front().id.c_str(), w->rows.front().name.c_str());
    return 0;
  }

  // The table goes to stderr when --json owns stdout.
  FILE* table = options.json ? stderr : stdout;
  std::fprintf(table, "%-8s %-58s %14s %-10s %s\n", "id", "workload", "median", "unit", "target");
  std::string json = "[";
  int failures = 0;
  for (Workload* w : selected) {
    std::map<std::string, std::vector<double>> samples;
    bool failed = false;
    for (int r = 0; r < options.repetitions && !failed; ++r) {
      absl::StatusOr<Rows> rows = runner ? runner(w->run) : w->run();
      if (!rows.ok()) {
        std::fprintf(stderr, "bench: %s FAILED: %s\n", w->rows.front().id.c_str(),
                     rows.status().ToString().c_str());
        failed = true;
        break;
      }
      for (const Row& row : *rows) samples[row.id].push_back(row.value);
    }
    if (failed) {
      ++failures;
      continue;
    }
    for (const RowSpec& spec : w->rows) {
      if (samples[spec.id].empty()) {  // an optional row this run did not measure
        std::fprintf(table, "%-8s %-58s %14s %-10s %s\n", spec.id.c_str(), spec.name.c_str(), "-",
                     spec.unit.c_str(), "(not measured)");
        continue;
      }
      const double median = Median(samples[spec.id]);
      std::fprintf(table, "%-8s %-58s %14.2f %-10s %s\n", spec.id.c_str(), spec.name.c_str(),
                   median, spec.unit.c_str(), spec.target.c_str());
      std::fflush(table);
      if (json.size() > 1) json += ",";
      json += fmt::format(
          "\n  {{\"id\": \"{}\", \"name\": \"{}\", \"value\": {:.3f}, \"unit\": \"{}\"}}",
          JsonEscape(spec.id), JsonEscape(spec.name), median, JsonEscape(spec.unit));
    }
  }
  json += "\n]\n";
  if (options.json) std::fputs(json.c_str(), stdout);
  return failures == 0 ? 0 : 1;
}

}  // namespace troupe::bench
