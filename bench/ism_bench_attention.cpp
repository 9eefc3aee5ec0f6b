// Tiled attention (include/ism/tiled_attention.hpp) against two plain baselines
// measured in the same run and on the same shapes (docs/benchmarks.md):
//
//   attention/<paradigm>/N:<n>/d:<dim>/threads:<t>  ism::tiled_attention, visiting
//       the tiles the block mask lists (built once, outside the timing, as an
//       engine builds it once for every head and layer).
//   attention_bf16/...  the same with bfloat16 inputs (the same values rounded).
//   gemm_baseline/N:<n>/d:<dim>/threads:<t>  Q K^T and P V as plain Eigen float
//       products over every pair, no softmax: the speed of the matrix products.
//   dense_mask/<paradigm>/N:<n>/d:<dim>/threads:<t>  every pair computed, then
//       masked from a dense N x N bool mask, softmax, P V.
//
// The row is one multi-turn conversation of N tokens: a system prompt of 100
// to 300 tokens, then user turns of 20 to 200 tokens and answers of 50 to 500
// (seeded), with 4 query heads over 2 KV heads. Counters: useful_flops = 4 x
// visible pairs x dim x heads per second; flops = the same for the pairs
// computed (every pair for the baselines, the pairs of the visited tiles for
// the tiled attention); density = visible pairs / N^2.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ism/dense_mask.hpp>
#include <ism/head_tensor.hpp>
#include <ism/layout.hpp>
#include <ism/paradigms.hpp>
#include <ism/tiled_attention.hpp>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "multi_turn_layout.hpp"

namespace {

using ism::index_t;

constexpr index_t query_heads = 4;
constexpr index_t kv_heads = 2;
constexpr index_t threads = 2;
// Query rows per baseline product: panels of 256 rows ran faster than one
// N x N product and keep the logits of N = 16k in memory.
constexpr index_t baseline_panel = 256;
constexpr index_t sizes[] = {1024, 2048, 4096, 8192, 16384};
constexpr index_t dims[] = {64, 128};
// The ctest smoke run (bench/CMakeLists.txt) runs only this size.
constexpr index_t smoke_size = 256;
constexpr index_t smoke_dim = 64;

template <class T>
struct inputs {
  index_t n;
  index_t dim;
  std::vector<T> q;  // (n, query_heads, dim)
  std::vector<T> k;  // (n, kv_heads, dim)
  std::vector<T> v;  // (n, kv_heads, dim)

  inputs(index_t rows, index_t d) : n(rows), dim(d) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    const auto fill = [&](std::vector<T>& x, index_t heads) {
      x.resize(static_cast<std::size_t>(n * heads * dim));
      for (T& e : x) e = T(uniform(rng));
    };
    fill(q, query_heads);
    fill(k, kv_heads);
    fill(v, kv_heads);
  }
  ism::head_tensor<T> queries() const { return {q, n, query_heads, dim}; }
  ism::head_tensor<T> keys() const { return {k, n, kv_heads, dim}; }
  ism::head_tensor<T> values() const { return {v, n, kv_heads, dim}; }
};

using row_major_floats = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using head_rows = Eigen::Map<const row_major_floats, Eigen::Unaligned, Eigen::OuterStride<>>;

// Rows [first, first + count) of one head of a (rows, heads, dim) tensor.
head_rows rows_of(const std::vector<float>& t, index_t heads, index_t dim, index_t first,
                  index_t count, index_t head) {
  return head_rows(t.data() + (first * heads + head) * dim, count, dim,
                   Eigen::OuterStride<>(heads * dim));
}

using output_rows = Eigen::Map<row_major_floats, Eigen::Unaligned, Eigen::OuterStride<>>;

output_rows output_of(std::vector<float>& o, index_t dim, index_t first, index_t count,
                      index_t head) {
  return output_rows(o.data() + (first * query_heads + head) * dim, count, dim,
                     Eigen::OuterStride<>(query_heads * dim));
}

void set_counters(benchmark::State& state, index_t n, index_t dim, index_t visible_pairs,
                  index_t computed_pairs) {
  const auto flops = [&](index_t pairs) {
    return benchmark::Counter(4.0 * static_cast<double>(pairs) * static_cast<double>(dim) *
                                  static_cast<double>(query_heads),
                              benchmark::Counter::kIsIterationInvariantRate);
  };
  state.counters["useful_flops"] = flops(visible_pairs);
  state.counters["flops"] = flops(computed_pairs);
  state.counters["density"] =
      static_cast<double>(visible_pairs) / (static_cast<double>(n) * static_cast<double>(n));
}

template <class T>
void attention(benchmark::State& state, const ism::any_paradigm& kind, index_t n, index_t dim) {
  const ism::interval_mask m = ism::make_interval_mask(multi_turn_layout(n), kind);
  const ism::block_mask blocks = ism::make_block_mask(m, ism::whole(n), ism::attention_block_size);
  const inputs<T> in(n, dim);
  ism::attention_settings settings;
  settings.threads = threads;
  for (auto _ : state) {
    const ism::tiled_attention_output out =
        ism::tiled_attention(blocks, m, in.queries(), in.keys(), in.values(), settings);
    benchmark::DoNotOptimize(out.output.data());
  }
  index_t computed_pairs = 0;  // the pairs of every visited tile
  for (index_t qb = 0; qb < blocks.query_blocks(); ++qb)
    for (const auto list : {blocks.full_key_blocks(qb), blocks.partial_key_blocks(qb)})
      for (const index_t kb : list) {
        const ism::chunk tile = blocks.tile(qb, kb);
        computed_pairs += tile.rows() * tile.cols();
      }
  set_counters(state, n, dim, m.visible_pairs(), computed_pairs);
}

