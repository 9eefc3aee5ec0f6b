// The reference attention (docs/semantics.md#numerics-of-attention) against an independent long-double
// softmax: random chunks, grouped KV heads, custom scales, rows that see nothing,
// large logits, and every shape and argument error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ism/attention_output.hpp>
#include <ism/composition.hpp>
#include <ism/head_tensor.hpp>
#include <ism/paradigms.hpp>
#include <ism/reference_attention.hpp>
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

constexpr double relative_tolerance = 1e-12;

std::vector<double> random_values(std::mt19937_64& rng, index_t count, double spread = 1.0) {
  std::normal_distribution<double> normal(0.0, spread);
  std::vector<double> out(static_cast<std::size_t>(count));
  for (double& x : out) x = normal(rng);
  return out;
}

bool close(double got, long double expected) {
  const long double scale = std::max(1.0L, std::fabs(expected));
  return std::fabs(static_cast<long double>(got) - expected) <= relative_tolerance * scale;
}

// First disagreement between the library's result and the oracle's, "" when none.
std::string compare(const ism::attention_output& got, const oracle::attention& want, index_t lq,
                    index_t heads, index_t dim) {
  if (got.tokens != lq || got.heads != heads || got.dim != dim) return "shape";
  if (got.output.size() != want.output.size() || got.lse.size() != want.lse.size()) return "sizes";
  for (index_t r = 0; r < lq; ++r)
    for (index_t h = 0; h < heads; ++h) {
      const long double lse = want.lse[static_cast<std::size_t>(r * heads + h)];
      const double got_lse = got.log_sum_exp(r, h);
      const bool lse_ok =
          std::isinf(lse) ? (std::isinf(got_lse) && got_lse < 0) : close(got_lse, lse);
      if (!lse_ok)
        return "lse of row " + std::to_string(r) + " head " + std::to_string(h) + ": " +
               std::to_string(got_lse) + " vs " + std::to_string(static_cast<double>(lse));
      for (index_t d = 0; d < dim; ++d) {
        const double o = got.out(r, h, d);
        if (std::isnan(o) ||
            !close(o, want.output[static_cast<std::size_t>((r * heads + h) * dim + d)]))
          return "output (" + std::to_string(r) + ", " + std::to_string(h) + ", " +
                 std::to_string(d) + ") = " + std::to_string(o);
      }
    }
  return "";
}

template <class T>
ism::head_tensor<T> tensor(const std::vector<T>& data, index_t tokens, index_t heads, index_t dim) {
  return {std::span<const T>(data), tokens, heads, dim};
}

}  // namespace

TEST_CASE("reference_attention: random chunks and grouped KV heads equal the oracle") {
  struct heads_case {
    index_t heads;
    index_t kv_heads;
  };
  for (const heads_case hc :
       {heads_case{1, 1}, heads_case{4, 4}, heads_case{4, 2}, heads_case{4, 1}, heads_case{6, 3}}) {
    CAPTURE(hc.heads);
    CAPTURE(hc.kv_heads);
    random_layouts::for_random_layouts(
        15000, 250, [&](std::mt19937_64& rng, const oracle::declared_layout& d) {
          const ism::layout l(d);
          const oracle::row o = oracle::describe(d);
          const index_t n = o.size();
          random_layouts::for_each_paradigm(
              [&](auto policy, std::string_view name, const ism::any_paradigm&) {
                CAPTURE(name);
                const ism::interval_mask m = ism::make_interval_mask(l, policy);
                const oracle::mask om = oracle::mask_of(name, o);
                const ism::chunk c = random_layouts::random_chunk(rng, n);
                const index_t dim = random_layouts::uniform(rng, 1, 8);
                const index_t lq = c.rows(), lk = c.cols();
                CAPTURE(ism::to_string(c));
                CAPTURE(dim);
                const auto q = random_values(rng, lq * hc.heads * dim);
                const auto k = random_values(rng, lk * hc.kv_heads * dim);
                const auto v = random_values(rng, lk * hc.kv_heads * dim);
                const bool custom = random_layouts::chance(rng, 0.5);
                const double scale = custom ? std::uniform_real_distribution<double>(-2.0, 3.0)(rng)
                                            : 1.0 / std::sqrt(static_cast<double>(dim));
                CAPTURE(scale);
                const ism::attention_output got = ism::reference_attention(
                    m, tensor(q, lq, hc.heads, dim), tensor(k, lk, hc.kv_heads, dim),
                    tensor(v, lk, hc.kv_heads, dim), c.q0, c.k0,
                    custom ? std::optional<double>(scale) : std::nullopt);
                const oracle::attention want =
                    oracle::attend([&](index_t qq, index_t kk) { return om.visible(qq, kk); }, q, k,
                                   v, lq, lk, hc.heads, hc.kv_heads, dim, c.q0, c.k0, scale);
                CHECK(compare(got, want, lq, hc.heads, dim) == "");
              });
        });
  }
}

