// The KV cache and the attention over it against the exact reference
// attention: prefill, chunked prefill and decode on random layouts of the four
// paradigms, grouped KV heads, caches that grow past several blocks and are
// truncated; bit-identical to tiled_attention on the same keys and values;
// every error.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <ism/kv_cache.hpp>
#include <ism/paradigms.hpp>
#include <ism/reference_attention.hpp>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "error_messages.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;

// Float accumulation against the double oracle, for values of order 1 and
// logits of order 10.
constexpr double tolerance = 5e-5;

std::vector<float> random_values(std::mt19937_64& rng, index_t count) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(static_cast<std::size_t>(count));
  for (float& x : out) x = normal(rng);
  return out;
}

ism::head_tensor<float> rows(const std::vector<float>& data, index_t first, index_t count,
                             index_t heads, index_t dim) {
  return {std::span<const float>(data).subspan(static_cast<std::size_t>(first * heads * dim),
                                               static_cast<std::size_t>(count * heads * dim)),
          count, heads, dim};
}

// The largest difference from the reference, in outputs and log-sum-exps;
// a row that sees nothing must give zeros and -inf exactly.
double difference(const ism::tiled_attention_output& got, const ism::attention_output& want) {
  REQUIRE(got.output.size() == want.output.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < want.lse.size(); ++i) {
    if (std::isinf(want.lse[i])) {
      if (!(std::isinf(got.lse[i]) && got.lse[i] < 0)) return std::numeric_limits<double>::infinity();
      continue;
    }
    worst = std::max(worst, std::fabs(got.lse[i] - want.lse[i]));
  }
  for (std::size_t i = 0; i < want.output.size(); ++i)
    worst = std::max(worst, std::fabs(got.output[i] - want.output[i]));
  return worst;
}

bool identical(const ism::tiled_attention_output& a, const ism::tiled_attention_output& b) {
  const auto bits = [](const std::vector<float>& x, const std::vector<float>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](float p, float q) {
      return std::bit_cast<std::uint32_t>(p) == std::bit_cast<std::uint32_t>(q);
    });
  };
  return bits(a.output, b.output) && bits(a.lse, b.lse);
}

ism::attention_settings threads(index_t n) {
  ism::attention_settings s;
  s.threads = n;
  return s;
}

}  // namespace

TEST_CASE("kv_cache: chunked prefill and decode equal the reference on random layouts") {
  constexpr index_t heads = 4;
  constexpr index_t kv_heads = 2;
  random_layouts::for_random_layouts(
      52000, 12, [&](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const index_t n = l.size();
        random_layouts::for_each_paradigm([&](auto policy, std::string_view name,
                                              const ism::any_paradigm&) {
          CAPTURE(name);
          const ism::interval_mask m = ism::make_interval_mask(l, policy);
          const index_t dim = random_layouts::uniform(rng, 1, 40);
          CAPTURE(dim);
          const std::vector<float> q = random_values(rng, n * heads * dim);
          const std::vector<float> k = random_values(rng, n * kv_heads * dim);
          const std::vector<float> v = random_values(rng, n * kv_heads * dim);
          ism::kv_cache cache(2, kv_heads, dim);
          // Chunks of random lengths, the last few one token each: prefill,
          // chunked prefill, then decode. Layer 1 holds the same keys, so
          // layers are kept apart.
          for (index_t at = 0; at < n;) {
            const index_t len =
                at + 4 >= n ? 1 : random_layouts::uniform(rng, 1, std::min<index_t>(n - at, 50));
            CAPTURE(at);
            CAPTURE(len);
            for (index_t layer = 0; layer < 2; ++layer)
              cache.append(layer, rows(k, at, len, kv_heads, dim), rows(v, at, len, kv_heads, dim));
            const index_t t = random_layouts::uniform(rng, 1, 3);
            const ism::tiled_attention_output got =
                ism::tiled_attention(m, rows(q, at, len, heads, dim), at, cache, 1, threads(t));
            CHECK(difference(got, ism::reference_attention(m, rows(q, at, len, heads, dim),
                                                           rows(k, 0, at + len, kv_heads, dim),
                                                           rows(v, 0, at + len, kv_heads, dim), at,
                                                           0)) <= tolerance);
            CHECK(identical(got, ism::tiled_attention(m, rows(q, at, len, heads, dim),
                                                      rows(k, 0, at + len, kv_heads, dim),
                                                      rows(v, 0, at + len, kv_heads, dim), at, 0,
                                                      threads(1))));
            at += len;
          }
          CHECK(cache.tokens(0) == n);
          CHECK(cache.tokens(1) == n);
        });
      });
}

