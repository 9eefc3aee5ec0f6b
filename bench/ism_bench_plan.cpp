// Context-parallel planning, beside a plain baseline measured in the same run
// (docs/benchmarks.md, docs/context_parallel.md):
//   BM_plan/<row>/<paradigm>/ranks:R     balanced_sharding: the plan and its work table
//   BM_visible_pairs/<row>/<paradigm>    baseline: summing the row's visible pairs once
// <row> is `packed` (256 conversations of 4096 tokens, 1M tokens) or
// `conversation` (one conversation of 128k tokens), both from
// multi_turn_layout.hpp, in blocks of 128. Each BM_plan also reports max/mean
// visible pairs over the ranks for the plan (imbalance) and for the baselines
// (even, head_tail, doc_head_tail), and max/mean tiles for the plan.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ism/ism.hpp"
#include "multi_turn_layout.hpp"

namespace {

using ism::index_t;

constexpr index_t block = 128;
constexpr index_t packed_conversations = 256;
constexpr index_t packed_conversation_tokens = 4096;
constexpr index_t conversation_tokens = 131072;

struct row {
  std::string name;
  ism::layout layout;
};

const std::vector<row>& rows() {
  static const std::vector<row> all{
      {"packed", packed_multi_turn_layout(packed_conversations, packed_conversation_tokens)},
      {"conversation", multi_turn_layout(conversation_tokens)}};
  return all;
}

void plan(benchmark::State& state, const row& r, const ism::any_paradigm& kind, index_t ranks) {
  const ism::interval_mask m = ism::make_interval_mask(r.layout, kind);
  for (auto _ : state) {
    ism::sharding balanced = ism::balanced_sharding(m, ranks, block);
    benchmark::DoNotOptimize(balanced);
  }
  const ism::context_parallel_plan p = ism::plan_context_parallel(r.layout, m, ranks, block);
  state.counters["imbalance"] = p.balanced.imbalance();
  state.counters["tile_imbalance"] = p.balanced.tile_imbalance();
  state.counters["even"] = p.even.imbalance();
  state.counters["head_tail"] = p.head_tail.imbalance();
  state.counters["doc_head_tail"] = p.per_document_head_tail.imbalance();
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(m.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void visible_pairs_baseline(benchmark::State& state, const row& r, const ism::any_paradigm& kind) {
  const ism::interval_mask m = ism::make_interval_mask(r.layout, kind);
  for (auto _ : state) benchmark::DoNotOptimize(m.visible_pairs());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(m.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void register_benchmarks() {
  for (const row& r : rows()) {
    for (const ism::any_paradigm& kind : ism::paradigms().all()) {
      const std::string where = r.name + "/" + std::string(kind.name());
      benchmark::RegisterBenchmark(("BM_visible_pairs/" + where).c_str(), visible_pairs_baseline, r,
                                   kind)
          ->Unit(benchmark::kMillisecond);
      for (const index_t ranks : {2, 4, 8, 16, 32, 64})
        benchmark::RegisterBenchmark(
            ("BM_plan/" + where + "/ranks:" + std::to_string(ranks)).c_str(), plan, r, kind, ranks)
            ->Unit(benchmark::kMillisecond);
    }
  }
}

// Registered before BENCHMARK_MAIN parses the command line.
[[maybe_unused]] const bool registered = (register_benchmarks(), true);

}  // namespace

BENCHMARK_MAIN();
