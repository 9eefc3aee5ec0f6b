// The tiled attention against the exact reference attention (double precision):
// the four paradigms on random layouts and chunks, grouped KV heads, block
// sizes from 1 x 1 up, the decode row, packed documents, masks without
// intervals, rows that see nothing, logits of magnitude 1e4; bit-identical
// results for any thread count; every error.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <ism/attention_output.hpp>
#include <ism/composition.hpp>
#include <ism/head_tensor.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <ism/reference_attention.hpp>
#include <ism/tiled_attention.hpp>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;
using bf16 = Eigen::bfloat16;

// Float accumulation against the double oracle. Each logit is a float dot
// product, so its error grows with its magnitude: a result may be off by
// `tolerance` times (1 + the row's largest |logit|), in the output (values are
// of order 1) and in the log-sum-exp.
constexpr double tolerance = 2e-6;

std::vector<float> random_values(std::mt19937_64& rng, index_t count, float spread = 1.0f) {
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> out(static_cast<std::size_t>(count));
  for (float& x : out) x = normal(rng);
  return out;
}

ism::head_tensor<float> tensor(const std::vector<float>& data, index_t tokens, index_t heads,
                               index_t dim) {
  return {std::span<const float>(data), tokens, heads, dim};
}

struct problem {
  index_t lq, lk, heads, kv_heads, dim;
  index_t q0, k0;
  double scale;
  std::vector<float> q, k, v;

  ism::head_tensor<float> queries() const { return tensor(q, lq, heads, dim); }
  ism::head_tensor<float> keys() const { return tensor(k, lk, kv_heads, dim); }
  ism::head_tensor<float> values() const { return tensor(v, lk, kv_heads, dim); }
};

// A problem's inputs rounded to bfloat16, and the problem holding exactly the
// rounded values, for the reference.
struct bf16_problem {
  problem rounded;
  std::vector<bf16> q, k, v;

  explicit bf16_problem(const problem& p) : rounded(p) {
    const auto round = [](std::vector<float>& x, std::vector<bf16>& out) {
      for (float& e : x) {
        out.push_back(bf16(e));
        e = static_cast<float>(out.back());
      }
    };
    round(rounded.q, q);
    round(rounded.k, k);
    round(rounded.v, v);
  }
  ism::head_tensor<bf16> queries() const { return {q, rounded.lq, rounded.heads, rounded.dim}; }
  ism::head_tensor<bf16> keys() const { return {k, rounded.lk, rounded.kv_heads, rounded.dim}; }
  ism::head_tensor<bf16> values() const { return {v, rounded.lk, rounded.kv_heads, rounded.dim}; }
};

// With bfloat16 dot products the softmax weights are rounded to bfloat16, each
// by at most 2^-9 of itself, so an output moves by at most 2^-9 of the largest
// |value| (the weights sum to 1); twice that is allowed on top of `tolerance`.
double bf16_weights_slack(const problem& p) {
  double largest = 0.0;
  for (const float x : p.v) largest = std::max(largest, std::fabs(static_cast<double>(x)));
  return ism::detail::bf16_dot_products_available() ? std::ldexp(largest, -8) : 0.0;
}

problem random_problem(std::mt19937_64& rng, const ism::chunk& c, index_t heads, index_t kv_heads,
                       index_t dim, float spread = 1.0f) {
  return {.lq = c.rows(),
          .lk = c.cols(),
          .heads = heads,
          .kv_heads = kv_heads,
          .dim = dim,
          .q0 = c.q0,
          .k0 = c.k0,
          .scale = 1.0 / std::sqrt(static_cast<double>(dim)),
          .q = random_values(rng, c.rows() * heads * dim, spread),
          .k = random_values(rng, c.cols() * kv_heads * dim, spread),
          .v = random_values(rng, c.cols() * kv_heads * dim)};
}

// The largest |scale * q . k| of row r, head h over every key: what the
// float error of the row scales with.
double largest_logit(const problem& p, index_t r, index_t h) {
  const index_t group = p.heads / p.kv_heads;
  double top = 0.0;
  for (index_t c = 0; c < p.lk; ++c) {
    double dot = 0.0;
    for (index_t d = 0; d < p.dim; ++d)
      dot += static_cast<double>(p.q[static_cast<std::size_t>((r * p.heads + h) * p.dim + d)]) *
             p.k[static_cast<std::size_t>((c * p.kv_heads + h / group) * p.dim + d)];
    top = std::max(top, std::fabs(p.scale * dot));
  }
  return top;
}

