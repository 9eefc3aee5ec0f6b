// Context-parallel planning, beside a plain baseline measured in the same run
// (docs/benchmarks.md, docs/context_parallel.md):
//   BM_plan/<row>/<paradigm>/ranks:R     balanced_sharding: the plan and its work table
//   BM_visible_pairs/<row>/<paradigm>    baseline: summing the row's visible pairs once
//   BM_plan_batch/<batch>/<paradigm>/ranks:64   balanced_sharding of a batch, planned jointly
// <row> is `packed` (256 conversations of 4096 tokens, 1M tokens) or
// `conversation` (one conversation of 128k tokens), both from
// multi_turn_layout.hpp, in blocks of 128. Each BM_plan also reports max/mean
// visible pairs over the ranks for the plan (imbalance) and for the baselines
// (even, head_tail, doc_head_tail), and max/mean tiles for the plan.
// <batch> is `8x128k` (8 rows of 32 packed conversations of 4096 tokens) or
// `256x4k` (256 rows of one conversation of 4096 tokens), 1M tokens either way,
// every conversation from its own seed; the counters are the batch's, over the
// ranks' work summed over the rows.
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

struct batch {
  std::string name;
  std::vector<ism::layout> rows;
};

// `count` rows of `conversations` packed conversations of n tokens, each from
// its own seed, so no two rows are alike.
batch packed_batch(std::string name, index_t count, index_t conversations, index_t n) {
  batch out{std::move(name), {}};
  for (index_t b = 0; b < count; ++b) {
    ism::layout_builder row;
    for (index_t c = 0; c < conversations; ++c) {
      if (c > 0) row.next_document();
      add_multi_turn_conversation(row, n,
                                  multi_turn_seed + static_cast<std::uint64_t>(b * conversations + c));
    }
    out.rows.push_back(row.build());
  }
  return out;
}

const std::vector<batch>& batches() {
  static const std::vector<batch> all{packed_batch("8x128k", 8, 32, 4096),
                                      packed_batch("256x4k", 256, 1, 4096)};
  return all;
}

const std::vector<row>& rows() {
  static const std::vector<row> all{
      {"packed", packed_multi_turn_layout(packed_conversations, packed_conversation_tokens)},
      {"conversation", multi_turn_layout(conversation_tokens)}};
  return all;
}

// The plan's figures beside the baselines', for a row's plan or a batch's.
template <class Plan>
void set_plan_counters(benchmark::State& state, const Plan& p, double tokens) {
  state.counters["imbalance"] = p.balanced.imbalance();
  state.counters["tile_imbalance"] = p.balanced.tile_imbalance();
  state.counters["even"] = p.even.imbalance();
  state.counters["head_tail"] = p.head_tail.imbalance();
  state.counters["doc_head_tail"] = p.per_document_head_tail.imbalance();
  state.counters["tokens/s"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
}

void plan(benchmark::State& state, const row& r, const ism::any_paradigm& kind, index_t ranks) {
  const ism::interval_mask m = ism::make_interval_mask(r.layout, kind);
  for (auto _ : state) {
    ism::sharding balanced = ism::balanced_sharding(m, ranks, block);
    benchmark::DoNotOptimize(balanced);
  }
  set_plan_counters(state, ism::plan_context_parallel(r.layout, m, ranks, block),
                    static_cast<double>(m.size()));
}

void plan_batch(benchmark::State& state, const batch& in, const ism::any_paradigm& kind,
                index_t ranks) {
  std::vector<ism::interval_mask> masks;
  for (const ism::layout& row : in.rows) masks.push_back(ism::make_interval_mask(row, kind));
  for (auto _ : state) {
    ism::batch_sharding balanced = ism::balanced_sharding(in.rows, masks, ranks, block);
    benchmark::DoNotOptimize(balanced);
  }
  set_plan_counters(state, ism::plan_context_parallel(in.rows, masks, ranks, block),
                    static_cast<double>(masks.size()) * static_cast<double>(masks.front().size()));
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
  for (const batch& b : batches())
    for (const ism::any_paradigm& kind : ism::paradigms().all())
      benchmark::RegisterBenchmark(
          ("BM_plan_batch/" + b.name + "/" + std::string(kind.name()) + "/ranks:64").c_str(),
          plan_batch, b, kind, index_t{64})
          ->Unit(benchmark::kMillisecond);
}

// Registered before BENCHMARK_MAIN parses the command line.
[[maybe_unused]] const bool registered = (register_benchmarks(), true);

}  // namespace

BENCHMARK_MAIN();