TEST_CASE("reference_attention: a composed mask and float inputs") {
  std::mt19937_64 rng(16000);
  const ism::layout l =
      ism::layout_builder{}.system(3).user(4).assistant(5).user(2).assistant(3).build();
  const oracle::row o = oracle::describe(l);
  const auto m =
      ism::and_masks(ism::make_interval_mask<ism::intermittent>(l), ism::sliding_window(3));
  const index_t n = l.size(), heads = 2, dim = 5;
  const auto qd = random_values(rng, n * heads * dim);
  const auto kd = random_values(rng, n * dim);
  const auto vd = random_values(rng, n * dim);
  const std::vector<float> qf(qd.begin(), qd.end()), kf(kd.begin(), kd.end()),
      vf(vd.begin(), vd.end());
  const std::vector<double> qr(qf.begin(), qf.end()), kr(kf.begin(), kf.end()),
      vr(vf.begin(), vf.end());
  const ism::attention_output got = ism::reference_attention(
      m, tensor(qf, n, heads, dim), tensor(kf, n, 1, dim), tensor(vf, n, 1, dim));
  const oracle::attention want = oracle::attend(
      [&](index_t q, index_t k) { return oracle::visible("ism", o, q, k) && q - k < 3; }, qr, kr,
      vr, n, n, heads, 1, dim, 0, 0, 1.0L / std::sqrt(static_cast<long double>(dim)));
  CHECK(compare(got, want, n, heads, dim) == "");
}

TEST_CASE("reference_attention: a row that sees nothing gives zeros and lse -inf") {
  // ISM: the user tokens 0..1 see only [0, 1], so against keys [2, 4) they see nothing.
  const ism::layout l = ism::layout_builder{}.user(2).assistant(2).build();
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  const std::vector<double> q{1.0, -2.0, 0.5, 3.0, 2.0, 1.0};  // (3, 1, 2): rows 1, 2, 3
  const std::vector<double> kv{0.3, 0.7, -1.0, 2.0};           // (2, 1, 2): keys 2, 3
  const ism::attention_output out = ism::reference_attention(
      m, tensor(q, 3, 1, 2), tensor(kv, 2, 1, 2), tensor(kv, 2, 1, 2), 1, 2);
  CHECK(out.out(0, 0, 0) == 0.0);
  CHECK(out.out(0, 0, 1) == 0.0);
  CHECK(std::isinf(out.log_sum_exp(0, 0)));
  CHECK(out.log_sum_exp(0, 0) < 0);
  // Row 2 (an answer token) sees key 2 only: its output is exactly V[key 2].
  CHECK(out.out(1, 0, 0) == doctest::Approx(0.3).epsilon(1e-15));
  CHECK(out.out(1, 0, 1) == doctest::Approx(0.7).epsilon(1e-15));
  CHECK(std::isfinite(out.log_sum_exp(1, 0)));
  for (double x : out.output) CHECK_FALSE(std::isnan(x));
  SUBCASE("no keys at all") {
    const std::vector<double> none;
    const ism::attention_output empty = ism::reference_attention(
        m, tensor(q, 3, 1, 2), tensor(none, 0, 1, 2), tensor(none, 0, 1, 2), 1, 4);
    for (double x : empty.output) CHECK(x == 0.0);
    for (double x : empty.lse) CHECK((std::isinf(x) && x < 0));
  }
  SUBCASE("no queries") {
    const std::vector<double> none;
    const ism::attention_output empty = ism::reference_attention(
        m, tensor(none, 0, 1, 2), tensor(kv, 2, 1, 2), tensor(kv, 2, 1, 2), 4, 2);
    CHECK(empty.output.empty());
    CHECK(empty.lse.empty());
  }
}

