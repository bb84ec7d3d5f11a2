#include "actor/tracing.h"

#include <pthread.h>

#include <algorithm>
#include <fstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/monotonic.h"

namespace troupe {

std::string_view TraceEventKindName(TraceEvent::Kind kind) {
  switch (kind) {
    case TraceEvent::Kind::kSend:
      return "send";
    case TraceEvent::Kind::kActivation:
      return "activation";
  }
  return "unknown";
}

std::string Trace::ActorName(uint64_t id) const {
  if (auto it = actor_names.find(id); it != actor_names.end()) return it->second;
  return absl::StrCat("actor#", id);
}

namespace actor_internal {
namespace {

std::atomic<uint64_t> next_serial{1};

// This thread's buffers, one per tracer it has recorded into, found by the
// tracer's serial (unique for the process: a new tracer at a dead one's
// address is never mistaken for it). Short: threads see one or two systems.
struct BufferEntry {
  uint64_t serial;
  void* buffer;
};
thread_local std::vector<BufferEntry> thread_buffers;
thread_local BufferEntry last_buffer{0, nullptr};  // the one used last: usually the only one
constexpr size_t kMaxThreadBuffers = 8;

}  // namespace

// One slot: an event and its own sequence number, 64 bytes. Every field is
// an atomic written and read relaxed; the sequence number orders them.
struct alignas(64) TraceSlot {
  std::atomic<uint64_t> seq{0};  // i + 1 once it holds event i; 0 while being written
  std::atomic<uint64_t> kind{0};
  std::atomic<int64_t> start{0};
  std::atomic<int64_t> duration{0};
  std::atomic<uint64_t> actor{0};
  std::atomic<uint64_t> from{0};
  std::atomic<uint64_t> flow{0};
  std::atomic<const MessageType*> type{nullptr};
};
static_assert(sizeof(TraceSlot) == 64);

struct Tracer::ThreadBuffer {
  ThreadBuffer(uint32_t i, std::string n, size_t c)
      : index(i), name(std::move(n)), capacity(c), slots(new TraceSlot[c]) {}

