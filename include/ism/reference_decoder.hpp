// A small decoder-only transformer with seeded random weights: a test and
// benchmark vehicle for ism's masks, attention and KV cache, not a model
// runtime. It has what makes a paradigm's mask matter end to end (token
// embedding plus sinusoidal positions, L pre-norm layers of grouped-query
// attention and an MLP, a final norm) and nothing a study of masks does not
// need: no trained weights, no output head, no sampling. Every attention goes
// through tiled_attention over a kv_cache, under whatever mask the caller
// passes, so one forward over a whole sequence and an incremental run that
// feeds it piece by piece compute the same hidden states when the mask lets
// the cache be reused (docs/semantics.md#reusable-kv-prefix).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ism/detail/check_positive.hpp"
#include "ism/detail/eigen.hpp"
#include "ism/kv_cache.hpp"

namespace ism {
inline namespace v0 {

using token_id = std::int32_t;

struct decoder_config {
  index_t vocabulary = 512;
  index_t d_model = 256;
  index_t layers = 4;
  index_t heads = 4;
  index_t kv_heads = 2;
  index_t mlp_hidden = 1024;  // 4 d_model, the usual ratio
  std::uint64_t seed = 0;
  index_t threads = 1;  // of the attention; the matrix products run on one
};

// (tokens, d_model), one token a row.
using hidden_states = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class reference_decoder {
 public:
  // Throws argument_error naming the setting for a size below 1, a d_model
  // that the heads do not divide or heads that the KV heads do not divide.
  explicit reference_decoder(const decoder_config& config) : config_(config) {
    detail::check_positive(config.vocabulary, "reference_decoder", "vocabulary");
    detail::check_positive(config.d_model, "reference_decoder", "d_model");
    detail::check_positive(config.layers, "reference_decoder", "layers");
    detail::check_positive(config.heads, "reference_decoder", "heads");
    detail::check_positive(config.kv_heads, "reference_decoder", "kv_heads");
    detail::check_positive(config.mlp_hidden, "reference_decoder", "mlp_hidden");
    detail::check_positive(config.threads, "reference_decoder", "threads");
    if (config.d_model % config.heads != 0)
      throw argument_error("reference_decoder: d_model " + std::to_string(config.d_model) +
                           " is not a multiple of the " + std::to_string(config.heads) + " heads");
    if (config.heads % config.kv_heads != 0)
      throw argument_error("reference_decoder: " + std::to_string(config.heads) +
                           " heads are not a multiple of the " + std::to_string(config.kv_heads) +
                           " KV heads");
    std::mt19937_64 rng(config.seed);
    embedding_ = random_matrix(rng, config.vocabulary, config.d_model, 1.0);
    const index_t hd = head_dim();
    for (index_t l = 0; l < config.layers; ++l) {
      layer_weights& w = layers_.emplace_back();
      w.q = random_matrix(rng, config.d_model, config.heads * hd, config.d_model);
      w.k = random_matrix(rng, config.d_model, config.kv_heads * hd, config.d_model);
      w.v = random_matrix(rng, config.d_model, config.kv_heads * hd, config.d_model);
      w.o = random_matrix(rng, config.heads * hd, config.d_model, config.heads * hd);
      w.up = random_matrix(rng, config.d_model, config.mlp_hidden, config.d_model);
      w.down = random_matrix(rng, config.mlp_hidden, config.d_model, config.mlp_hidden);
    }
  }

  const decoder_config& config() const noexcept { return config_; }
  index_t head_dim() const noexcept { return config_.d_model / config_.heads; }

  // An empty cache of the shape this decoder fills.
  kv_cache make_cache() const { return kv_cache(config_.layers, config_.kv_heads, head_dim()); }

  // Runs tokens `ids` at positions [first, first + ids.size()) through every
  // layer, appending their keys and values to `cache`, which must hold
  // exactly positions [0, first). Query rows attend to the cached keys under
  // m. Returns their hidden states after the final norm. Throws
  // argument_error for a cache of another length or shape or a token id
  // outside the vocabulary, and what tiled_attention throws (shape_error for
  // rows m does not have).
  template <mask M>
  hidden_states forward(const M& m, std::span<const token_id> ids, index_t first,
                        kv_cache& cache) const {
    const auto len = static_cast<index_t>(ids.size());
    if (cache.layers() != config_.layers || cache.kv_heads() != config_.kv_heads ||
        cache.dim() != head_dim())
      throw argument_error("reference_decoder: the cache is not of this decoder's shape");
    for (index_t l = 0; l < config_.layers; ++l)
      if (cache.tokens(l) != first)
        throw argument_error("reference_decoder: the cache holds " +
                             std::to_string(cache.tokens(l)) + " tokens in layer " +
                             std::to_string(l) + " but the tokens start at position " +
                             std::to_string(first));
    hidden_states x(len, config_.d_model);
    for (index_t t = 0; t < len; ++t) {
      const token_id id = ids[static_cast<std::size_t>(t)];
      if (id < 0 || id >= config_.vocabulary)
        throw argument_error("reference_decoder: token " + std::to_string(t) + " has id " +
                             std::to_string(id) + ", outside the vocabulary [0, " +
                             std::to_string(config_.vocabulary) + ")");
      x.row(t) = embedding_.row(id);
      add_position(x.row(t), first + t);
    }
    attention_settings settings;
    settings.threads = config_.threads;
    const index_t hd = head_dim();
    for (index_t l = 0; l < config_.layers; ++l) {
      const layer_weights& w = layers_[static_cast<std::size_t>(l)];
      const hidden_states h = normalized(x);
      const hidden_states q = h * w.q;  // (len, heads * hd)
      const hidden_states k = h * w.k;  // (len, kv_heads * hd)
      const hidden_states v = h * w.v;
      cache.append(l, tensor(k, config_.kv_heads), tensor(v, config_.kv_heads));
      const tiled_attention_output a =
          tiled_attention(m, tensor(q, config_.heads), first, cache, l, settings);
      x += Eigen::Map<const hidden_states>(a.output.data(), len, config_.heads * hd) * w.o;
      const hidden_states up = (normalized(x) * w.up).unaryExpr(&gelu);
      x += up * w.down;
    }
    return normalized(x);
  }

  // One forward pass over a whole sequence under m, with a fresh cache.
  template <mask M>
  hidden_states forward(const M& m, std::span<const token_id> ids) const {
    kv_cache cache = make_cache();
    return forward(m, ids, 0, cache);
  }

 private:
  struct layer_weights {
    hidden_states q, k, v, o;  // (d_model, heads * hd), (d_model, kv_heads * hd) x 2, (heads * hd, d_model)
    hidden_states up, down;    // (d_model, mlp_hidden), (mlp_hidden, d_model)
  };

  // Entries N(0, 1 / fan_in): activations keep their scale through a product.
  static hidden_states random_matrix(std::mt19937_64& rng, index_t rows, index_t cols,
                                     double fan_in) {
    std::normal_distribution<float> normal(0.0f, static_cast<float>(1.0 / std::sqrt(fan_in)));
    hidden_states m(rows, cols);
    for (index_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
    return m;
  }

  // The sinusoidal encoding of "Attention Is All You Need": without positions
  // a mask would be the only thing that tells tokens apart.
  template <class Row>
  void add_position(Row&& row, index_t position) const {
    constexpr double wavelength_base = 10000.0;
    const index_t d = config_.d_model;
    for (index_t i = 0; i < d; ++i) {
      const double angle = static_cast<double>(position) /
                           std::pow(wavelength_base, static_cast<double>(i / 2 * 2) / static_cast<double>(d));
      row[i] += static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }

  // RMS norm without a learned gain, row by row.
  static hidden_states normalized(const hidden_states& x) {
    constexpr float epsilon = 1e-6f;
    hidden_states out(x.rows(), x.cols());
    for (index_t t = 0; t < x.rows(); ++t)
      out.row(t) = x.row(t) / std::sqrt(x.row(t).squaredNorm() / static_cast<float>(x.cols()) + epsilon);
    return out;
  }

  static float gelu(float z) {
    constexpr float root_two_over_pi = 0.7978845608f;
    return 0.5f * z * (1.0f + std::tanh(root_two_over_pi * (z + 0.044715f * z * z * z)));
  }

  static head_tensor<float> tensor(const hidden_states& x, index_t heads) {
    return {std::span<const float>(x.data(), static_cast<std::size_t>(x.size())), x.rows(), heads,
            x.cols() / heads};
  }

  decoder_config config_;
  hidden_states embedding_;  // (vocabulary, d_model)
  std::vector<layer_weights> layers_;
};

}  // namespace v0
}  // namespace ism