// First disagreement with the reference, "" when none. Rows that see nothing
// must be exactly zeros and -inf.
std::string compare(const ism::tiled_attention_output& got, const ism::attention_output& want,
                    const problem& p, double output_slack = 0.0) {
  if (got.tokens != want.tokens || got.heads != want.heads || got.dim != want.dim) return "shape";
  if (got.output.size() != want.output.size() || got.lse.size() != want.lse.size()) return "sizes";
  for (index_t r = 0; r < want.tokens; ++r)
    for (index_t h = 0; h < want.heads; ++h) {
      const double lse = want.log_sum_exp(r, h);
      const double got_lse = got.log_sum_exp(r, h);
      const std::string where = "row " + std::to_string(r) + " head " + std::to_string(h);
      if (std::isinf(lse)) {
        if (!(std::isinf(got_lse) && got_lse < 0)) return "lse of empty " + where;
        for (index_t d = 0; d < want.dim; ++d)
          if (got.out(r, h, d) != 0.0f) return "output of empty " + where;
        continue;
      }
      const double allowed = tolerance * (1.0 + largest_logit(p, r, h));
      if (!(std::fabs(got_lse - lse) <= allowed))
        return "lse of " + where + ": " + std::to_string(got_lse) + " vs " + std::to_string(lse);
      for (index_t d = 0; d < want.dim; ++d)
        if (!(std::fabs(got.out(r, h, d) - want.out(r, h, d)) <= allowed + output_slack))
          return "output (" + std::to_string(r) + ", " + std::to_string(h) + ", " +
                 std::to_string(d) + "): " + std::to_string(got.out(r, h, d)) + " vs " +
                 std::to_string(want.out(r, h, d));
    }
  return "";
}

template <class M>
ism::attention_output reference(const M& m, const problem& p) {
  return ism::reference_attention(m, p.queries(), p.keys(), p.values(), p.q0, p.k0, p.scale);
}

ism::attention_settings settings(double scale, index_t threads = 1) {
  ism::attention_settings s;
  s.scale = scale;
  s.threads = threads;
  return s;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](float x, float y) {
    return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
  });
}

bool identical(const ism::tiled_attention_output& a, const ism::tiled_attention_output& b) {
  return a.tokens == b.tokens && a.heads == b.heads && a.dim == b.dim &&
         same_bits(a.output, b.output) && same_bits(a.lse, b.lse);
}

}  // namespace

TEST_CASE("tiled_attention: random layouts, chunks, heads and blocks equal the reference") {
  struct heads_case {
    index_t heads;
    index_t kv_heads;
  };
  for (const heads_case hc : {heads_case{1, 1}, heads_case{4, 2}, heads_case{3, 1}}) {
    CAPTURE(hc.heads);
    CAPTURE(hc.kv_heads);
    random_layouts::for_random_layouts(
        31000, 20, [&](std::mt19937_64& rng, const oracle::declared_layout& d) {
          const ism::layout l(d);
          const index_t n = l.size();
          random_layouts::for_each_paradigm([&](auto policy, std::string_view name,
                                                const ism::any_paradigm&) {
            CAPTURE(name);
            const ism::interval_mask m = ism::make_interval_mask(l, policy);
            const ism::chunk c = random_layouts::chance(rng, 0.3)
                                     ? ism::whole(n)
                                     : random_layouts::random_chunk(rng, n);
            // Dims below, at and above the kernels' strips, odd ones included.
            const index_t dim = random_layouts::uniform(rng, 1, 40);
            CAPTURE(ism::to_string(c));
            CAPTURE(dim);
            problem p = random_problem(rng, c, hc.heads, hc.kv_heads, dim);
            if (random_layouts::chance(rng, 0.3))
              p.scale = std::uniform_real_distribution<double>(-2.0, 3.0)(rng);
            const ism::block_size size{random_layouts::uniform(rng, 1, 24),
                                       random_layouts::uniform(rng, 1, 24)};
            const index_t threads = random_layouts::uniform(rng, 1, 3);
            CAPTURE(ism::to_string(size));
            CAPTURE(threads);
            const ism::attention_output want = reference(m, p);
            CHECK(compare(ism::tiled_attention(ism::make_block_mask(m, c, size), m, p.queries(),
                                               p.keys(), p.values(), settings(p.scale, threads)),
                          want, p) == "");
            CHECK(compare(ism::tiled_attention(m, p.queries(), p.keys(), p.values(), p.q0, p.k0,
                                               settings(p.scale, threads)),
                          want, p) == "");
          });
        });
  }
}

