// What an engine does on the second turn of a chat: keep the KV cache of the first
// turn and compute only the new tokens, as a chunk of queries against all keys.
// Under ISM the result is exactly what a from-scratch pass over the whole
// conversation gives; under prefix it is not, because the new turn changes what
// the earlier tokens see.
#include <cmath>
#include <iostream>
#include <ism/ism.hpp>
#include <random>
#include <vector>

namespace {

constexpr ism::index_t heads = 4;
constexpr ism::index_t kv_heads = 2;
constexpr ism::index_t head_dim = 8;

std::vector<float> random_rows(ism::index_t rows, ism::index_t h, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> out(static_cast<std::size_t>(rows * h * head_dim));
  for (float& x : out) x = normal(rng);
  return out;
}

// Largest difference between turn-2 outputs from a full pass and from an engine that
// keeps the outputs of tokens [0, reused) from turn 1 and computes only the rest.
template <class Paradigm>
double cached_vs_full(const ism::layout& turn1, const ism::layout& turn2, ism::index_t reused) {
  std::mt19937 rng(7);
  const ism::index_t n = turn2.size();
  const std::vector<float> q = random_rows(n, heads, rng);     // (N, H, D)
  const std::vector<float> k = random_rows(n, kv_heads, rng);  // (N, Hkv, D)
  const std::vector<float> v = random_rows(n, kv_heads, rng);
  const auto rows = [](const std::vector<float>& t, ism::index_t begin, ism::index_t end,
                       ism::index_t h) {
    return ism::head_tensor<float>{
        std::span(t).subspan(begin * h * head_dim, (end - begin) * h * head_dim), end - begin, h,
        head_dim};
  };

  const ism::interval_mask mask = ism::make_interval_mask<Paradigm>(turn2);
  const auto full = ism::reference_attention(mask, rows(q, 0, n, heads), rows(k, 0, n, kv_heads),
                                             rows(v, 0, n, kv_heads));
  // New queries [reused, N) against the cached keys [0, reused) plus the new ones.
  const auto cached = ism::reference_attention(
      mask, rows(q, reused, n, heads), rows(k, 0, n, kv_heads), rows(v, 0, n, kv_heads), reused, 0);
  // The engine also keeps the outputs of [0, reused) from turn 1.
  const ism::interval_mask turn1_mask = ism::make_interval_mask<Paradigm>(turn1);
  const auto first = ism::reference_attention(turn1_mask, rows(q, 0, reused, heads),
                                              rows(k, 0, turn1.size(), kv_heads),
                                              rows(v, 0, turn1.size(), kv_heads));
  double worst = 0.0;
  for (ism::index_t r = 0; r < n; ++r)
    for (ism::index_t h = 0; h < heads; ++h)
      for (ism::index_t d = 0; d < head_dim; ++d) {
        const double kept = r < reused ? first.out(r, h, d) : cached.out(r - reused, h, d);
        worst = std::max(worst, std::abs(kept - full.out(r, h, d)));
      }
  std::cout << Paradigm::name << ": keeping " << reused << " of " << turn1.size()
            << " cached tokens, largest difference from a full pass " << worst << "\n";
  return worst;
}

}  // namespace

int main() {
  const ism::layout turn1 = ism::parse_layout("system:4, user:5, assistant:6");
  const ism::layout turn2 = ism::parse_layout("system:4, user:5, assistant:6, user:3, assistant:5");
  const ism::index_t ism_reusable = ism::reusable_prefix<ism::intermittent>(turn1, turn2);
  const ism::index_t prefix_reusable = ism::reusable_prefix<ism::prefix>(turn1, turn2);
  const double ism_error = cached_vs_full<ism::intermittent>(turn1, turn2, ism_reusable);
  const double prefix_error = cached_vs_full<ism::prefix>(turn1, turn2, prefix_reusable);
  // A prefix engine that kept its cache anyway would be wrong: turn 2 changed what
  // the first turn's tokens see.
  const double prefix_stale = cached_vs_full<ism::prefix>(turn1, turn2, turn1.size());
  const bool ok = ism_reusable == turn1.size() && ism_error < 1e-12 && prefix_reusable == 0 &&
                  prefix_error < 1e-12 && prefix_stale > 1e-3;
  return ok ? 0 : 1;
}
