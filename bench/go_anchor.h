// -----------------------------------------------------------------------------
// File: go_anchor.h
// -----------------------------------------------------------------------------
//
// Go's figure for the same work, measured beside troupe's in the same
// repetition, for the rows whose target names a Go anchor ("<= 0.5 x Go
// c4"): the machine is noisy, so only a ratio taken in one sitting says
// whether a target is met. When TROUPE_GO_ANCHOR names the anchor binary
// (bench/WORKLOADS.md, "Anchors"), a workload runs `binary <workload>`
// right after its own run and adds two rows: the anchor's figure and the
// ratio of its own to it. Without the variable those rows are printed as
// not measured.
//
//   RegisterWorkload({{{"K4", ...}, GoAnchorRow("K4", "c4", "ns/round trip"),
//                      GoRatioRow("K4", "c4", "<= 0.5")},
//                     [] { return WithGoAnchor(TaskPingPong(), "K4", "c4", "ns_per_roundtrip");
//                     }});

#ifndef TROUPE_BENCH_GO_ANCHOR_H_
#define TROUPE_BENCH_GO_ANCHOR_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/harness.h"

namespace troupe::bench {

// WithGoAnchor()
//
// `rows` (a workload's result), with "<id>-go" (the anchor's `figure` for
// `workload`) and "<id>/go" (row `id` divided by it) appended when
// TROUPE_GO_ANCHOR is set. An anchor that fails or does not check its own
// result is an error, as a troupe workload's would be.
absl::StatusOr<Rows> WithGoAnchor(absl::StatusOr<Rows> rows, absl::string_view id,
                                  absl::string_view workload, absl::string_view figure);

// The two rows' descriptions, for the workload's registration.
RowSpec GoAnchorRow(absl::string_view id, absl::string_view workload, absl::string_view unit);
RowSpec GoRatioRow(absl::string_view id, absl::string_view workload, absl::string_view target);

// ParseGoAnchorFigure()
//
// The value of `figure` in an anchor's output ("C4 ... ns_per_roundtrip=264.31
// check=ok"); an error unless the output says check=ok.
absl::StatusOr<double> ParseGoAnchorFigure(absl::string_view output, absl::string_view figure);

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_GO_ANCHOR_H_