TEST_CASE("reference_attention: logits of magnitude 1e4 stay finite and exact") {
  std::mt19937_64 rng(17000);
  const ism::layout l =
      ism::layout_builder{}.user(4).assistant(4).next_document().user(3).assistant(3).build();
  const oracle::row o = oracle::describe(l);
  const ism::interval_mask m = ism::make_interval_mask<ism::prefix>(l);
  const index_t n = l.size(), heads = 4, kv_heads = 2, dim = 3;
  // |q . k| around 1e4 with unit scale; the logits of one row differ by thousands.
  const auto q = random_values(rng, n * heads * dim, 60.0);
  const auto k = random_values(rng, n * kv_heads * dim, 60.0);
  const auto v = random_values(rng, n * kv_heads * dim);
  const ism::attention_output got =
      ism::reference_attention(m, tensor(q, n, heads, dim), tensor(k, n, kv_heads, dim),
                               tensor(v, n, kv_heads, dim), 0, 0, 1.0);
  double largest = 0;
  for (double x : got.lse) {
    CHECK(std::isfinite(x));
    largest = std::max(largest, std::fabs(x));
  }
  CHECK(largest > 1e3);
  for (double x : got.output) CHECK(std::isfinite(x));
  const oracle::attention want =
      oracle::attend([&](index_t a, index_t b) { return oracle::visible("prefix", o, a, b); }, q, k,
                     v, n, n, heads, kv_heads, dim, 0, 0, 1.0L);
  CHECK(compare(got, want, n, heads, dim) == "");
}

TEST_CASE("reference_attention: shape and argument errors") {
  const ism::layout l = ism::layout_builder{}.user(3).assistant(3).build();
  const ism::interval_mask m = ism::make_interval_mask<ism::causal>(l);
  const std::vector<double> q6(6 * 4 * 2, 0.5), kv6(6 * 2 * 2, 0.25);
  const auto Q = tensor(q6, 6, 4, 2);
  const auto KV = tensor(kv6, 6, 2, 2);
  CHECK_NOTHROW(ism::reference_attention(m, Q, KV, KV));

  SUBCASE("data size does not match the shape") {
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(q6, 6, 4, 3), KV, KV), ism::shape_error);
    CHECK_THROWS_WITH(ism::reference_attention(m, tensor(q6, 6, 4, 3), KV, KV),
                      doctest::Contains("Q holds 48 values"));
    CHECK_THROWS_WITH(ism::reference_attention(m, Q, tensor(kv6, 5, 2, 2), KV),
                      doctest::Contains("K holds 24"));
    CHECK_THROWS_WITH(ism::reference_attention(m, Q, KV, tensor(kv6, 6, 2, 1)),
                      doctest::Contains("V holds 24"));
  }
  SUBCASE("zero heads, zero dim, negative tokens") {
    const std::vector<double> none;
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(none, 6, 0, 2), KV, KV), ism::shape_error);
    CHECK_THROWS_AS(ism::reference_attention(m, Q, tensor(none, 6, 0, 2), KV), ism::shape_error);
    CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, tensor(none, 6, 2, 0)), ism::shape_error);
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(none, -1, 4, 2), KV, KV), ism::shape_error);
    CHECK_THROWS_WITH(ism::reference_attention(m, tensor(none, 6, 0, 2), KV, KV),
                      doctest::Contains("heads and dim must be >= 1"));
  }
  SUBCASE("query heads not a multiple of KV heads") {
    const std::vector<double> q3(6 * 3 * 2);
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(q3, 6, 3, 2), KV, KV), ism::shape_error);
    CHECK_THROWS_WITH(ism::reference_attention(m, tensor(q3, 6, 3, 2), KV, KV),
                      doctest::Contains("3 heads, not a multiple of the 2 KV heads"));
    // Fewer query heads than KV heads is not a multiple either.
    const std::vector<double> q1(6 * 1 * 2);
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(q1, 6, 1, 2), KV, KV), ism::shape_error);
  }
  SUBCASE("head dims differ") {
    const std::vector<double> q3d(6 * 4 * 3);
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(q3d, 6, 4, 3), KV, KV), ism::shape_error);
    CHECK_THROWS_WITH(ism::reference_attention(m, tensor(q3d, 6, 4, 3), KV, KV),
                      doctest::Contains("Q head dim 3 differs from K's 2"));
  }
  SUBCASE("K and V differ") {
    const std::vector<double> v5(5 * 2 * 2), v1(6 * 1 * 2), v4(6 * 2 * 4 / 2 * 2);
    CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, tensor(v5, 5, 2, 2)), ism::shape_error);
    CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, tensor(v1, 6, 1, 2)), ism::shape_error);
    CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, tensor(v4, 6, 2, 4)), ism::shape_error);
    CHECK_THROWS_WITH(ism::reference_attention(m, Q, KV, tensor(v5, 5, 2, 2)),
                      doctest::Contains("K and V shapes differ"));
  }
  SUBCASE("non-finite scale") {
    for (double s :
         {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::quiet_NaN()}) {
      CAPTURE(s);
      CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, KV, 0, 0, s), ism::argument_error);
    }
    CHECK_THROWS_WITH(ism::reference_attention(m, Q, KV, KV, 0, 0, std::nan("")),
                      doctest::Contains("scale must be finite"));
  }
  SUBCASE("chunk outside the mask") {
    const std::vector<double> q1(1 * 4 * 2), kv1(1 * 2 * 2);
    CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, KV, 1, 0),
                    ism::shape_error);  // queries to 7
    CHECK_THROWS_AS(ism::reference_attention(m, Q, KV, KV, 0, 1), ism::shape_error);  // keys to 7
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(q1, 1, 4, 2), tensor(kv1, 1, 2, 2),
                                             tensor(kv1, 1, 2, 2), -1, 0),
                    ism::shape_error);
    CHECK_THROWS_AS(ism::reference_attention(m, tensor(q1, 1, 4, 2), tensor(kv1, 1, 2, 2),
                                             tensor(kv1, 1, 2, 2), 0, -1),
                    ism::shape_error);
    CHECK_NOTHROW(ism::reference_attention(m, tensor(q1, 1, 4, 2), tensor(kv1, 1, 2, 2),
                                           tensor(kv1, 1, 2, 2), 5, 5));
  }
}