TEST_CASE("tiled_attention: bfloat16 inputs, with dot products and widened to float") {
  CAPTURE(ism::detail::bf16_dot_products_available());
  random_layouts::for_random_layouts(
      38000, 12, [&](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const index_t n = l.size();
        random_layouts::for_each_paradigm(
            [&](auto policy, std::string_view name, const ism::any_paradigm&) {
              CAPTURE(name);
              const ism::interval_mask m = ism::make_interval_mask(l, policy);
              const ism::chunk c = random_layouts::chance(rng, 0.3)
                                       ? ism::whole(n)
                                       : random_layouts::random_chunk(rng, n);
              const index_t dim = random_layouts::uniform(rng, 1, 40);
              CAPTURE(ism::to_string(c));
              CAPTURE(dim);
              const bf16_problem b(random_problem(rng, c, 4, 2, dim));
              const problem& p = b.rounded;
              const ism::block_size size{random_layouts::uniform(rng, 1, 40),
                                         random_layouts::uniform(rng, 1, 40)};
              const index_t threads = random_layouts::uniform(rng, 1, 3);
              CAPTURE(ism::to_string(size));
              CAPTURE(threads);
              const ism::block_mask blocks = ism::make_block_mask(m, c, size);
              const ism::attention_output want = reference(m, p);
              const ism::tiled_attention_output got = ism::tiled_attention(
                  blocks, m, b.queries(), b.keys(), b.values(), settings(p.scale, threads));
              CHECK(compare(got, want, p, bf16_weights_slack(p)) == "");
              CHECK(identical(got, ism::tiled_attention(blocks, m, b.queries(), b.keys(),
                                                        b.values(), settings(p.scale, 1))));
              // The path of CPUs without AVX-512 BF16 is float's, to float's tolerance.
              CHECK(compare(ism::detail::attend_listed_tiles<ism::detail::float_products<bf16>>(
                                blocks, m, b.queries(), b.keys(), b.values(),
                                static_cast<float>(p.scale), threads),
                            want, p) == "");
            });
      });
}

TEST_CASE("tiled_attention: masks without intervals and composed masks") {
  std::mt19937_64 rng(32000);
  const ism::layout l = ism::parse_layout(
      "system:9,user:13,assistant:21,user:6,assistant:17|user:11,assistant:19,tool:5,assistant:8");
  const index_t n = l.size();
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  const auto windowed = ism::and_masks(m, ism::sliding_window(10));  // interval-backed
  const auto every_third = ism::and_masks(m, [](index_t q, index_t k) { return (q + k) % 3 != 0; });
  const auto with_sinks = ism::or_masks(windowed, [](index_t, index_t k) { return k < 4; });
  // Rows 30..39 see nothing at all.
  const ism::predicate_mask holes{
      [&](index_t q, index_t k) { return (q < 30 || q >= 40) && m.visible(q, k); }};
  for (const ism::block_size size :
       {ism::block_size{16, 16}, ism::block_size{7, 5}, ism::attention_block_size}) {
    CAPTURE(ism::to_string(size));
    const problem p = random_problem(rng, ism::whole(n), 4, 2, 24);
    const auto check = [&](const auto& mask) {
      CHECK(compare(ism::tiled_attention(ism::make_block_mask(mask, ism::whole(n), size), mask,
                                         p.queries(), p.keys(), p.values(), settings(p.scale, 2)),
                    reference(mask, p), p) == "");
    };
    check(windowed);
    check(every_third);
    check(with_sinks);
    check(holes);
  }
}

