// -----------------------------------------------------------------------------
// File: anchor.h
// -----------------------------------------------------------------------------
//
// Another system's figure for the same work (Go's, moodycamel's queue's),
// measured beside troupe's in the same repetition, for the rows whose target
// names that system ("<= 0.5 x Go c4", "<= moodycamel m1-imp"): the machine
// is noisy, so only a ratio taken in one sitting says whether a target is
// met. When the anchor's variable names its binary (bench/WORKLOADS.md,
// "Anchors in the same repetition"), a workload runs `binary <workload>`
// right after its own run and adds two rows: the anchor's figure and the
// ratio of its own to it. Without the variable those rows are printed as
// not measured.
//
//   RegisterWorkload({{{"K4", ...}, AnchorRow(kGoAnchor, "K4", "c4", "ns/round trip"),
//                      AnchorRatioRow(kGoAnchor, "K4", "c4", "<= 0.5")},
//                     [] {
//                       return WithAnchor(TaskPingPong(), kGoAnchor, "K4", "c4",
//                                         "ns_per_roundtrip");
//                     }});

#ifndef TROUPE_BENCH_ANCHOR_H_
#define TROUPE_BENCH_ANCHOR_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/harness.h"

namespace troupe::bench {

// An anchor binary: the variable that names it, the tag of its rows
// ("<id>-go", "<id>/go") and the system's name for their descriptions.
struct Anchor {
  const char* variable;
  const char* tag;
  const char* system;
};

// The team's Go anchors (`p1pool`, `p1go`, `c4`, `c5`, ...).
inline constexpr Anchor kGoAnchor = {"TROUPE_GO_ANCHOR", "go", "Go"};
// The C++ anchors' moodycamel program (`m1-imp`, `m2-imp`, ...).
inline constexpr Anchor kMoodycamelAnchor = {"TROUPE_MC_ANCHOR", "mc", "moodycamel"};

// WithAnchor()
//
// `rows` (a workload's result), with "<id>-<tag>" (the anchor's `figure` for
// `workload`) and "<id>/<tag>" (row `id` divided by it) appended when the
// anchor's variable is set. An anchor that fails or does not check its own
// result is an error, as a troupe workload's would be.
absl::StatusOr<Rows> WithAnchor(absl::StatusOr<Rows> rows, const Anchor& anchor,
                                absl::string_view id, absl::string_view workload,
                                absl::string_view figure);

// The two rows' descriptions, for the workload's registration.
RowSpec AnchorRow(const Anchor& anchor, absl::string_view id, absl::string_view workload,
                  absl::string_view unit);
RowSpec AnchorRatioRow(const Anchor& anchor, absl::string_view id, absl::string_view workload,
                       absl::string_view target);

// ParseAnchorFigure()
//
// The value of `figure` in an anchor's output ("C4 ... ns_per_roundtrip=264.31
// check=ok"); an error unless the output says check=ok.
absl::StatusOr<double> ParseAnchorFigure(absl::string_view output, absl::string_view figure);

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_ANCHOR_H_
