// The exact reference attention (docs/semantics.md#numerics-of-attention): O = softmax(scale Q K^T + M) V
// per head, accumulated in double precision. It is the oracle every faster path is
// tested against, written for clarity rather than speed.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ism/attention_output.hpp"
#include "ism/chunk.hpp"
#include "ism/head_tensor.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

// Shape, size and values: an oracle must not turn a NaN into an answer.
// Returns the largest |value|, for check_attention_range.
template <class T>
double check_head_tensor(const head_tensor<T>& t, const char* name) {
  const std::string shape = "(" + std::to_string(t.tokens) + ", " + std::to_string(t.heads) + ", " +
                            std::to_string(t.dim) + ")";
  if (t.tokens < 0 || t.heads < 1 || t.dim < 1)
    throw shape_error(std::string(name) + " has shape " + shape +
                      "; heads and dim must be >= 1 and tokens >= 0");
  if (t.heads > max_index / t.dim || (t.tokens > 0 && t.heads * t.dim > max_index / t.tokens))
    throw shape_error(std::string(name) + " has shape " + shape +
                      ", more elements than index_t counts");
  const index_t expected = t.tokens * t.heads * t.dim;
  if (static_cast<index_t>(t.data.size()) != expected)
    throw shape_error(std::string(name) + " holds " + std::to_string(t.data.size()) +
                      " values but its shape " + shape + " needs " + std::to_string(expected));
  double largest = 0.0;
  for (std::size_t i = 0; i < t.data.size(); ++i) {
    const double x = static_cast<double>(t.data[i]);
    if (!std::isfinite(x)) {
      const auto at = static_cast<index_t>(i);
      throw argument_error(std::string(name) + "(" + std::to_string(at / (t.heads * t.dim)) + ", " +
                           std::to_string(at / t.dim % t.heads) + ", " +
                           std::to_string(at % t.dim) + ") is " + std::to_string(x) +
                           ", not finite");
    }
    largest = std::max(largest, std::fabs(x));
  }
  return largest;
}

// What Q, K and V must agree on, each already checked alone.
template <class T>
void check_attention_shapes(const head_tensor<T>& q, const head_tensor<T>& k,
                            const head_tensor<T>& v) {
  if (k.tokens != v.tokens || k.heads != v.heads || k.dim != v.dim)
    throw shape_error("K and V shapes differ");
  if (q.dim != k.dim)
    throw shape_error("Q head dim " + std::to_string(q.dim) + " differs from K's " +
                      std::to_string(k.dim));
  if (q.heads % k.heads != 0)
    throw shape_error("Q has " + std::to_string(q.heads) + " heads, not a multiple of the " +
                      std::to_string(k.heads) + " KV heads");
}

// The scale, 1 / sqrt(dim) by default; throws argument_error when not finite.
inline double attention_scale(std::optional<double> scale, index_t dim) {
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(dim)));
  if (!std::isfinite(s)) throw argument_error("attention scale must be finite");
  return s;
}

// The largest |value| of Q, K and V.
struct input_magnitudes {
  double q;
  double k;
  double v;
};

// Throws argument_error, naming the bound, when an attention computed in
// Working, with Q scaled before it meets K, could overflow Working on inputs
// of these magnitudes: the scale, the scaled queries, the logits (every
// partial sum of a scaled q.k is at most |scale| max|Q| max|K| dim) or the
// unnormalized output (a sum of up to `keys` weights <= 1 times values, at
// most max|V| keys). Within these bounds nothing is inf, so no output is NaN
// and no row that sees a key gets a log-sum-exp of -inf.
template <class Working>
requires std::same_as<Working, float> || std::same_as<Working, double>
void check_attention_range(double scale, const input_magnitudes& largest, index_t dim,
                           index_t keys) {
  // long double holds double's bounds where it is wider than double (x86,
  // 64-bit Linux); elsewhere a bound past double is inf, and still refused.
  using wide = long double;
  constexpr const char* working = std::same_as<Working, float> ? "float" : "double";
  const auto refuse_beyond = [&](const char* what, wide bound, index_t terms) {
    // Rounding can lift a computed sum of `terms` products above its exact
    // bound by about `terms` epsilons, relatively; the margin is twice that.
    constexpr wide epsilon = std::numeric_limits<Working>::epsilon();
    if (bound * (1 + 2 * static_cast<wide>(terms) * epsilon) <= std::numeric_limits<Working>::max())
      return;
    char shown[32];
    std::snprintf(shown, sizeof shown, "%.3Lg", bound);
    throw argument_error(std::string("attention ") + what + " can reach " + shown + ", beyond " +
                         working + "'s range");
  };
  const wide scaled_queries = std::fabs(wide{scale}) * largest.q;
  refuse_beyond("scale", std::fabs(wide{scale}), 0);
  refuse_beyond("scale times Q", scaled_queries, 1);
  refuse_beyond("logits", scaled_queries * largest.k * static_cast<wide>(dim), dim);
  refuse_beyond("sums of values", wide{largest.v} * static_cast<wide>(keys), keys);
}