TEST_CASE("reference_attention: shapes and positions that overflow index_t are shape_errors") {
  const ism::predicate_mask everything{[](index_t, index_t) { return true; }};
  const std::vector<float> one(4, 0.5f);
  const ism::head_tensor<float> kv{one, 1, 1, 4};
  // (2^62, 4, 1) wraps to 0 elements when multiplied without a check.
  const ism::head_tensor<float> huge_q{std::span<const float>(), index_t{1} << 62, 4, 1};
  CHECK_THROWS_WITH_AS(ism::reference_attention(everything, huge_q, kv, kv),
                       doctest::Contains("more elements than index_t counts"), ism::shape_error);
  const ism::head_tensor<float> q{one, 1, 1, 4};
  CHECK_THROWS_WITH_AS(ism::reference_attention(everything, q, kv, kv, ism::max_index, 0),
                       doctest::Contains("past the largest index_t"), ism::shape_error);
  CHECK_THROWS_WITH_AS(ism::reference_attention(everything, q, kv, kv, 0, ism::max_index),
                       doctest::Contains("past the largest index_t"), ism::shape_error);
}

TEST_CASE("reference_attention: a non-finite input value is an argument_error naming it") {
  const ism::predicate_mask everything{[](index_t, index_t) { return true; }};
  const std::vector<float> ok(2 * 2 * 3, 0.25f);
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity()}) {
    CAPTURE(bad);
    std::vector<float> poisoned = ok;
    poisoned[1 * 6 + 1 * 3 + 2] = bad;  // row 1, head 1, feature 2
    const ism::head_tensor<float> good{ok, 2, 2, 3};
    const ism::head_tensor<float> with_bad{poisoned, 2, 2, 3};
    CHECK_THROWS_WITH_AS(ism::reference_attention(everything, with_bad, good, good),
                         doctest::Contains("Q(1, 1, 2)"), ism::argument_error);
    CHECK_THROWS_WITH_AS(ism::reference_attention(everything, good, with_bad, good),
                         doctest::Contains("K(1, 1, 2)"), ism::argument_error);
    CHECK_THROWS_WITH_AS(ism::reference_attention(everything, good, good, with_bad),
                         doctest::Contains("V(1, 1, 2)"), ism::argument_error);
  }
}

