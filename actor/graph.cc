#include "actor/graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace troupe {
namespace {

// `text` as a DOT string, quotes included. "\n" in `text` becomes a line
// break in the label.
std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string Node(uint64_t id) { return id == 0 ? "outside" : absl::StrCat("a", id); }

// Messages from one actor to another: the count per type.
struct Flow {
  int64_t total = 0;
  absl::flat_hash_map<std::string, int64_t> by_type;
};

std::string FlowLabel(const Flow& flow) {
  std::vector<std::pair<int64_t, std::string>> types;
  for (const auto& [type, n] : flow.by_type) types.emplace_back(n, type);
  std::sort(types.begin(), types.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string label = absl::StrCat(flow.total, flow.total == 1 ? " msg" : " msgs");
  constexpr size_t kShown = 3;
  for (size_t i = 0; i < types.size() && i < kShown; ++i) {
    absl::StrAppend(&label, "\n", types[i].second, " x", types[i].first);
  }
  if (types.size() > kShown) absl::StrAppend(&label, "\n(", types.size() - kShown, " more types)");
  return label;
}

}  // namespace

std::string ActorGraphDot(const SystemStats& stats, const Trace& trace) {
  std::string out = "digraph troupe {\n";
  absl::StrAppend(&out,
                  "  graph [label=", Quoted(absl::StrCat("actor system '", stats.system, "'")),
                  ", labelloc=t, splines=true, fontname=\"Helvetica\"];\n",
                  "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", "
                  "fontname=\"Helvetica\", fontsize=10];\n",
                  "  edge [fontname=\"Helvetica\", fontsize=9];\n");

  // Nodes: the live actors, then the trace's others (stopped since).
  absl::btree_set<uint64_t> live;
  for (const ActorStats& actor : stats.actors) {
    live.insert(actor.id);
    absl::StrAppend(&out, "  ", Node(actor.id), " [label=",
                    Quoted(absl::StrCat(actor.name, "#", actor.id, "\n",
                                        ToString(actor.state), ", mailbox ",
                                        actor.mailbox_depth, ", handled ", actor.messages_handled)),
                    "];\n");
  }
  absl::btree_map<std::pair<uint64_t, uint64_t>, Flow> flows;
  for (const TraceEvent& event : trace.events) {
    if (event.kind != TraceEvent::Kind::kSend) continue;
    Flow& flow = flows[{event.from, event.actor}];
    ++flow.total;
    ++flow.by_type[event.type != nullptr ? event.type->name() : "?"];
  }
  absl::btree_set<uint64_t> others;
  for (const auto& [ends, flow] : flows) {
    for (uint64_t id : {ends.first, ends.second}) {
      if (id != 0 && !live.contains(id)) others.insert(id);
    }
  }
  for (uint64_t id : others) {
    absl::StrAppend(&out, "  ", Node(id),
                    " [label=", Quoted(absl::StrCat(trace.ActorName(id), "\n(stopped)")),
                    ", style=\"rounded,dashed\", fillcolor=white];\n");
  }
  if (std::any_of(flows.begin(), flows.end(), [](const auto& f) { return f.first.first == 0; })) {
    out += "  outside [label=\"outside\\n(not an actor)\", shape=ellipse, style=dashed];\n";
  }

  // The tree, links (once per pair) and monitors.
  for (const ActorStats& actor : stats.actors) {
    if (actor.parent != 0 && live.contains(actor.parent)) {
      absl::StrAppend(&out, "  ", Node(actor.parent), " -> ", Node(actor.id), " [color=gray50];\n");
    }
    for (uint64_t other : actor.links) {
      if (actor.id < other && live.contains(other)) {
        absl::StrAppend(&out, "  ", Node(actor.id), " -> ", Node(other),
                        " [style=dashed, dir=both, color=firebrick, label=\"link\", "
                        "constraint=false];\n");
      }
    }
    for (uint64_t watcher : actor.watchers) {
      if (!live.contains(watcher)) continue;
      absl::StrAppend(&out, "  ", Node(watcher), " -> ", Node(actor.id),
                      " [style=dotted, color=darkorange, label=\"watches\", constraint=false];\n");
    }
  }

  // Message flows, thicker with more traffic.
  int64_t busiest = 1;
  for (const auto& [ends, flow] : flows) busiest = std::max(busiest, flow.total);
  for (const auto& [ends, flow] : flows) {
    const double width =
        1.0 + 4.0 * std::log1p(static_cast<double>(flow.total)) / std::log1p(busiest);
    absl::StrAppend(
        &out, "  ", Node(ends.first), " -> ", Node(ends.second),
        " [color=\"#1f77b4\", fontcolor=\"#1f77b4\", penwidth=", absl::StrFormat("%.2f", width),
        ", label=", Quoted(FlowLabel(flow)), ", constraint=false];\n");
  }
  out += "}\n";
  return out;
}

}  // namespace troupe