TEST_CASE("tiled_attention: packed documents never see each other") {
  std::mt19937_64 rng(33000);
  const ism::layout l = ism::parse_layout("user:40,assistant:60|system:20,user:30,assistant:50");
  const index_t n = l.size();
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    CAPTURE(kind.name());
    const ism::interval_mask m = ism::make_interval_mask(l, kind);
    const problem p = random_problem(rng, ism::whole(n), 2, 1, 32);
    const ism::tiled_attention_output packed =
        ism::tiled_attention(m, p.queries(), p.keys(), p.values());
    CHECK(compare(packed, reference(m, p), p) == "");
    // The second document alone gives the same rows, up to float rounding.
    const ism::interval_mask alone =
        ism::make_interval_mask(ism::parse_layout("system:20,user:30,assistant:50"), kind);
    problem second = p;
    second.lq = second.lk = 100;
    second.q.assign(p.q.begin() + 100 * 2 * 32, p.q.end());
    second.k.assign(p.k.begin() + 100 * 32, p.k.end());
    second.v.assign(p.v.begin() + 100 * 32, p.v.end());
    const ism::tiled_attention_output single =
        ism::tiled_attention(alone, second.queries(), second.keys(), second.values());
    for (index_t r = 0; r < 100; ++r)
      for (index_t h = 0; h < 2; ++h) {
        CHECK(single.log_sum_exp(r, h) == doctest::Approx(packed.log_sum_exp(100 + r, h)));
        for (index_t d = 0; d < 32; ++d)
          CHECK(single.out(r, h, d) ==
                doctest::Approx(packed.out(100 + r, h, d)).epsilon(1e-5).scale(1.0));
      }
  }
}

TEST_CASE("tiled_attention: chunks against a KV cache and the decode row") {
  std::mt19937_64 rng(34000);
  const ism::layout l =
      ism::parse_layout("system:20,user:30,assistant:40,user:15,assistant:35,user:10");
  const index_t n = l.size();
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    CAPTURE(kind.name());
    const ism::interval_mask m = ism::make_interval_mask(l, kind);
    const problem whole = random_problem(rng, ism::whole(n), 4, 2, 16);
    const ism::tiled_attention_output all =
        ism::tiled_attention(m, whole.queries(), whole.keys(), whole.values());
    CHECK(compare(all, reference(m, whole), whole) == "");
    // Chunked prefill, turn by turn: queries [q0, q1) against the cache
    // [0, q1), then decode rows. Rows are computed independently over the same
    // key tiles, so they come out bit for bit as in the whole row.
    for (const ism::chunk c :
         {ism::chunk{0, 50, 0, 50}, ism::chunk{50, 90, 0, 90}, ism::chunk{90, 140, 0, 140},
          ism::chunk{140, n, 0, n}, ism::chunk{n - 1, n, 0, n}, ism::chunk{106, 107, 0, 107}}) {
      CAPTURE(ism::to_string(c));
      problem part = whole;
      part.q0 = c.q0;
      part.lq = c.rows();
      part.lk = c.cols();
      part.q.assign(whole.q.begin() + c.q0 * 4 * 16, whole.q.begin() + c.q1 * 4 * 16);
      part.k.resize(static_cast<std::size_t>(c.k1 * 2 * 16));
      part.v.resize(static_cast<std::size_t>(c.k1 * 2 * 16));
      const ism::tiled_attention_output got =
          ism::tiled_attention(m, part.queries(), part.keys(), part.values(), c.q0, c.k0);
      CHECK(compare(got, reference(m, part), part) == "");
      if (kind != ism::paradigm_from_name("bidirectional") && kind != ism::paradigm_from_name("prefix")) {
        // Causal and ISM rows never see past the cache, so they match the whole row.
        bool same = true;
        for (index_t r = 0; r < c.rows(); ++r)
          for (index_t h = 0; h < 4; ++h) {
            same = same && got.log_sum_exp(r, h) == all.log_sum_exp(c.q0 + r, h);
            for (index_t d = 0; d < 16; ++d)
              same = same && got.out(r, h, d) == all.out(c.q0 + r, h, d);
          }
        CHECK(same);
      }
    }
  }
}