TEST_CASE("reference_attention: inputs that could overflow double are argument_errors") {
  // Unchecked, Q = K = 1e200 made the logits inf and the output NaN (inf - inf),
  // and K = -1e200 made them -inf: zeros and log-sum-exp -inf, as if the rows
  // saw no key.
  const ism::layout l = ism::layout_builder{}.user(3).assistant(3).build();
  const ism::interval_mask m = ism::make_interval_mask<ism::causal>(l);
  const std::vector<double> huge(6 * 2, 1e200), minus_huge(6 * 2, -1e200), ones(6 * 2, 1.0);
  const auto Huge = tensor(huge, 6, 1, 2);
  const auto MinusHuge = tensor(minus_huge, 6, 1, 2);
  const auto Ones = tensor(ones, 6, 1, 2);
  // |scale| max|Q| max|K| dim = 2^-1/2 1e200 1e200 2.
  CHECK_THROWS_WITH_AS(ism::reference_attention(m, Huge, Huge, Ones),
                       doctest::Contains("attention logits can reach 1.41e+400, beyond double's"),
                       ism::argument_error);
  CHECK_THROWS_WITH_AS(ism::reference_attention(m, Huge, MinusHuge, Ones),
                       doctest::Contains("attention logits can reach 1.41e+400, beyond double's"),
                       ism::argument_error);
  const std::vector<double> large(6 * 2, 1e10), tiny(6 * 2, 1e-300);
  CHECK_THROWS_WITH_AS(
      ism::reference_attention(m, tensor(large, 6, 1, 2), tensor(tiny, 6, 1, 2), Ones, 0, 0, 1e300),
      doctest::Contains("attention scale times Q can reach 1e+310, beyond double's range"),
      ism::argument_error);
  const std::vector<double> v_huge(6 * 2, 1e308);
  CHECK_THROWS_WITH_AS(
      ism::reference_attention(m, Ones, Ones, tensor(v_huge, 6, 1, 2)),
      doctest::Contains("attention sums of values can reach 6e+308, beyond double's"),
      ism::argument_error);
}

TEST_CASE("reference_attention: inputs just inside double's range equal the oracle") {
  std::mt19937_64 rng(18000);
  const ism::layout l =
      ism::layout_builder{}.user(4).assistant(4).next_document().user(3).assistant(3).build();
  const oracle::row o = oracle::describe(l);
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  const index_t n = l.size(), heads = 2, kv_heads = 1, dim = 2;
  const auto visible = [&](index_t a, index_t b) { return oracle::visible("ism", o, a, b); };
  // Values of magnitude `size` with random signs.
  const auto signed_values = [&](index_t count, double size) {
    std::vector<double> out(static_cast<std::size_t>(count));
    for (double& x : out) x = random_layouts::chance(rng, 0.5) ? size : -size;
    return out;
  };
  SUBCASE("logits up to 1.62e308") {
    // Logits are +-2 (9e153)^2 or 0, so a row's logits can differ by more
    // than double holds; the far ones get weight exactly zero.
    const auto q = signed_values(n * heads * dim, 9e153);
    const auto k = signed_values(n * kv_heads * dim, 9e153);
    const auto v = random_values(rng, n * kv_heads * dim);
    const ism::attention_output got =
        ism::reference_attention(m, tensor(q, n, heads, dim), tensor(k, n, kv_heads, dim),
                                 tensor(v, n, kv_heads, dim), 0, 0, 1.0);
    CHECK(*std::max_element(got.lse.begin(), got.lse.end()) > 1.6e308);
    const oracle::attention want =
        oracle::attend(visible, q, k, v, n, n, heads, kv_heads, dim, 0, 0, 1.0L);
    CHECK(compare(got, want, n, heads, dim) == "");
    // 1e154 takes the logits to 2e308, past double's largest value.
    const auto q_past = signed_values(n * heads * dim, 1e154);
    const auto k_past = signed_values(n * kv_heads * dim, 1e154);
    CHECK_THROWS_WITH_AS(
        ism::reference_attention(m, tensor(q_past, n, heads, dim), tensor(k_past, n, kv_heads, dim),
                                 tensor(v, n, kv_heads, dim), 0, 0, 1.0),
        doctest::Contains("attention logits can reach 2e+308"), ism::argument_error);
  }
  SUBCASE("sums of values up to 1.4e308") {
    const auto q = random_values(rng, n * heads * dim);
    const auto k = random_values(rng, n * kv_heads * dim);
    const auto v = signed_values(n * kv_heads * dim, 1e307);  // 14 keys
    const ism::attention_output got = ism::reference_attention(
        m, tensor(q, n, heads, dim), tensor(k, n, kv_heads, dim), tensor(v, n, kv_heads, dim));
    const oracle::attention want =
        oracle::attend(visible, q, k, v, n, n, heads, kv_heads, dim, 0, 0,
                       1.0L / std::sqrt(static_cast<long double>(dim)));
    CHECK(compare(got, want, n, heads, dim) == "");
    const auto v_past = signed_values(n * kv_heads * dim, 1.3e307);
    CHECK_THROWS_WITH_AS(
        ism::reference_attention(m, tensor(q, n, heads, dim), tensor(k, n, kv_heads, dim),
                                 tensor(v_past, n, kv_heads, dim)),
        doctest::Contains("attention sums of values can reach 1.82e+308"), ism::argument_error);
  }
}
