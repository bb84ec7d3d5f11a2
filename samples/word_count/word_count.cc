// samples/word_count: map/reduce with actors.
//
//   bazel run --config=opt //samples/word_count -- /path/to/file.txt
//   bazel run --config=opt //samples/word_count                  (generated text)
//
// Main reads the text as a stream of lines (async/stream.h: FileLines, or a
// generator), cuts it into chunks as the lines come — the text is never in
// memory whole — and hands them round-robin to mapper actors, which count
// the words of each chunk and send the counts to one reducer actor, which
// merges them. Main then asks the reducer for the top ten, and checks the
// whole count against a single-threaded one over the same stream. Words are
// runs of letters and digits, lower-cased.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "async/block_on.h"
#include "async/stream.h"
#include "async/task.h"
#include "samples/word_count/word_count.pb.h"

namespace {

using WordCounts = absl::flat_hash_map<std::string, int64_t>;

void CountWords(const std::string& line, WordCounts& counts) {
  std::string word;
  for (char c : line) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  if (!word.empty()) ++counts[word];
}

class Mapper : public troupe::Actor {
 public:
  explicit Mapper(troupe::ActorRef reducer) : reducer_(std::move(reducer)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<word_count::Chunk>([this](const word_count::Chunk& chunk) {
      WordCounts counts;
      for (const std::string& line : chunk.lines()) CountWords(line, counts);
      word_count::Counts out;
      for (auto& [word, n] : counts) (*out.mutable_words())[word] = n;
      reducer_.Tell(std::move(out));
    });
  }

 private:
  troupe::ActorRef reducer_;
};

class Reducer : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<word_count::Counts>([this](const word_count::Counts& counts) {
          for (const auto& [word, n] : counts.words()) totals_[word] += n;
          ++chunks_;
        })
        .On<word_count::GetTop>([this](const word_count::GetTop& get) {
          std::vector<std::pair<std::string, int64_t>> all(totals_.begin(), totals_.end());
          const size_t n = std::min(all.size(), static_cast<size_t>(get.n()));
          std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                            [](const auto& a, const auto& b) {
                              return a.second != b.second ? a.second > b.second : a.first < b.first;
                            });
          word_count::Top top;
          int64_t total = 0;
          for (const auto& [word, count] : totals_) total += count;
          for (size_t i = 0; i < n; ++i) {
            word_count::Top::Entry* entry = top.add_entries();
            entry->set_word(all[i].first);
            entry->set_count(all[i].second);
          }
          top.set_total_words(total);
          top.set_distinct_words(static_cast<int64_t>(totals_.size()));
          top.set_chunks(chunks_);
          return top;
        });
  }

 private:
  WordCounts totals_;
  int chunks_ = 0;
};

// A reproducible text: 200,000 lines of words from a Zipf-like vocabulary.
troupe::Stream<std::string> GeneratedText() {
  std::vector<std::string> vocabulary;
  for (int i = 0; i < 2000; ++i) vocabulary.push_back("word" + std::to_string(i));
  uint64_t state = 42;
  for (int l = 0; l < 200'000; ++l) {
    std::string line;
    for (int w = 0; w < 10; ++w) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const double u = static_cast<double>(state >> 11) / static_cast<double>(1ULL << 53);
      const size_t index = static_cast<size_t>(u * u * u * static_cast<double>(vocabulary.size()));
      if (w > 0) line += ' ';
      line += vocabulary[std::min(index, vocabulary.size() - 1)];
    }
    co_yield std::move(line);
  }
}

// The text: the file named on the command line, or the generated one.
troupe::Stream<std::string> Text(int argc, char** argv) {
  return argc > 1 ? troupe::FileLines(argv[1]) : GeneratedText();
}

struct Sent {
  int64_t lines = 0;
  int chunks = 0;
};

// Cuts `lines` into chunks of `chunk_lines` as they come and tells each to
// the next mapper in turn. How many lines and chunks, or the stream's error.
troupe::Task<Sent> SendChunks(troupe::Stream<std::string> lines,
                              std::vector<troupe::ActorRef> mappers, int chunk_lines) {
  Sent sent;
  word_count::Chunk chunk;
  while (std::optional<std::string> line = co_await lines.Next()) {
    chunk.add_lines(std::move(*line));
    ++sent.lines;
    if (chunk.lines_size() == chunk_lines) {
      mappers[static_cast<size_t>(sent.chunks++) % mappers.size()].Tell(std::exchange(chunk, {}));
    }
  }
  if (!lines.status().ok()) co_return lines.status();
  if (chunk.lines_size() > 0) {
    mappers[static_cast<size_t>(sent.chunks++) % mappers.size()].Tell(std::move(chunk));
  }
  co_return sent;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr int kMappers = 8;
  constexpr int kChunkLines = 2000;

  const absl::Time start = absl::Now();
  troupe::ActorSystem system;
  troupe::ActorRef reducer = system.Spawn<Reducer>();
  std::vector<troupe::ActorRef> mappers;
  for (int i = 0; i < kMappers; ++i) mappers.push_back(system.Spawn<Mapper>(reducer));
  absl::StatusOr<Sent> sent = troupe::BlockOn(SendChunks(Text(argc, argv), mappers, kChunkLines));
  if (!sent.ok()) {
    std::fprintf(stderr, "word_count: %s\n", sent.status().ToString().c_str());
    return 1;
  }
  const int chunks = sent->chunks;
  // The mappers' counts reach the reducer in any order; ask until all are in.
  word_count::GetTop get;
  get.set_n(10);
  absl::StatusOr<word_count::Top> top;
  do {
    top = reducer.Ask<word_count::Top>(get, absl::Seconds(30)).Get();
  } while (top.ok() && top->chunks() < chunks);
  const absl::Duration actors = absl::Now() - start;
  if (!top.ok()) {
    std::fprintf(stderr, "word_count: %s\n", top.status().ToString().c_str());
    return 1;
  }

  const absl::Time single_start = absl::Now();
  WordCounts single;
  absl::Status read = troupe::BlockOn(
      Text(argc, argv).ForEach([&](const std::string& line) { CountWords(line, single); }));
  if (!read.ok()) {
    std::fprintf(stderr, "word_count: %s\n", read.ToString().c_str());
    return 1;
  }
  const absl::Duration single_time = absl::Now() - single_start;
  int64_t single_total = 0;
  for (const auto& [word, n] : single) single_total += n;
  bool same = single_total == top->total_words() &&
              static_cast<int64_t>(single.size()) == top->distinct_words();
  for (const auto& entry : top->entries()) same = same && single[entry.word()] == entry.count();

  std::printf("%lld lines, %d chunks, %d mappers: %lld words, %lld distinct\n",
              static_cast<long long>(sent->lines), chunks, kMappers,
              static_cast<long long>(top->total_words()),
              static_cast<long long>(top->distinct_words()));
  std::printf("top 10:\n");
  for (const auto& entry : top->entries()) {
    std::printf("  %-12s %lld\n", entry.word().c_str(), static_cast<long long>(entry.count()));
  }
  std::printf("actors: %.1f ms; single thread: %.1f ms\n", absl::ToDoubleMilliseconds(actors),
              absl::ToDoubleMilliseconds(single_time));
  std::printf("matches the single-threaded count: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