TEST_CASE("tiled_attention: rows that see nothing give zeros and lse -inf") {
  std::mt19937_64 rng(35000);
  // ISM: the user rows 0..9 see only [0, 9], so against keys [10, 30) they see nothing.
  const ism::layout l = ism::layout_builder{}.user(10).assistant(20).build();
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  const problem p = random_problem(rng, {5, 30, 10, 30}, 2, 1, 8);
  const ism::tiled_attention_output got =
      ism::tiled_attention(m, p.queries(), p.keys(), p.values(), p.q0, p.k0);
  CHECK(compare(got, reference(m, p), p) == "");
  for (index_t r = 0; r < 5; ++r)
    for (index_t h = 0; h < 2; ++h) {
      CHECK(std::isinf(got.log_sum_exp(r, h)));
      CHECK(got.log_sum_exp(r, h) < 0);
      for (index_t d = 0; d < 8; ++d) CHECK(got.out(r, h, d) == 0.0f);
    }
  for (float x : got.output) CHECK_FALSE(std::isnan(x));

  SUBCASE("no keys at all") {
    const std::vector<float> none;
    const ism::tiled_attention_output empty =
        ism::tiled_attention(m, p.queries(), tensor(none, 0, 1, 8), tensor(none, 0, 1, 8), 5, 30);
    CHECK(empty.output.size() == 25 * 2 * 8);
    for (float x : empty.output) CHECK(x == 0.0f);
    for (float x : empty.lse) CHECK((std::isinf(x) && x < 0));
  }
  SUBCASE("no queries") {
    const std::vector<float> none;
    const ism::tiled_attention_output empty =
        ism::tiled_attention(m, tensor(none, 0, 2, 8), p.keys(), p.values(), 30, 10);
    CHECK(empty.tokens == 0);
    CHECK(empty.output.empty());
    CHECK(empty.lse.empty());
  }
}

TEST_CASE("tiled_attention: logits of magnitude 1e4 stay finite and correct") {
  std::mt19937_64 rng(36000);
  const ism::layout l = ism::parse_layout("user:40,assistant:50|user:30,assistant:40");
  const index_t n = l.size();
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    CAPTURE(kind.name());
    const ism::interval_mask m = ism::make_interval_mask(l, kind);
    // |q . k| around 1e4 with unit scale; the logits of one row differ by thousands.
    problem p = random_problem(rng, ism::whole(n), 4, 2, 3, 60.0f);
    p.scale = 1.0;
    const ism::tiled_attention_output got =
        ism::tiled_attention(ism::make_block_mask(m, ism::whole(n), ism::block_size{16, 16}), m,
                             p.queries(), p.keys(), p.values(), settings(1.0));
    double largest = 0;
    for (float x : got.lse) {
      CHECK(std::isfinite(x));
      largest = std::max(largest, std::fabs(static_cast<double>(x)));
    }
    CHECK(largest > 1e3);
    for (float x : got.output) CHECK(std::isfinite(x));
    CHECK(compare(got, reference(m, p), p) == "");
    const bf16_problem b(p);
    CHECK(compare(ism::tiled_attention(m, b.queries(), b.keys(), b.values(), 0, 0, settings(1.0)),
                  reference(m, b.rounded), b.rounded, bf16_weights_slack(b.rounded)) == "");
  }
}

TEST_CASE("tiled_attention: inputs just inside float's range equal the reference") {
  std::mt19937_64 rng(36500);
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(
      ism::parse_layout("user:4,assistant:4|user:3,assistant:3"));
  problem p = random_problem(rng, ism::whole(m.size()), 2, 1, 2);
  p.scale = 1.0;
  const auto flip_signs = [&](std::vector<float>& x, float size) {
    for (float& e : x) e = random_layouts::chance(rng, 0.5) ? size : -size;
  };
  double tolerance_of_outputs = 1e-5;
  SUBCASE("logits up to 3.38e38") {
    // Logits are +-2 (1.3e19)^2 or 0; a row's can differ by more than float holds.
    flip_signs(p.q, 1.3e19f);
    flip_signs(p.k, 1.3e19f);
  }
  SUBCASE("sums of values up to 2.8e38") {
    flip_signs(p.v, 2e37f);  // 14 keys
    tolerance_of_outputs *= 2e37;
  }
  const ism::tiled_attention_output got =
      ism::tiled_attention(m, p.queries(), p.keys(), p.values(), 0, 0, settings(p.scale));
  const ism::attention_output want = reference(m, p);
  for (std::size_t i = 0; i < want.lse.size(); ++i) {
    CAPTURE(i);
    CHECK(std::fabs(got.lse[i] - want.lse[i]) <= 1e-6 * std::max(1.0, std::fabs(want.lse[i])));
  }
  for (std::size_t i = 0; i < want.output.size(); ++i) {
    CAPTURE(i);
    CHECK(std::fabs(got.output[i] - want.output[i]) <= tolerance_of_outputs);
  }
}