// Queries from q0 and keys from k0 must stay within index_t. Negative
// offsets are check_chunk's to report; only positive ones can overflow.
template <class T>
void check_attention_positions(const head_tensor<T>& q, const head_tensor<T>& k, index_t q0,
                               index_t k0) {
  if ((q0 > 0 && q.tokens > max_index - q0) || (k0 > 0 && k.tokens > max_index - k0))
    throw shape_error("queries from position " + std::to_string(q0) + " or keys from " +
                      std::to_string(k0) + " run past the largest index_t");
}

}  // namespace detail

// Query token r is the absolute position q0 + r and key token c the position k0 + c,
// so a chunk of queries against a KV cache is {q0, q0 + q.tokens, k0, k0 + k.tokens}.
// Query head h reads KV head h / (q.heads / k.heads) (grouped-query attention).
// scale defaults to 1 / sqrt(dim). A row that sees no key outputs zeros and
// log-sum-exp -inf. Throws shape_error for inconsistent shapes or positions and
// argument_error for a non-finite scale or input value, or for inputs whose
// logits or sums of values could overflow double.
template <class T, mask M>
attention_output reference_attention(const M& m, head_tensor<T> q, head_tensor<T> k,
                                     head_tensor<T> v, index_t q0 = 0, index_t k0 = 0,
                                     std::optional<double> scale = std::nullopt) {
  const double q_largest = detail::check_head_tensor(q, "Q");
  const double k_largest = detail::check_head_tensor(k, "K");
  const double v_largest = detail::check_head_tensor(v, "V");
  detail::check_attention_shapes(q, k, v);
  const double s = detail::attention_scale(scale, q.dim);
  detail::check_attention_range<double>(s, {q_largest, k_largest, v_largest}, q.dim, k.tokens);
  detail::check_attention_positions(q, k, q0, k0);
  check_chunk(m, chunk{q0, q0 + q.tokens, k0, k0 + k.tokens});

  attention_output result{q.tokens, q.heads, q.dim,
                          std::vector<double>(static_cast<std::size_t>(q.tokens * q.heads * q.dim)),
                          std::vector<double>(static_cast<std::size_t>(q.tokens * q.heads))};
  const index_t group = q.heads / k.heads;
  std::vector<double> logits(static_cast<std::size_t>(k.tokens));     // (Lk,)
  std::vector<double> scaled_query(static_cast<std::size_t>(q.dim));  // (dim,)
  for (index_t r = 0; r < q.tokens; ++r) {
    for (index_t h = 0; h < q.heads; ++h) {
      const index_t kv_head = h / group;
      // The query is scaled before it meets the keys, the order whose
      // intermediates check_attention_range bounds.
      for (index_t d = 0; d < q.dim; ++d)
        scaled_query[static_cast<std::size_t>(d)] = s * static_cast<double>(q(r, h, d));
      double max_logit = -std::numeric_limits<double>::infinity();
      for (index_t c = 0; c < k.tokens; ++c) {
        if (!m.visible(q0 + r, k0 + c)) continue;
        double logit = 0.0;
        for (index_t d = 0; d < q.dim; ++d)
          logit +=
              scaled_query[static_cast<std::size_t>(d)] * static_cast<double>(k(c, kv_head, d));
        logits[c] = logit;
        max_logit = std::max(max_logit, logit);
      }
      double* out = result.output.data() + (r * q.heads + h) * q.dim;  // (dim,)
      if (max_logit == -std::numeric_limits<double>::infinity()) {
        result.lse[static_cast<std::size_t>(r * q.heads + h)] = max_logit;
        continue;  // sees nothing: zeros, and no 0/0
      }
      double denominator = 0.0;
      for (index_t c = 0; c < k.tokens; ++c) {
        if (!m.visible(q0 + r, k0 + c)) continue;
        const double p = std::exp(logits[c] - max_logit);
        denominator += p;
        for (index_t d = 0; d < q.dim; ++d) out[d] += p * static_cast<double>(v(c, kv_head, d));
      }
      for (index_t d = 0; d < q.dim; ++d) out[d] /= denominator;
      result.lse[static_cast<std::size_t>(r * q.heads + h)] = max_logit + std::log(denominator);
    }
  }
  return result;
}

}  // namespace v0
}  // namespace ism
