// -----------------------------------------------------------------------------
// File: tracing.h
// -----------------------------------------------------------------------------
//
// A timeline of what the actors did: every message send and every
// activation (one handler run), recorded into per-thread ring buffers while
// tracing is on, then collected as a `Trace` and exported as Chrome
// trace-event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing
// open: one track per thread, a slice per activation, and a flow arrow from
// each send to the activation that handled it.
//
//   system.StartTracing();
//   RunTheWorkload();
//   system.StopTracing();
//   troupe::Trace trace = system.CollectTrace();
//   absl::Status written = troupe::WriteChromeTrace(trace, "/tmp/run.json");
//   // and actor/graph.h draws who sent how much to whom.
//
// Cost. Off (the default), a send and a turn each pay one relaxed load.
// On, a send pays a clock read and one 64-byte event, an activation two
// clock reads and one event; the event goes into the calling thread's own
// buffer, so threads never contend. Memory is bounded: each thread that
// records keeps at most `TracerOptions::events_per_thread` events (the
// newest; Trace::overwritten counts the rest).
//
// Reading while recording: CollectTrace() may run while actors run. Each
// slot carries its own sequence number (a seqlock), so a slot being
// overwritten during the copy is skipped, never half-read.

#ifndef TROUPE_ACTOR_TRACING_H_
#define TROUPE_ACTOR_TRACING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "actor/message.h"
#include "base/stringify.h"
#include "threads/mutex.h"

namespace troupe {

struct TraceEvent {
  enum class Kind : uint8_t { kSend, kActivation };

  Kind kind = Kind::kSend;
  uint32_t thread = 0;         // an index into Trace::threads
  int64_t start_nanos = 0;     // since the tracer was made (steady clock)
  int64_t duration_nanos = 0;  // an activation's; 0 for a send
  uint64_t actor = 0;          // activation: the actor that ran; send: the receiver
  uint64_t from = 0;           // send: the sending actor; 0 if not sent from one
  // The message: its send and its activation carry the same flow; 0 for a
  // message sent while tracing was off.
  uint64_t flow = 0;
  const MessageType* type = nullptr;
};

// "send", "activation".
std::string_view TraceEventKindName(TraceEvent::Kind kind);
template <typename Sink>
void AbslStringify(Sink& sink, TraceEvent::Kind kind) {
  sink.Append(TraceEventKindName(kind));
}

struct Trace {
  std::string system;                // the system's name
  std::vector<std::string> threads;  // names, by TraceEvent::thread
  std::vector<TraceEvent> events;    // by start time
  // Names of the actors in the events ("name#id"), stopped ones included.
  absl::flat_hash_map<uint64_t, std::string> actor_names;
  int64_t overwritten = 0;  // events lost to full ring buffers

  // "name#id" of `id`, or "actor#id" if it is not known.
  std::string ActorName(uint64_t id) const;
};

struct TracerOptions {
  // Per recording thread; 64 bytes each (2 MiB per thread by default).
  size_t events_per_thread = size_t{1} << 15;
};

// ChromeTraceJson() / WriteChromeTrace()
//
// The trace-event JSON of `trace` ("traceEvents": metadata naming the
// threads, "X" slices for activations and sends, "s"/"f" flow pairs for the
// messages whose send and activation are both in the trace).
std::string ChromeTraceJson(const Trace& trace);
absl::Status WriteChromeTrace(const Trace& trace, const std::string& path);

namespace actor_internal {

// The recorder behind ActorSystem::StartTracing(). Record* are called on
// hot paths, from any thread, only while tracing is on.
class Tracer {
 public:
  explicit Tracer(std::string system_name);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Sets the buffer size for threads that start recording after the call.
  void Configure(TracerOptions options);

  // Nanoseconds since the tracer was made.
  int64_t Now() const;

  // A send of `envelope` to `to` from actor `from` (0: none): gives the
  // envelope its flow and records the send.
  void RecordSend(Envelope& envelope, uint64_t to, uint64_t from);
  // An activation of actor `actor` (named `name_of()` the first time this
  // thread sees it) for a message of `type` and `flow`, from `start` to
  // `end` on the steady clock (base/monotonic.h).
  template <typename NameOf>
  void RecordActivation(uint64_t actor, NameOf name_of, const MessageType& type, uint64_t flow,
                        int64_t start, int64_t end) {
    ThreadBuffer& buffer = CurrentBuffer();
    if (!KnowsActor(buffer, actor)) NoteActor(buffer, actor, name_of());
    Append(buffer, TraceEvent::Kind::kActivation, start - epoch_nanos_, end - start, actor, 0, flow,
           &type);
  }

  Trace Collect() const;
  void Clear();  // forgets what has been recorded so far

 private:
  struct ThreadBuffer;
  ThreadBuffer& CurrentBuffer();
  ThreadBuffer& MakeBuffer();
  static bool KnowsActor(ThreadBuffer& buffer, uint64_t actor);
  void NoteActor(ThreadBuffer& buffer, uint64_t actor, std::string name);
  static void Append(ThreadBuffer& buffer, TraceEvent::Kind kind, int64_t start, int64_t duration,
                     uint64_t actor, uint64_t from, uint64_t flow, const MessageType* type);

  const std::string system_name_;
  const uint64_t serial_;  // tells this tracer's thread-local entries from others'
  const int64_t epoch_nanos_;
  std::atomic<size_t> capacity_;
  mutable Mutex mu_;
  std::vector<std::unique_ptr<ThreadBuffer>> buffers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace actor_internal
}  // namespace troupe

#endif  // TROUPE_ACTOR_TRACING_H_
