// The serving study (include/ism/studies/serving.hpp) and the decode step of
// the KV cache (include/ism/kv_cache.hpp), each beside a plain baseline
// measured in the same run (docs/paper.md, docs/benchmarks.md):
//
//   serving_study/<paradigm>/turns:<t>  one whole serving study of the
//       default dialogue (32-token system prompt, turns of 64 user and 128
//       answer tokens) through the default reference decoder (d_model 256, 4
//       layers, 4 heads over 2 KV heads). Counters: ttft_last_s, the time to
//       first token of the last turn; tokens_computed over the study.
//   decode_step/history:<n>  one attention layer's decode step: one query row
//       of 4 heads against a cache of n tokens of 2 KV heads of dim 64, under
//       ism's mask, the block mask built inside the step as a server builds
//       it. bytes_per_second counts the cache's packed keys and values.
//   kv_read_baseline/history:<n>  a plain sum over the same packed bytes: the
//       memory bandwidth a decode step could reach at best.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <ism/kv_cache.hpp>
#include <ism/paradigm_registry.hpp>
#include <ism/studies/serving.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using ism::index_t;

constexpr index_t query_heads = 4;
constexpr index_t kv_heads = 2;
constexpr index_t head_dim = 64;
constexpr index_t histories[] = {1024, 4096, 16384};
constexpr index_t study_turns[] = {1, 20};  // 1: the ctest smoke run

std::vector<float> random_floats(std::mt19937& rng, index_t count) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(static_cast<std::size_t>(count));
  for (float& x : out) x = normal(rng);
  return out;
}

// A cache of `history` tokens and the mask of a dialogue one token longer,
// ending in an answer: the decode step of its last token.
struct decode_setup {
  ism::kv_cache cache{1, kv_heads, head_dim};
  ism::interval_mask mask;
  std::vector<float> query;

  explicit decode_setup(index_t history) {
    std::mt19937 rng(11);
    const std::vector<float> k = random_floats(rng, history * kv_heads * head_dim);
    const std::vector<float> v = random_floats(rng, history * kv_heads * head_dim);
    cache.append(0, {k, history, kv_heads, head_dim}, {v, history, kv_heads, head_dim});
    mask = ism::make_interval_mask(
        ism::layout_builder{}.system(32).user(history - 32).assistant(1).build(),
        ism::intermittent{});
    query = random_floats(rng, query_heads * head_dim);
  }
};

void decode_step(benchmark::State& state, index_t history) {
  const decode_setup s(history);
  for (auto _ : state) {
    const ism::tiled_attention_output out = ism::tiled_attention(
        s.mask, ism::head_tensor<float>{s.query, 1, query_heads, head_dim}, history, s.cache, 0);
    benchmark::DoNotOptimize(out.output.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(s.cache.bytes(0)));
}

void kv_read_baseline(benchmark::State& state, index_t history) {
  const decode_setup s(history);
  const ism::detail::packed_float_kv packed = s.cache.packed(0);
  const index_t value_floats = s.cache.bytes(0) / sizeof(float) / kv_heads - history * head_dim;
  for (auto _ : state) {
    float sum = 0;
    for (index_t h = 0; h < kv_heads; ++h) {
      sum += Eigen::Map<const Eigen::VectorXf>(packed.keys + h * packed.key_head_stride,
                                               history * head_dim)
                 .sum();
      sum += Eigen::Map<const Eigen::VectorXf>(packed.values + h * packed.value_head_stride,
                                               value_floats)
                 .sum();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(s.cache.bytes(0)));
}

void serving_study(benchmark::State& state, const char* paradigm, index_t turns) {
  ism::dialogue_shape shape;
  shape.turns = turns;
  const ism::reference_decoder decoder{ism::decoder_config{}};
  const auto ids = ism::dialogue_tokens(shape, decoder.config().vocabulary, 0);
  const ism::any_paradigm p = ism::paradigm_from_name(paradigm);
  ism::serving_run run;
  for (auto _ : state) run = ism::serve_dialogue(decoder, p, shape, ids);
  index_t computed = 0;
  for (const ism::serving_turn& t : run.turns) computed += t.tokens_computed;
  state.counters["ttft_last_s"] = run.turns.back().ttft_s;
  state.counters["tokens_computed"] = static_cast<double>(computed);
}

void register_all() {
  for (const index_t n : histories) {
    benchmark::RegisterBenchmark(("decode_step/history:" + std::to_string(n)).c_str(), decode_step,
                                 n);
    benchmark::RegisterBenchmark(("kv_read_baseline/history:" + std::to_string(n)).c_str(),
                                 kv_read_baseline, n);
  }
  for (const char* paradigm : {"causal", "ism", "prefix"})
    for (const index_t turns : study_turns)
      benchmark::RegisterBenchmark(("serving_study/" + std::string(paradigm) +
                                    "/turns:" + std::to_string(turns))
                                       .c_str(),
                                   serving_study, paradigm, turns)
          ->Iterations(1)
          ->Unit(benchmark::kSecond)
          ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
