// -----------------------------------------------------------------------------
// File: frame_stream.h
// -----------------------------------------------------------------------------
//
// A connection's input as a stream of frames (async/stream.h): lines, or
// length-prefixed frames (framing.h), pulled by a task like any stream.
//
//   troupe::net::FrameStreamOptions framing;          // lines of <= 64 KiB
//   auto listener = troupe::net::Listen(reactor, options,
//       troupe::net::StreamFrames(system, framing,
//           [&](troupe::Stream<std::string> lines, troupe::net::Connection c) {
//             troupe::Go(pool, Serve, std::move(lines), c);  // Serve pulls the lines
//           }));
//
// StreamFrames() makes a connection factory for Listen() and Connect(): the
// connection's owner is a small actor that passes each Received on to the
// stream, which frames it as the consumer pulls. `on_open` gets the stream
// and the connection (to write answers back), on the reactor thread.
//
// Backpressure is the connection's own: a Received counts as unprocessed
// input until the stream has framed it, and the stream frames the next one
// only when its consumer has taken the frames before, so a slow consumer
// pauses reading at ConnectionOptions::max_unprocessed_input.
//
// How the stream ends:
// - OK when the peer closes (or the connection is closed here) between
//   frames; kDataLoss when it closes in the middle of one.
// - kResourceExhausted for a frame over `max_frame` (the connection is
//   aborted: the rest of its input cannot be framed).
// - kUnavailable (reset, error, output overflow, reactor shutdown) or
//   kDeadlineExceeded (a connection timeout), with the Closed detail.
// - Dropping the stream (its consumer stopped) closes the connection.
// Each frame counts for the connection's frame limits (FrameReceived()).
//
// Thread-safety: the stream is pulled by one task at a time, as every stream.

#ifndef TROUPE_NET_FRAME_STREAM_H_
#define TROUPE_NET_FRAME_STREAM_H_

#include <cstddef>
#include <string>

#include "absl/functional/any_invocable.h"
#include "actor/actor_system.h"
#include "async/stream.h"
#include "net/connection.h"
#include "net/listener.h"

namespace troupe::net {

struct FrameStreamOptions {
  enum class Framing {
    kLines,           // "\n"-terminated (a "\r" before it dropped): LineFramer
    kLengthPrefixed,  // a 4-byte big-endian length, then the bytes: LengthPrefixFramer
  };
  Framing framing = Framing::kLines;
  // The largest frame, without its end or length prefix.
  size_t max_frame = 64 << 10;
};

// StreamFrames()
//
// A factory for Listen() or Connect() whose connections come out as frame
// streams, handed to `on_open` with their connection. The owner actors are
// spawned in `system`, which must outlive the connections.
ConnectionFactory StreamFrames(ActorSystem& system, FrameStreamOptions options,
                               absl::AnyInvocable<void(Stream<std::string>, Connection)> on_open);

}  // namespace troupe::net

#endif  // TROUPE_NET_FRAME_STREAM_H_
