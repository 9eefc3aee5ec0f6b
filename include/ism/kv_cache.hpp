// A KV cache for the tiled attention, and the attention of new queries against
// it. Keys and values are appended per layer for every KV head and kept in the
// packed form the float tile products read (attention_float_products.hpp):
// each token is packed once, when it arrives, and checked for non-finite
// values then, so an attention over the cache neither repacks nor rescans it.
// A one-row decode step reads the cached keys and values about once, where
// tiled_attention on plain tensors scans them, packs them and reads the
// packed copy. Positions are absolute: the cache of a layer holds positions
// [0, tokens(layer)), and truncate() forgets a suffix, for a paradigm whose
// reusable prefix (docs/semantics.md#reusable-kv-prefix) is shorter than the
// cache.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/tiled_attention.hpp"

namespace ism {
inline namespace v0 {

class kv_cache {
 public:
  // Throws argument_error unless layers, kv_heads and dim are >= 1.
  kv_cache(index_t layers, index_t kv_heads, index_t dim)
      : kv_heads_(kv_heads), dim_(dim) {
    if (layers < 1 || kv_heads < 1 || dim < 1)
      throw argument_error("kv_cache needs at least one layer, KV head and feature, not " +
                           std::to_string(layers) + ", " + std::to_string(kv_heads) + " and " +
                           std::to_string(dim));
    layers_.resize(static_cast<std::size_t>(layers));
  }

  index_t layers() const noexcept { return static_cast<index_t>(layers_.size()); }
  index_t kv_heads() const noexcept { return kv_heads_; }
  index_t dim() const noexcept { return dim_; }
  // Positions [0, tokens(layer)) are cached.
  index_t tokens(index_t layer) const { return at(layer).tokens; }

  // Appends k and v, each (tokens, kv_heads, dim), as positions
  // [tokens(layer), tokens(layer) + k.tokens) of `layer`. Throws shape_error
  // for a layer out of range or tensors of another shape and argument_error
  // for a non-finite value, before anything is appended.
  void append(index_t layer, head_tensor<float> k, head_tensor<float> v) {
    layer_cache& c = at(layer);
    detail::checked_largest_magnitude(k, "K");
    detail::checked_largest_magnitude(v, "V");
    detail::check_attention_shapes(k, k, v);
    if (k.heads != kv_heads_ || k.dim != dim_)
      throw shape_error("kv_cache holds " + std::to_string(kv_heads_) + " KV heads of dim " +
                        std::to_string(dim_) + ", not " + std::to_string(k.heads) + " of dim " +
                        std::to_string(k.dim));
    reserve(c, c.tokens + k.tokens);
    using products = detail::float_products<float>;
    for (index_t t = 0; t < k.tokens; ++t) {
      const index_t slot = c.tokens + t;
      for (index_t h = 0; h < kv_heads_; ++h)
        products::pack_token(k, v, t, h,
                             products::key_column(c.keys.data() + h * key_head_stride(c), slot, dim_),
                             c.values.data() + h * value_head_stride(c) + slot * value_stride());
      const std::size_t row = static_cast<std::size_t>(t * kv_heads_ * dim_);
      const std::size_t width = static_cast<std::size_t>(kv_heads_ * dim_);
      c.largest_key.push_back(largest(k.data.subspan(row, width)));
      c.largest_value.push_back(largest(v.data.subspan(row, width)));
    }
    c.tokens += k.tokens;
  }

  // Forgets positions >= tokens in every layer that holds more.
  // Throws argument_error for a negative count.
  void truncate(index_t tokens) {
    if (tokens < 0)
      throw argument_error("kv_cache::truncate to " + std::to_string(tokens) + " tokens");
    // Packed columns past the tokens are never read as keys, so they stay.
    for (layer_cache& c : layers_) {
      if (c.tokens <= tokens) continue;
      c.tokens = tokens;
      c.largest_key.resize(static_cast<std::size_t>(tokens));
      c.largest_value.resize(static_cast<std::size_t>(tokens));
    }
  }

  // The bytes of packed keys and values an attention over `layer` reads.
  std::uint64_t bytes(index_t layer) const {
    const layer_cache& c = at(layer);
    return static_cast<std::uint64_t>(kv_heads_ * c.tokens * (dim_ + value_stride())) *
           sizeof(float);
  }

  // For the attention: where the packed data of `layer` lies, and the
  // largest magnitudes of its keys and values.
  detail::packed_float_kv packed(index_t layer) const {
    const layer_cache& c = at(layer);
    return {c.keys.data(), key_head_stride(c), c.values.data(), value_head_stride(c)};
  }
  float largest_key(index_t layer) const { return largest_of(at(layer).largest_key); }
  float largest_value(index_t layer) const { return largest_of(at(layer).largest_value); }

 private:
  // Capacity grows in whole key blocks of attention_block_size, so a block
  // of any grid of that size is whole panels of the packed keys.
  static constexpr index_t capacity_step = attention_block_size.k;
  static_assert(capacity_step % detail::kernel_cols == 0,
                "kv_cache: an attention key block must be whole kernel panels");

  struct layer_cache {
    index_t tokens = 0;
    index_t capacity = 0;
    detail::aligned_floats keys;    // (kv_heads, capacity / kernel_cols, dim, kernel_cols)
    detail::aligned_floats values;  // (kv_heads, capacity, value_stride)
    std::vector<float> largest_key;    // (tokens,): max |k| over heads and features
    std::vector<float> largest_value;  // (tokens,)
  };

  const layer_cache& at(index_t layer) const {
    if (layer < 0 || layer >= layers())
      throw shape_error("kv_cache has " + std::to_string(layers()) + " layers; there is no layer " +
                        std::to_string(layer));
    return layers_[static_cast<std::size_t>(layer)];
  }
  layer_cache& at(index_t layer) { return const_cast<layer_cache&>(std::as_const(*this).at(layer)); }

  index_t value_stride() const noexcept { return detail::whole_kernel_cols(dim_); }
  index_t key_head_stride(const layer_cache& c) const noexcept { return c.capacity * dim_; }
  index_t value_head_stride(const layer_cache& c) const noexcept {
    return c.capacity * value_stride();
  }

  // Doubles the capacity (at least) until `tokens` fit, moving each head's
  // packed data to its new place.
  void reserve(layer_cache& c, index_t tokens) {
    if (tokens <= c.capacity) return;
    index_t capacity = std::max(c.capacity, capacity_step);
    while (capacity < tokens) capacity *= 2;
    detail::aligned_floats keys(static_cast<std::size_t>(kv_heads_ * capacity * dim_));
    detail::aligned_floats values(static_cast<std::size_t>(kv_heads_ * capacity * value_stride()));
    for (index_t h = 0; h < kv_heads_; ++h) {
      std::copy_n(c.keys.data() + h * key_head_stride(c), key_head_stride(c),
                  keys.data() + h * capacity * dim_);
      std::copy_n(c.values.data() + h * value_head_stride(c), value_head_stride(c),
                  values.data() + h * capacity * value_stride());
    }
    c.keys = std::move(keys);
    c.values = std::move(values);
    c.capacity = capacity;
  }

  static float largest(std::span<const float> x) {
    return std::bit_cast<float>(detail::largest_magnitude_bits(x));
  }
  static float largest_of(const std::vector<float>& x) {
    return x.empty() ? 0.0f : *std::max_element(x.begin(), x.end());
  }

  index_t kv_heads_;
  index_t dim_;
  std::vector<layer_cache> layers_;
};

// Attention of queries at positions [q0, q0 + q.tokens) against the cached
// keys [0, cache.tokens(layer)) of `layer` under mask m, in tiles of
// attention_block_size: tiled_attention(m, q, k, v, q0, 0, settings) for the
// k and v the cache holds, without repacking or rescanning them. Query head h
// reads KV head h / (q.heads / cache.kv_heads()). Throws shape_error for a
// layer out of range, queries of another dim or a head count that is not a
// multiple of the KV heads, or a chunk that does not fit m, and
// argument_error as tiled_attention does.
template <mask M>
tiled_attention_output tiled_attention(const M& m, head_tensor<float> q, index_t q0,
                                       const kv_cache& cache, index_t layer,
                                       const attention_settings& settings = {}) {
  const index_t keys = cache.tokens(layer);
  const double q_largest = detail::checked_largest_magnitude(q, "Q");
  if (q.dim != cache.dim())
    throw shape_error("Q head dim " + std::to_string(q.dim) + " differs from the cache's " +
                      std::to_string(cache.dim()));
  if (q.heads % cache.kv_heads() != 0)
    throw shape_error("Q has " + std::to_string(q.heads) + " heads, not a multiple of the " +
                      std::to_string(cache.kv_heads()) + " KV heads");
  if (settings.threads < 1)
    throw argument_error("attention threads " + std::to_string(settings.threads) + " must be >= 1");
  if (q0 > 0 && q.tokens > max_index - q0)
    throw shape_error("queries from position " + std::to_string(q0) +
                      " run past the largest index_t");
  const double scale = detail::attention_scale(settings.scale, q.dim);
  detail::check_attention_range<float>(
      scale, {q_largest, cache.largest_key(layer), cache.largest_value(layer)}, q.dim, keys);
  const block_mask blocks =
      make_block_mask(m, chunk{q0, q0 + q.tokens, 0, keys}, attention_block_size);
  const detail::float_products<float> products(cache.packed(layer),
                                                detail::attended_grid(blocks), q.dim);
  return detail::attend_packed(blocks, m, q, cache.kv_heads(), products,
                               static_cast<float>(scale), settings.threads);
}

}  // namespace v0
}  // namespace ism