TEST_CASE("tiled_attention: bfloat16 inputs the dot-product kernels cannot take exactly") {
  // Those kernels sum q.k before the scale and read subnormals as zero; such
  // inputs take the float path and still match the reference.
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(
      ism::parse_layout("user:5,assistant:4|user:3,assistant:4"));
  std::mt19937_64 rng(38000);
  problem p = random_problem(rng, ism::whole(m.size()), 2, 1, 4, 1.0f);
  SUBCASE("unscaled sums beyond float, scaled logits within it") {
    for (float& x : p.q) x = x < 0 ? -1e20f : 1e20f;
    for (float& x : p.k) x = x < 0 ? -1e20f : 1e20f;
    p.scale = 1e-30;
  }
  SUBCASE("subnormal queries under a huge scale") {
    for (float& x : p.q) x *= 2e-39f;
    for (float& x : p.k) x *= 10.0f;
    p.scale = 1e38;
  }
  const bf16_problem b(p);
  const ism::tiled_attention_output got =
      ism::tiled_attention(m, b.queries(), b.keys(), b.values(), 0, 0, settings(p.scale));
  for (float x : got.output) CHECK(std::isfinite(x));
  CHECK(compare(got, reference(m, b.rounded), b.rounded, bf16_weights_slack(b.rounded)) == "");
}

TEST_CASE("tiled_attention: a block mask in blocks far larger than the chunk") {
  const ism::interval_mask m =
      ism::make_interval_mask<ism::prefix>(ism::parse_layout("user:6,assistant:5"));
  std::mt19937_64 rng(39000);
  const problem p = random_problem(rng, ism::whole(m.size()), 2, 2, 3, 1.0f);
  const ism::block_mask huge = ism::make_block_mask(
      m, ism::whole(m.size()), ism::block_size{index_t{1} << 40, index_t{1} << 40});
  CHECK(compare(ism::tiled_attention(huge, m, p.queries(), p.keys(), p.values(), settings(p.scale)),
                reference(m, p), p) == "");
}

TEST_CASE("tiled_attention: the result does not depend on the thread count, bit for bit") {
  std::mt19937_64 rng(37000);
  const ism::layout l =
      ism::parse_layout("system:20,user:30,assistant:75,user:35,assistant:40|user:20,assistant:30");
  const index_t n = l.size();
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  const problem p = random_problem(rng, ism::whole(n), 4, 2, 20);
  const ism::block_mask blocks = ism::make_block_mask(m, ism::whole(n), ism::block_size{32, 32});
  const ism::tiled_attention_output one =
      ism::tiled_attention(blocks, m, p.queries(), p.keys(), p.values(), settings(p.scale, 1));
  CHECK(compare(one, reference(m, p), p) == "");
  for (const index_t threads : {2, 3, 8, 1000}) {
    CAPTURE(threads);
    CHECK(identical(one, ism::tiled_attention(blocks, m, p.queries(), p.keys(), p.values(),
                                              settings(p.scale, threads))));
  }
}

