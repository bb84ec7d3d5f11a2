// -----------------------------------------------------------------------------
// File: samples/pipeline/pipelines.h
// -----------------------------------------------------------------------------
//
// One pipeline — produce "key,value" lines, parse them, drop the values
// divisible by 3, sum per key — built three ways: threads joined by bounded
// channels, one actor per stage with bounded mailboxes, and a chain of
// stream adapters with a Buffer between stages. The sample (pipeline.cc)
// runs all three; bench row S2 times the channel and stream versions.
//
//   pipeline::Sums sums = pipeline::WithStreams();
//   bool right = sums == pipeline::Expected();

#ifndef TROUPE_SAMPLES_PIPELINE_PIPELINES_H_
#define TROUPE_SAMPLES_PIPELINE_PIPELINES_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace pipeline {

inline constexpr int64_t kRecords = 1'000'000;
inline constexpr int kKeys = 16;
inline constexpr size_t kCapacity = 1024;  // each channel, mailbox, buffer

// The sum of the kept values, per key.
using Sums = std::map<std::string, int64_t>;

// What every version must compute (one thread, no pipeline).
Sums Expected();

// Threads joined by bounded channels (backpressure: a fast stage waits on a
// full channel).
Sums WithChannels();

// One actor per stage: bounded mailboxes, and every sender waits for room
// (the producer thread in TellWithin, the stages' handler tasks in co_await
// Send). `records`: how many records reached the sink; `deepest`: the
// deepest any mailbox got.
Sums WithActors(int64_t* records, uint32_t* deepest);

// A chain of stream adapters in tasks on a pool of `workers` threads, a
// Buffer(kCapacity) between stages so that each stage runs apart, as the
// channel version's threads do.
Sums WithStreams(int workers = 2);

}  // namespace pipeline

#endif  // TROUPE_SAMPLES_PIPELINE_PIPELINES_H_
