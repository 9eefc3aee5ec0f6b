// The in-context-learning study: linear self-attention solving in-context
// linear regression, as in Ding et al., "CausalLM is not optimal for
// in-context learning" (arXiv 2308.06912), with the layers of von Oswald et
// al. (arXiv 2212.07677) that make each layer one gradient-descent step.
//
// Each token j carries x_j and a residual u_j: y_j - w_j.x_j for an example,
// where w_j is the weight vector the token has implicitly learned so far
// (w_j = 0 at the start, so u_j = y_j), and -w_q.x_q for the query, whose
// label is hidden (u_q = 0 at the start). One layer of linear attention with
// keys and queries x and values u updates every token at once:
//     u_j <- u_j - eta * sum over examples i in S_j of u_i (x_i . x_j),
// which is w_j <- w_j + eta * sum_{i in S_j} (y_i - w_i.x_i) x_i: one
// gradient step on the least-squares loss of the examples S_j that j
// aggregates, with the residuals each example holds. The mask decides S_j:
// the examples i < n that token j sees. When every example sees every
// example (prefix, or ism with all examples in one context segment), they
// share one w and each layer is a full-batch step: the query's error falls
// linearly to the least-squares optimum. Under causal attention example j
// sees only i <= j, each example ends up fitting itself, and the query's sum
// of updates stops short of the optimum. The query sees every example in
// every paradigm and never itself.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ism/any_paradigm.hpp"
#include "ism/detail/check_positive.hpp"
#include "ism/layout.hpp"

namespace ism {
inline namespace v0 {

struct icl_config {
  index_t features = 16;  // x ~ U(-1, 1)^features, w ~ N(0, I), y = w.x
  index_t examples = 40;
  index_t layers = 50;
  double step = 1.6;  // eta = step / examples
  index_t sequences = 64;
  std::uint64_t seed = 0;
};

struct icl_curve {
  std::string paradigm;
  index_t segments = 1;     // context segments the examples are grouped in
  std::vector<double> mse;  // (layers,): the query's mean squared error after each layer
};

// Throws argument_error naming the setting for sizes below 1 or a segment
// count outside [1, examples].
inline void check_icl(const icl_config& c, index_t segments) {
  detail::check_positive(c.features, "icl", "the feature count");
  detail::check_positive(c.examples, "icl", "the example count");
  detail::check_positive(c.layers, "icl", "the layer count");
  detail::check_positive(c.sequences, "icl", "the sequence count");
  if (!std::isfinite(c.step)) throw argument_error("icl: the step must be finite");
  if (segments < 1 || segments > c.examples)
    throw argument_error("icl: " + std::to_string(segments) + " context segments for " +
                         std::to_string(c.examples) + " examples; it must lie in [1, " +
                         std::to_string(c.examples) + "]");
}

// The examples in `segments` user segments of near-equal length (the first
// ones one longer), then the query as a one-token answer.
inline layout icl_layout(index_t examples, index_t segments) {
  layout_builder b;
  for (index_t s = 0; s < segments; ++s)
    b.user(examples / segments + (s < examples % segments ? 1 : 0));
  return b.assistant(1).build();
}

// The query's mean squared error after each layer, over c.sequences fresh
// regression problems, with the examples grouped in `segments` context
// segments (which only paradigms that tell segments apart notice).
inline icl_curve icl_study(const icl_config& c, const any_paradigm& paradigm, index_t segments = 1) {
  check_icl(c, segments);
  const index_t n = c.examples;
  const index_t d = c.features;
  const interval_mask m = paradigm.intervals(icl_layout(n, segments));
  // Each token's examples, ascending: tokens with equal sets add in the same
  // order, so equal masks give equal bits.
  std::vector<std::vector<index_t>> seen(static_cast<std::size_t>(n + 1));
  for (index_t j = 0; j <= n; ++j)
    for (index_t i = 0; i < n; ++i)
      if (m.visible(j, i)) seen[static_cast<std::size_t>(j)].push_back(i);

  const double eta = c.step / static_cast<double>(n);
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  icl_curve curve{std::string(paradigm.name()), segments,
                  std::vector<double>(static_cast<std::size_t>(c.layers), 0.0)};
  std::vector<double> x(static_cast<std::size_t>((n + 1) * d));  // (n + 1, d): examples, query
  std::vector<double> gram(static_cast<std::size_t>((n + 1) * n));  // (n + 1, n): x_j . x_i
  std::vector<double> u(static_cast<std::size_t>(n + 1));
  std::vector<double> next(u.size());
  for (index_t s = 0; s < c.sequences; ++s) {
    std::vector<double> w(static_cast<std::size_t>(d));
    for (double& e : w) e = normal(rng);
    for (double& e : x) e = uniform(rng);
    double query_y = 0;
    for (index_t j = 0; j <= n; ++j) {
      double y = 0;
      for (index_t f = 0; f < d; ++f) y += w[f] * x[j * d + f];
      if (j < n)
        u[j] = y;
      else
        query_y = y;
      for (index_t i = 0; i < n; ++i) {
        double dot = 0;
        for (index_t f = 0; f < d; ++f) dot += x[j * d + f] * x[i * d + f];
        gram[j * n + i] = dot;
      }
    }
    u[n] = 0;
    for (index_t l = 0; l < c.layers; ++l) {
      for (index_t j = 0; j <= n; ++j) {
        double update = 0;
        for (const index_t i : seen[static_cast<std::size_t>(j)]) update += u[i] * gram[j * n + i];
        next[j] = u[j] - eta * update;
      }
      u.swap(next);
      const double error = -u[n] - query_y;  // the prediction is w_q.x_q = -u_q
      curve.mse[static_cast<std::size_t>(l)] += error * error / static_cast<double>(c.sequences);
    }
  }
  return curve;
}

}  // namespace v0
}  // namespace ism
