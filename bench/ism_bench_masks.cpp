// Mask construction benchmarks, each beside a plain baseline measured in the same
// run (docs/benchmarks.md records the numbers):
//   BM_block_mask/<paradigm>/tokens:N        make_block_mask from a ready interval mask
//   BM_block_mask_from_layout/<paradigm>/... make_block_mask from the layout, by windows of rows
//   BM_block_mask_via_intervals/<paradigm>/.. baseline: make_interval_mask, then make_block_mask
//   BM_block_mask_every_pair/<paradigm>/...  baseline: test every (q, k) pair, count per tile
//   BM_dense_mask/<dtype>/<paradigm>/...     fill one 8 MiB block of rows, as `ism export` does
//   BM_memset/bytes:8388608                  baseline: std::memset of the same buffer
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ism/ism.hpp"

namespace {

using ism::index_t;

// The packed rows: conversations of 4096 tokens, each a system prompt and 32
// user/assistant turns whose lengths vary from turn to turn (a 1M-token row is
// 256 such conversations). Lengths come from a fixed hash, so every run and
// every machine benchmarks the same layout.
constexpr index_t conversation_tokens = 4096;
constexpr index_t system_tokens = 128;
constexpr index_t turns = 32;
constexpr index_t turn_tokens = (conversation_tokens - system_tokens) / turns;  // 124
static_assert(system_tokens + turns * turn_tokens == conversation_tokens);
// A user message has 16 to 79 tokens; the reply takes the rest of the turn.
constexpr index_t min_user_tokens = 16;
constexpr std::uint64_t user_token_spread = 64;

// splitmix64's finalizer: a well-mixed, platform-independent hash.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// `tokens` must be a multiple of conversation_tokens.
ism::layout packed_conversations(index_t tokens) {
  ism::layout_builder builder;
  for (index_t c = 0; c < tokens / conversation_tokens; ++c) {
    if (c > 0) builder.next_document();
    builder.system(system_tokens);
    for (index_t t = 0; t < turns; ++t) {
      const auto user =
          min_user_tokens +
          static_cast<index_t>(mix(static_cast<std::uint64_t>(c * turns + t)) % user_token_spread);
      builder.user(user).assistant(turn_tokens - user);
    }
  }
  return builder.build();
}

constexpr ism::block_size tile{128, 128};

void set_block_counters(benchmark::State& state, const ism::block_mask& blocks) {
  using benchmark::Counter;
  const auto listed = static_cast<double>(blocks.listed_blocks());
  const auto tiles = static_cast<double>(blocks.query_blocks() * blocks.key_blocks());
  state.counters["listed"] = listed;
  state.counters["full"] = static_cast<double>(blocks.full_blocks());
  state.counters["blocks/s"] = Counter(listed, Counter::kIsIterationInvariantRate);
  state.counters["tiles/s"] = Counter(tiles, Counter::kIsIterationInvariantRate);
}

void build_block_mask(benchmark::State& state, const ism::any_paradigm& kind, index_t tokens) {
  const ism::interval_mask intervals = ism::make_interval_mask(packed_conversations(tokens), kind);
  for (auto _ : state) {
    ism::block_mask blocks = ism::make_block_mask(intervals, tile);
    benchmark::DoNotOptimize(blocks);
  }
  set_block_counters(state, ism::make_block_mask(intervals, tile));
}

// The whole cost from a layout, as ism.block_mask pays it: the rows' intervals
// are computed a window at a time inside the build.
void build_block_mask_from_layout(benchmark::State& state, const ism::any_paradigm& kind,
                                  index_t tokens) {
  const ism::layout row = packed_conversations(tokens);
  for (auto _ : state) {
    ism::block_mask blocks = ism::make_block_mask(row, kind, tile);
    benchmark::DoNotOptimize(blocks);
  }
  set_block_counters(state, ism::make_block_mask(row, kind, tile));
}

// The same through the N-row interval mask, built and freed every iteration.
void build_block_mask_via_intervals(benchmark::State& state, const ism::any_paradigm& kind,
                                    index_t tokens) {
  const ism::layout row = packed_conversations(tokens);
  for (auto _ : state) {
    const ism::interval_mask intervals = ism::make_interval_mask(row, kind);
    ism::block_mask blocks = ism::make_block_mask(intervals, tile);
    benchmark::DoNotOptimize(blocks);
  }
  set_block_counters(state, ism::make_block_mask(ism::make_interval_mask(row, kind), tile));
}

// The baseline: visible(q, k) for every pair of the row, counted per tile; a tile
// is full when every one of its bq x bk pairs is visible. Returns (QB, KB) classes.
std::vector<ism::block_class> classify_every_pair(const ism::interval_mask& m) {
  const index_t n = m.size();
  const index_t query_blocks = (n + tile.q - 1) / tile.q;
  const index_t key_blocks = (n + tile.k - 1) / tile.k;
  std::vector<ism::block_class> classes(static_cast<std::size_t>(query_blocks * key_blocks));
  for (index_t qb = 0; qb < query_blocks; ++qb) {
    for (index_t kb = 0; kb < key_blocks; ++kb) {
      index_t visible = 0;
      for (index_t q = qb * tile.q; q < std::min(n, (qb + 1) * tile.q); ++q)
        for (index_t k = kb * tile.k; k < std::min(n, (kb + 1) * tile.k); ++k)
          visible += m.visible(q, k) ? 1 : 0;
      classes[static_cast<std::size_t>(qb * key_blocks + kb)] =
          visible == 0                 ? ism::block_class::empty
          : visible == tile.q * tile.k ? ism::block_class::full
                                       : ism::block_class::partial;
    }
  }
  return classes;
}

void every_pair_baseline(benchmark::State& state, const ism::any_paradigm& kind, index_t tokens) {
  const ism::interval_mask intervals = ism::make_interval_mask(packed_conversations(tokens), kind);
  std::vector<ism::block_class> classes;
  for (auto _ : state) {
    classes = classify_every_pair(intervals);
    benchmark::DoNotOptimize(classes.data());
  }
  // The baseline is only a fair comparison if it computes the same answer.
  const ism::block_mask blocks = ism::make_block_mask(intervals, tile);
  for (index_t qb = 0; qb < blocks.query_blocks(); ++qb)
    for (index_t kb = 0; kb < blocks.key_blocks(); ++kb)
      if (classes[static_cast<std::size_t>(qb * blocks.key_blocks() + kb)] !=
          blocks.classify(qb, kb)) {
        state.SkipWithError("the baseline disagrees with make_block_mask");
        return;
      }
  set_block_counters(state, blocks);
}

// One block of rows as `ism export` streams it: 8 MiB whatever the element type.
constexpr std::size_t row_block_bytes = std::size_t{8} << 20;

template <class T>
void fill_row_block(benchmark::State& state, const ism::any_paradigm& kind, index_t tokens) {
  const ism::interval_mask intervals = ism::make_interval_mask(packed_conversations(tokens), kind);
  const auto rows =
      static_cast<index_t>(row_block_bytes / (sizeof(T) * static_cast<std::size_t>(tokens)));
  const auto elements = static_cast<std::size_t>(rows * tokens);
  const auto buffer = std::make_unique<T[]>(elements);  // (rows, tokens), zeroed: pages mapped
  const std::span<T> out(buffer.get(), elements);
  index_t q0 = 0;
  for (auto _ : state) {
    // Successive iterations walk down the mask, so every kind of row is filled.
    const ism::chunk rows_here{q0, q0 + rows, 0, tokens};
    if constexpr (std::is_same_v<T, bool>)
      ism::fill_dense_mask(intervals, rows_here, out, tokens);
    else
      ism::fill_additive_mask<T>(intervals, rows_here, out, tokens);
    benchmark::DoNotOptimize(buffer.get());
    benchmark::ClobberMemory();
    q0 = q0 + 2 * rows <= tokens ? q0 + rows : 0;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(elements * sizeof(T)));
}

void memset_baseline(benchmark::State& state) {
  const auto buffer = std::make_unique<unsigned char[]>(row_block_bytes);
  for (auto _ : state) {
    std::memset(buffer.get(), 0, row_block_bytes);
    benchmark::DoNotOptimize(buffer.get());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(row_block_bytes));
}

std::string name(const char* benchmark, const ism::any_paradigm& kind, index_t tokens) {
  return std::string(benchmark) + "/" + std::string(kind.name()) +
         "/tokens:" + std::to_string(tokens);
}

// Sizes in tokens: powers of two from one conversation to 1M.
constexpr index_t block_mask_sizes[] = {4096, 16384, 32768, 65536, 262144, 1048576};
// Past 32k the baseline's N^2 pairs take seconds per iteration.
constexpr index_t every_pair_max_tokens = 32768;
constexpr index_t dense_sizes[] = {4096, 32768, 1048576};

void register_benchmarks() {
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    for (const index_t n : block_mask_sizes) {
      benchmark::RegisterBenchmark(name("BM_block_mask", kind, n).c_str(), build_block_mask, kind,
                                   n)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(name("BM_block_mask_from_layout", kind, n).c_str(),
                                   build_block_mask_from_layout, kind, n)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(name("BM_block_mask_via_intervals", kind, n).c_str(),
                                   build_block_mask_via_intervals, kind, n)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    for (const index_t n : block_mask_sizes) {
      if (n > every_pair_max_tokens) break;
      benchmark::RegisterBenchmark(name("BM_block_mask_every_pair", kind, n).c_str(),
                                   every_pair_baseline, kind, n)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (const ism::any_paradigm& kind : {ism::paradigm_from_name("causal"), ism::paradigm_from_name("ism")}) {
    for (const index_t n : dense_sizes) {
      benchmark::RegisterBenchmark(name("BM_dense_mask/bool", kind, n).c_str(),
                                   fill_row_block<bool>, kind, n)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(name("BM_dense_mask/float32", kind, n).c_str(),
                                   fill_row_block<float>, kind, n)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark(("BM_memset/bytes:" + std::to_string(row_block_bytes)).c_str(),
                               memset_baseline)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