TEST_CASE("tiled_attention: shape and argument errors") {
  const ism::layout l = ism::layout_builder{}.user(3).assistant(3).build();
  const ism::interval_mask m = ism::make_interval_mask<ism::causal>(l);
  const std::vector<float> q6(6 * 4 * 2, 0.5f), kv6(6 * 2 * 2, 0.25f);
  const auto Q = tensor(q6, 6, 4, 2);
  const auto KV = tensor(kv6, 6, 2, 2);
  CHECK_NOTHROW(ism::tiled_attention(m, Q, KV, KV));

  SUBCASE("data size does not match the shape") {
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, tensor(q6, 6, 4, 3), KV, KV),
                         doctest::Contains("Q holds 48 values"), ism::shape_error);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, tensor(kv6, 5, 2, 2), KV),
                         doctest::Contains("K holds 24"), ism::shape_error);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, KV, tensor(kv6, 6, 2, 1)),
                         doctest::Contains("V holds 24"), ism::shape_error);
  }
  SUBCASE("zero heads, zero dim, negative tokens") {
    const std::vector<float> none;
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, tensor(none, 6, 0, 2), KV, KV),
                         doctest::Contains("heads and dim must be >= 1"), ism::shape_error);
    CHECK_THROWS_AS(ism::tiled_attention(m, Q, tensor(none, 6, 0, 2), KV), ism::shape_error);
    CHECK_THROWS_AS(ism::tiled_attention(m, Q, KV, tensor(none, 6, 2, 0)), ism::shape_error);
    CHECK_THROWS_AS(ism::tiled_attention(m, tensor(none, -1, 4, 2), KV, KV), ism::shape_error);
  }
  SUBCASE("more elements than index_t counts") {
    const ism::head_tensor<float> huge{std::span<const float>(), index_t{1} << 62, 4, 1};
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, huge, KV, KV),
                         doctest::Contains("more elements than index_t counts"), ism::shape_error);
  }
  SUBCASE("query heads not a multiple of KV heads") {
    const std::vector<float> q3(6 * 3 * 2);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, tensor(q3, 6, 3, 2), KV, KV),
                         doctest::Contains("3 heads, not a multiple of the 2 KV heads"),
                         ism::shape_error);
  }
  SUBCASE("head dims differ") {
    const std::vector<float> q3d(6 * 4 * 3);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, tensor(q3d, 6, 4, 3), KV, KV),
                         doctest::Contains("Q head dim 3 differs from K's 2"), ism::shape_error);
  }
  SUBCASE("K and V differ") {
    const std::vector<float> v5(5 * 2 * 2);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, KV, tensor(v5, 5, 2, 2)),
                         doctest::Contains("K and V shapes differ"), ism::shape_error);
  }
  SUBCASE("non-finite scale") {
    for (double s :
         {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      CAPTURE(s);
      CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, KV, KV, 0, 0, settings(s)),
                           doctest::Contains("scale must be finite"), ism::argument_error);
    }
  }
  SUBCASE("non-finite input values name the element") {
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()}) {
      CAPTURE(bad);
      std::vector<float> poisoned_q = q6, poisoned_kv = kv6;
      poisoned_q[1 * 8 + 3 * 2 + 1] = bad;   // row 1, head 3, feature 1
      poisoned_kv[5 * 4 + 1 * 2 + 0] = bad;  // row 5, head 1, feature 0
      CHECK_THROWS_WITH_AS(ism::tiled_attention(m, tensor(poisoned_q, 6, 4, 2), KV, KV),
                           doctest::Contains("Q(1, 3, 1)"), ism::argument_error);
      CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, tensor(poisoned_kv, 6, 2, 2), KV),
                           doctest::Contains("K(5, 1, 0)"), ism::argument_error);
      CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, KV, tensor(poisoned_kv, 6, 2, 2)),
                           doctest::Contains("V(5, 1, 0)"), ism::argument_error);
      const std::vector<bf16> good(q6.begin(), q6.end());
      std::vector<bf16> poisoned(good);
      poisoned[1 * 8 + 3 * 2 + 1] = bf16(bad);
      const ism::head_tensor<bf16> kv{std::span<const bf16>(good).first(24), 6, 2, 2};
      CHECK_THROWS_WITH_AS(
          ism::tiled_attention(m, ism::head_tensor<bf16>{poisoned, 6, 4, 2}, kv, kv),
          doctest::Contains("Q(1, 3, 1)"), ism::argument_error);
    }
  }
  SUBCASE("inputs too large for float") {
    const std::vector<float> q_big(6 * 4 * 2, 1e20f), k_big(6 * 2 * 2, 1e20f);
    CHECK_THROWS_WITH_AS(
        ism::tiled_attention(m, tensor(q_big, 6, 4, 2), tensor(k_big, 6, 2, 2), KV),
        doctest::Contains("attention logits can reach 1.41e+40"), ism::argument_error);
    const std::vector<float> q_ten(6 * 4 * 2, 10.0f);
    CHECK_THROWS_WITH_AS(
        ism::tiled_attention(m, tensor(q_ten, 6, 4, 2), KV, KV, 0, 0, settings(1e38)),
        doctest::Contains("attention scale times Q can reach 1e+39"), ism::argument_error);
    // A scale float cannot hold is refused even when Q is zero, where scale
    // times Q would fit: the float scale would be inf and inf * 0 NaN.
    const std::vector<float> q_zero(6 * 4 * 2, 0.0f);
    CHECK_THROWS_WITH_AS(
        ism::tiled_attention(m, tensor(q_zero, 6, 4, 2), KV, KV, 0, 0, settings(1e39)),
        doctest::Contains("attention scale can reach 1e+39"), ism::argument_error);
    const std::vector<float> v_big(6 * 2 * 2, 1e38f);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, KV, tensor(v_big, 6, 2, 2)),
                         doctest::Contains("attention sums of values can reach 6e+38"),
                         ism::argument_error);
    // Large but within range is fine.
    const std::vector<float> v_large(6 * 2 * 2, 1e37f);
    CHECK_NOTHROW(ism::tiled_attention(m, Q, KV, tensor(v_large, 6, 2, 2)));
  }
  SUBCASE("fewer than one thread") {
    for (const index_t threads : {0, -3}) {
      CAPTURE(threads);
      ism::attention_settings s;
      s.threads = threads;
      const std::string expected = "threads " + std::to_string(threads) + " must be >= 1";
      CHECK_THROWS_WITH_AS(ism::tiled_attention(m, Q, KV, KV, 0, 0, s),
                           doctest::Contains(expected.c_str()), ism::argument_error);
    }
  }
  SUBCASE("chunk outside the mask") {
    const std::vector<float> q1(1 * 4 * 2), kv1(1 * 2 * 2);
    CHECK_THROWS_AS(ism::tiled_attention(m, Q, KV, KV, 1, 0), ism::shape_error);  // queries to 7
    CHECK_THROWS_AS(ism::tiled_attention(m, Q, KV, KV, 0, 1), ism::shape_error);  // keys to 7
    CHECK_THROWS_AS(ism::tiled_attention(m, tensor(q1, 1, 4, 2), tensor(kv1, 1, 2, 2),
                                         tensor(kv1, 1, 2, 2), -1, 0),
                    ism::shape_error);
    CHECK_NOTHROW(ism::tiled_attention(m, tensor(q1, 1, 4, 2), tensor(kv1, 1, 2, 2),
                                       tensor(kv1, 1, 2, 2), 5, 5));
    const ism::predicate_mask everything{[](index_t, index_t) { return true; }};
    const ism::head_tensor<float> one{std::span<const float>(q1).first(2), 1, 1, 2};
    CHECK_THROWS_WITH_AS(ism::tiled_attention(everything, one, one, one, ism::max_index, 0),
                         doctest::Contains("past the largest index_t"), ism::shape_error);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(everything, one, one, one, 0, ism::max_index),
                         doctest::Contains("past the largest index_t"), ism::shape_error);
  }
  SUBCASE("tensors that do not fit the block mask") {
    const ism::block_mask blocks =
        ism::make_block_mask(m, ism::chunk{0, 4, 0, 6}, ism::attention_block_size);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(blocks, m, Q, KV, KV),
                         doctest::Contains("block mask covers [0, 4) x [0, 6)"), ism::shape_error);
    // A block mask of a longer mask does not fit this one.
    const ism::interval_mask longer =
        ism::make_interval_mask<ism::causal>(ism::layout_builder{}.user(4).assistant(4).build());
    const std::vector<float> q8(8 * 4 * 2), kv8(8 * 2 * 2);
    CHECK_THROWS_WITH_AS(ism::tiled_attention(ism::make_block_mask(longer), m, tensor(q8, 8, 4, 2),
                                              tensor(kv8, 8, 2, 2), tensor(kv8, 8, 2, 2)),
                         doctest::Contains("leaves the mask's 6 positions"), ism::shape_error);
  }
}

TEST_CASE("tiled_attention: a block mask built from another mask is refused") {
  // A causal block mask lists no tile above the diagonal, so with a
  // bidirectional mask it would silently drop the later keys of every row.
  const ism::layout l = ism::parse_layout("user:8,assistant:8");
  const ism::interval_mask causal = ism::make_interval_mask<ism::causal>(l);
  const ism::interval_mask bidirectional = ism::make_interval_mask<ism::bidirectional>(l);
  const ism::block_mask blocks = ism::make_block_mask(causal, ism::block_size{4, 4});
  const std::vector<float> q(16 * 2 * 4, 0.5f), kv(16 * 1 * 4, 0.25f);
  CHECK_NOTHROW(ism::tiled_attention(blocks, causal, tensor(q, 16, 2, 4), tensor(kv, 16, 1, 4),
                                     tensor(kv, 16, 1, 4)));
  CHECK_THROWS_WITH_AS(
      ism::tiled_attention(blocks, bidirectional, tensor(q, 16, 2, 4), tensor(kv, 16, 1, 4),
                           tensor(kv, 16, 1, 4)),
      "tiled_attention: the block mask of chunk [0, 16) x [0, 16) was built from another mask "
      "than the one given",
      ism::block_mask_mismatch);
}
