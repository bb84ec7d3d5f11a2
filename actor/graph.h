// -----------------------------------------------------------------------------
// File: graph.h
// -----------------------------------------------------------------------------
//
// A picture of an actor system as Graphviz DOT: the actor tree (parent to
// child), links, monitors, and how many messages of which types went from
// whom to whom while tracing was on.
//
//   system.StartTracing();
//   RunTheWorkload();
//   std::string dot = troupe::ActorGraphDot(system.Stats(), system.CollectTrace());
//   // $ dot -Tpng actors.dot -o actors.png      (Debian: apt-get install graphviz)
//
// Edges:
//   parent -> child     solid grey, the supervision tree
//   a -> b  "link"      dashed red, both ways
//   w -> t  "watches"   dotted orange, from the watcher to the watched
//   a -> b  "N msgs"    blue, thicker with more traffic, labelled with the
//                       busiest message types; "outside" is every thread
//                       that is not an actor (main, timers, I/O)
// Actors that have stopped but appear in the trace are drawn dashed.

#ifndef TROUPE_ACTOR_GRAPH_H_
#define TROUPE_ACTOR_GRAPH_H_

#include <string>

#include "actor/stats.h"
#include "actor/tracing.h"

namespace troupe {

// ActorGraphDot()
//
// The DOT text of `stats` (the live actors) and of the message flows in
// `trace` (none if empty).
std::string ActorGraphDot(const SystemStats& stats, const Trace& trace = Trace());

}  // namespace troupe

#endif  // TROUPE_ACTOR_GRAPH_H_