  const uint32_t index;
  const std::string name;
  const size_t capacity;
  const std::unique_ptr<TraceSlot[]> slots;
  // Events appended so far (the owner stores, release; Collect loads,
  // acquire), and the count Clear() saw: events before it are forgotten.
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> cleared{0};
  // Owner only.
  uint64_t flows = 0;
  absl::flat_hash_set<uint64_t> named_actors;  // whose names the tracer has
  static constexpr size_t kRecentlyNamed = 64;
  uint64_t recently_named[kRecentlyNamed] = {};  // a cache of named_actors (ids start at 1)
};

Tracer::Tracer(std::string system_name)
    : system_name_(std::move(system_name)),
      serial_(next_serial.fetch_add(1, std::memory_order_relaxed)),
      epoch_nanos_(MonotonicNanos()),
      capacity_(TracerOptions().events_per_thread) {}

Tracer::~Tracer() = default;

void Tracer::Configure(TracerOptions options) {
  capacity_.store(std::max<size_t>(options.events_per_thread, 1), std::memory_order_relaxed);
}

int64_t Tracer::Now() const { return MonotonicNanos() - epoch_nanos_; }

Tracer::ThreadBuffer& Tracer::CurrentBuffer() {
  if (last_buffer.serial == serial_) [[likely]]
    return *static_cast<ThreadBuffer*>(last_buffer.buffer);
  for (const BufferEntry& entry : thread_buffers) {
    if (entry.serial == serial_) {
      last_buffer = entry;
      return *static_cast<ThreadBuffer*>(entry.buffer);
    }
  }
  return MakeBuffer();
}

Tracer::ThreadBuffer& Tracer::MakeBuffer() {
  char name[16] = "thread";
  pthread_getname_np(pthread_self(), name, sizeof(name));
  ThreadBuffer* buffer;
  {
    MutexLock lock(mu_);
    buffers_.push_back(std::make_unique<ThreadBuffer>(static_cast<uint32_t>(buffers_.size()), name,
                                                      capacity_.load(std::memory_order_relaxed)));
    buffer = buffers_.back().get();
  }
  // Forget the oldest entry if there are many: should its tracer record on
  // this thread again, it makes a second buffer, which costs only memory.
  if (thread_buffers.size() >= kMaxThreadBuffers) thread_buffers.erase(thread_buffers.begin());
  thread_buffers.push_back(BufferEntry{serial_, buffer});
  last_buffer = thread_buffers.back();
  return *buffer;
}

bool Tracer::KnowsActor(ThreadBuffer& buffer, uint64_t actor) {
  // A small direct-mapped cache in front of the set: a thread runs the
  // same few actors again and again.
  uint64_t& cached = buffer.recently_named[actor % ThreadBuffer::kRecentlyNamed];
  if (cached == actor) return true;
  if (!buffer.named_actors.contains(actor)) return false;
  cached = actor;
  return true;
}

void Tracer::NoteActor(ThreadBuffer& buffer, uint64_t actor, std::string name) {
  buffer.named_actors.insert(actor);
  buffer.recently_named[actor % ThreadBuffer::kRecentlyNamed] = actor;
  MutexLock lock(mu_);
  names_.try_emplace(actor, std::move(name));
}

void Tracer::Append(ThreadBuffer& buffer, TraceEvent::Kind kind, int64_t start, int64_t duration,
                    uint64_t actor, uint64_t from, uint64_t flow, const MessageType* type) {
  const uint64_t i = buffer.written.load(std::memory_order_relaxed);  // the owner's own count
  TraceSlot& slot = buffer.slots[i % buffer.capacity];
  // A seqlock per slot: mark it busy, fence, write the fields, publish its
  // number with release. A reader that loads the number (acquire), the
  // fields, fences (acquire) and loads the number again sees either the
  // whole event or a changed number, never a mix.
  slot.seq.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.kind.store(static_cast<uint64_t>(kind), std::memory_order_relaxed);
  slot.start.store(start, std::memory_order_relaxed);
  slot.duration.store(duration, std::memory_order_relaxed);
  slot.actor.store(actor, std::memory_order_relaxed);
  slot.from.store(from, std::memory_order_relaxed);
  slot.flow.store(flow, std::memory_order_relaxed);
  slot.type.store(type, std::memory_order_relaxed);
  slot.seq.store(i + 1, std::memory_order_release);
  buffer.written.store(i + 1, std::memory_order_release);
}

void Tracer::RecordSend(Envelope& envelope, uint64_t to, uint64_t from) {
  ThreadBuffer& buffer = CurrentBuffer();
  // Unique without a shared counter: the buffer's index above, its own count below.
  const uint64_t flow = (uint64_t{buffer.index} + 1) << 40 | ++buffer.flows;
  envelope.set_trace_flow(flow);
  Append(buffer, TraceEvent::Kind::kSend, Now(), 0, to, from, flow, &envelope.type());
}

Trace Tracer::Collect() const {
  Trace trace;
  trace.system = system_name_;
  MutexLock lock(mu_);
  trace.actor_names = names_;
  for (const std::unique_ptr<ThreadBuffer>& buffer : buffers_) {
    trace.threads.push_back(absl::StrCat(buffer->name, " (", buffer->index, ")"));
    const uint64_t written = buffer->written.load(std::memory_order_acquire);
    const uint64_t oldest_kept = written > buffer->capacity ? written - buffer->capacity : 0;
    const uint64_t cleared = buffer->cleared.load(std::memory_order_relaxed);
    if (oldest_kept > cleared) trace.overwritten += static_cast<int64_t>(oldest_kept - cleared);
    for (uint64_t i = std::max(oldest_kept, cleared); i < written; ++i) {
      const TraceSlot& slot = buffer->slots[i % buffer->capacity];
      const uint64_t seq = slot.seq.load(std::memory_order_acquire);
      if (seq != i + 1) {  // overwritten since `written` was read
        ++trace.overwritten;
        continue;
      }
      TraceEvent event;
      event.kind = static_cast<TraceEvent::Kind>(slot.kind.load(std::memory_order_relaxed));
      event.thread = buffer->index;
      event.start_nanos = slot.start.load(std::memory_order_relaxed);
      event.duration_nanos = slot.duration.load(std::memory_order_relaxed);
      event.actor = slot.actor.load(std::memory_order_relaxed);
      event.from = slot.from.load(std::memory_order_relaxed);
      event.flow = slot.flow.load(std::memory_order_relaxed);
      event.type = slot.type.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (slot.seq.load(std::memory_order_relaxed) != seq) {
        ++trace.overwritten;
        continue;
      }
      trace.events.push_back(event);
    }
  }
  std::stable_sort(
      trace.events.begin(), trace.events.end(),
      [](const TraceEvent& a, const TraceEvent& b) { return a.start_nanos < b.start_nanos; });
  return trace;
}

void Tracer::Clear() {
  MutexLock lock(mu_);
  for (const std::unique_ptr<ThreadBuffer>& buffer : buffers_) {
    buffer->cleared.store(buffer->written.load(std::memory_order_acquire),
                          std::memory_order_relaxed);
  }
}

}  // namespace actor_internal

namespace {

// `text` as a JSON string, quotes included.
std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// Trace-event timestamps are microseconds; keep the nanoseconds.
std::string Micros(int64_t nanos) { return absl::StrFormat("%.3f", nanos / 1000.0); }

std::string TypeName(const TraceEvent& event) {
  return event.type != nullptr ? event.type->name() : std::string("?");
}

}  // namespace

std::string ChromeTraceJson(const Trace& trace) {
  std::vector<std::string> events;
  events.push_back(absl::StrCat(R"({"name":"process_name","ph":"M","pid":1,"args":{"name":)",
                                JsonString(absl::StrCat("troupe '", trace.system, "'")), "}}"));
  for (size_t t = 0; t < trace.threads.size(); ++t) {
    events.push_back(absl::StrCat(R"({"name":"thread_name","ph":"M","pid":1,"tid":)", t,
                                  R"(,"args":{"name":)", JsonString(trace.threads[t]), "}}"));
  }
  // A flow arrow needs both ends in the trace: its send and its activation.
  // Ids are written as strings: viewers read JSON numbers as doubles.
  absl::flat_hash_map<uint64_t, int> ends;
  for (const TraceEvent& event : trace.events) {
    if (event.flow != 0) ends[event.flow] |= event.kind == TraceEvent::Kind::kSend ? 1 : 2;
  }
  for (const TraceEvent& event : trace.events) {
    const std::string type = JsonString(TypeName(event));
    const bool paired = event.flow != 0 && ends[event.flow] == 3;
    if (event.kind == TraceEvent::Kind::kActivation) {
      events.push_back(absl::StrCat(
          R"({"name":)", type, R"(,"cat":"activation","ph":"X","pid":1,"tid":)", event.thread,
          R"(,"ts":)", Micros(event.start_nanos), R"(,"dur":)", Micros(event.duration_nanos),
          R"(,"args":{"actor":)", JsonString(trace.ActorName(event.actor)), "}}"));
      if (paired) {
        events.push_back(absl::StrCat(R"({"name":)", type,
                                      R"(,"cat":"message","ph":"f","bp":"e","pid":1,"tid":)",
                                      event.thread, R"(,"ts":)", Micros(event.start_nanos),
                                      R"(,"id":")", event.flow, R"("})"));
      }
    } else {
      // A sliver of a slice, so that the arrow has a slice to leave from
      // even when the sender is not an actor.
      events.push_back(absl::StrCat(
          R"({"name":)", JsonString(absl::StrCat("send ", TypeName(event))),
          R"(,"cat":"send","ph":"X","pid":1,"tid":)", event.thread, R"(,"ts":)",
          Micros(event.start_nanos), R"(,"dur":0.001,"args":{"to":)",
          JsonString(trace.ActorName(event.actor)), R"(,"from":)",
          JsonString(event.from != 0 ? trace.ActorName(event.from) : "(not an actor)"), "}}"));
      if (paired) {
        events.push_back(absl::StrCat(
            R"({"name":)", type, R"(,"cat":"message","ph":"s","pid":1,"tid":)", event.thread,
            R"(,"ts":)", Micros(event.start_nanos), R"(,"id":")", event.flow, R"("})"));
      }
    }
  }
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  for (size_t i = 0; i < events.size(); ++i) {
    absl::StrAppend(&out, events[i], i + 1 < events.size() ? ",\n" : "\n");
  }
  out += "]}\n";
  return out;
}

absl::Status WriteChromeTrace(const Trace& trace, const std::string& path) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return absl::UnavailableError(absl::StrCat("cannot open ", path, " for writing"));
  file << ChromeTraceJson(trace);
  file.close();
  if (!file) return absl::DataLossError(absl::StrCat("writing ", path, " failed"));
  return absl::OkStatus();
}

}  // namespace troupe