TEST_CASE("kv_cache: growing past several blocks, then truncated and refilled") {
  std::mt19937_64 rng(52100);
  constexpr index_t n = 600;  // capacity grows 128, 256, 512, 1024
  constexpr index_t dim = 8;
  const ism::layout l = ism::layout_builder{}.system(100).user(200).assistant(300).build();
  const ism::interval_mask m = ism::make_interval_mask(l, ism::intermittent{});
  const std::vector<float> q = random_values(rng, n * dim);
  const std::vector<float> k = random_values(rng, n * dim);
  const std::vector<float> v = random_values(rng, n * dim);
  const std::vector<float> other = random_values(rng, n * dim);
  ism::kv_cache cache(1, 1, dim);
  cache.append(0, rows(k, 0, 130, 1, dim), rows(v, 0, 130, 1, dim));
  cache.append(0, rows(k, 130, n - 130, 1, dim), rows(v, 130, n - 130, 1, dim));
  const auto want = [&](const std::vector<float>& keys, index_t q0, index_t len) {
    return ism::reference_attention(m, rows(q, q0, len, 1, dim), rows(keys, 0, q0 + len, 1, dim),
                                    rows(v, 0, q0 + len, 1, dim), q0, 0);
  };
  CHECK(difference(ism::tiled_attention(m, rows(q, 0, n, 1, dim), 0, cache, 0), want(k, 0, n)) <=
        tolerance);
  CHECK(cache.bytes(0) == n * (dim + ism::detail::whole_kernel_cols(dim)) * sizeof(float));

  // Keys past 200 replaced: the attention sees the new ones only.
  std::vector<float> mixed(k.begin(), k.begin() + 200 * dim);
  mixed.insert(mixed.end(), other.begin() + 200 * dim, other.end());
  cache.truncate(200);
  CHECK(cache.tokens(0) == 200);
  cache.append(0, rows(mixed, 200, n - 200, 1, dim), rows(v, 200, n - 200, 1, dim));
  CHECK(difference(ism::tiled_attention(m, rows(q, 150, n - 150, 1, dim), 150, cache, 0),
                   want(mixed, 150, n - 150)) <= tolerance);
  cache.truncate(n + 5);  // longer than the cache: nothing changes
  CHECK(cache.tokens(0) == n);
}

TEST_CASE("kv_cache: every error names the problem and appends nothing") {
  CHECK(contains(error_message<ism::argument_error>([] { ism::kv_cache(0, 1, 4); }),
                 "at least one layer"));
  CHECK(contains(error_message<ism::argument_error>([] { ism::kv_cache(1, 1, 0); }),
                 "0"));
  ism::kv_cache cache(2, 2, 4);
  const std::vector<float> good(3 * 2 * 4, 0.5f);
  std::vector<float> bad = good;
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  const ism::head_tensor<float> k{good, 3, 2, 4};
  CHECK(contains(error_message<ism::shape_error>([&] { cache.append(2, k, k); }),
                 "there is no layer 2"));
  CHECK(contains(error_message<ism::shape_error>([&] { static_cast<void>(cache.tokens(-1)); }),
                 "no layer -1"));
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { cache.append(0, k, ism::head_tensor<float>{bad, 3, 2, 4}); }),
                 "V(0, 1, 1)"));
  CHECK(contains(error_message<ism::shape_error>(
                     [&] { cache.append(0, k, ism::head_tensor<float>{good, 6, 1, 4}); }),
                 "K and V shapes differ"));
  CHECK(contains(error_message<ism::shape_error>(
                     [&] { cache.append(0, ism::head_tensor<float>{good, 6, 1, 4},
                                        ism::head_tensor<float>{good, 6, 1, 4}); }),
                 "holds 2 KV heads of dim 4, not 1 of dim 4"));
  CHECK(cache.tokens(0) == 0);
  CHECK(contains(error_message<ism::argument_error>([&] { cache.truncate(-1); }), "-1"));

  cache.append(0, k, k);
  const ism::interval_mask m =
      ism::make_interval_mask(ism::layout_builder{}.user(3).build(), ism::causal{});
  const std::vector<float> q(3 * 4 * 4, 0.25f);
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::tiled_attention(m, ism::head_tensor<float>{q, 3, 4, 4}, 0, cache, 5);
                 }),
                 "no layer 5"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::tiled_attention(m, ism::head_tensor<float>{q, 3, 2, 8}, 0, cache, 0);
                 }),
                 "Q head dim 8 differs from the cache's 4"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::tiled_attention(m, ism::head_tensor<float>{q, 4, 3, 4}, 0, cache, 0);
                 }),
                 "not a multiple of the 2 KV heads"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::tiled_attention(m, ism::head_tensor<float>{q, 3, 4, 4}, 0, cache, 0,
                                        threads(0));
                 }),
                 "threads 0"));
  CHECK_THROWS_AS(ism::tiled_attention(m, ism::head_tensor<float>{q, 3, 4, 4}, 2, cache, 0),
                  ism::shape_error);  // rows 2..4 do not fit a mask of 3
  // The cache's keys are checked once; their magnitude still bounds the logits.
  const std::vector<float> huge(3 * 2 * 4, 1e37f);
  const std::vector<float> large_q(3 * 4 * 4, 100.0f);
  ism::kv_cache loud(1, 2, 4);
  loud.append(0, ism::head_tensor<float>{huge, 3, 2, 4}, ism::head_tensor<float>{good, 3, 2, 4});
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::tiled_attention(m, ism::head_tensor<float>{large_q, 3, 4, 4}, 0, loud, 0);
                 }),
                 "beyond float's range"));
}