// Both baselines split (head, panel) items over the threads the way the tiled
// attention splits (head, query block) items.
template <class Panel>
void for_each_panel(index_t n, Panel&& panel) {
  const index_t panels = (n + baseline_panel - 1) / baseline_panel;
  ism::detail::run_work_items(panels * query_heads, threads, [&](index_t item, index_t worker) {
    const index_t first = item / query_heads * baseline_panel;
    panel(item % query_heads, first, std::min(baseline_panel, n - first), worker);
  });
}

void gemm_baseline(benchmark::State& state, index_t n, index_t dim) {
  const inputs<float> in(n, dim);
  std::vector<float> o(in.q.size());
  std::vector<row_major_floats> logits(threads, row_major_floats(baseline_panel, n));
  const index_t group = query_heads / kv_heads;
  for (auto _ : state) {
    for_each_panel(n, [&](index_t h, index_t first, index_t rows, index_t worker) {
      auto s = logits[static_cast<std::size_t>(worker)].topRows(rows);  // (rows, n)
      s.noalias() = rows_of(in.q, query_heads, dim, first, rows, h) *
                    rows_of(in.k, kv_heads, dim, 0, n, h / group).transpose();
      output_of(o, dim, first, rows, h).noalias() =
          s * rows_of(in.v, kv_heads, dim, 0, n, h / group);
    });
    benchmark::DoNotOptimize(o.data());
  }
  set_counters(state, n, dim, n * n, n * n);
}

void dense_mask_baseline(benchmark::State& state, const ism::any_paradigm& kind, index_t n, index_t dim) {
  const ism::interval_mask m = ism::make_interval_mask(multi_turn_layout(n), kind);
  const ism::dense_bool_mask dense = ism::dense_mask(m);  // (n, n)
  const inputs<float> in(n, dim);
  std::vector<float> o(in.q.size());
  std::vector<row_major_floats> logits(threads, row_major_floats(baseline_panel, n));
  const index_t group = query_heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  constexpr float hidden = -std::numeric_limits<float>::infinity();
  for (auto _ : state) {
    for_each_panel(n, [&](index_t h, index_t first, index_t rows, index_t worker) {
      auto s = logits[static_cast<std::size_t>(worker)].topRows(rows);  // (rows, n)
      s.noalias() = (rows_of(in.q, query_heads, dim, first, rows, h) * scale) *
                    rows_of(in.k, kv_heads, dim, 0, n, h / group).transpose();
      std::vector<float> sums(static_cast<std::size_t>(rows));
      for (index_t i = 0; i < rows; ++i) {
        float* row = s.row(i).data();
        const bool* visible = dense.row(first + i).data();
        for (index_t c = 0; c < n; ++c) row[c] = visible[c] ? row[c] : hidden;
        const float top = s.row(i).maxCoeff();
        if (top == hidden) {
          s.row(i).setZero();
          continue;
        }
        s.row(i).array() = (s.row(i).array() - top).exp();
        for (index_t c = 0; c < n; ++c) row[c] = visible[c] ? row[c] : 0.0f;
        sums[static_cast<std::size_t>(i)] = s.row(i).sum();
      }
      auto out = output_of(o, dim, first, rows, h);
      out.noalias() = s * rows_of(in.v, kv_heads, dim, 0, n, h / group);
      for (index_t i = 0; i < rows; ++i)
        if (sums[static_cast<std::size_t>(i)] > 0.0f)
          out.row(i) /= sums[static_cast<std::size_t>(i)];
    });
    benchmark::DoNotOptimize(o.data());
  }
  set_counters(state, n, dim, m.visible_pairs(), n * n);
}

std::string shape_name(index_t n, index_t dim) {
  return "N:" + std::to_string(n) + "/d:" + std::to_string(dim) +
         "/threads:" + std::to_string(threads);
}

void register_shape(index_t n, index_t dim) {
  // Wall time is what the counters divide by; the CPU column is that of all
  // threads, so a run that did not get its cores shows CPU < threads x Time.
  const auto timed = [](benchmark::internal::Benchmark* b) {
    b->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
  };
  timed(benchmark::RegisterBenchmark(("gemm_baseline/" + shape_name(n, dim)).c_str(), gemm_baseline,
                                     n, dim));
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    const std::string paradigm(kind.name());
    timed(benchmark::RegisterBenchmark(("attention/" + paradigm + "/" + shape_name(n, dim)).c_str(),
                                       attention<float>, kind, n, dim));
    timed(benchmark::RegisterBenchmark(
        ("attention_bf16/" + paradigm + "/" + shape_name(n, dim)).c_str(),
        attention<Eigen::bfloat16>, kind, n, dim));
    timed(
        benchmark::RegisterBenchmark(("dense_mask/" + paradigm + "/" + shape_name(n, dim)).c_str(),
                                     dense_mask_baseline, kind, n, dim));
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_shape(smoke_size, smoke_dim);
  for (const index_t dim : dims)
    for (const index_t n : sizes) register_shape(n, dim);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
