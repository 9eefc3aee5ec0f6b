// The tile products of the tiled attention for bfloat16 inputs on CPUs with
// AVX-512 BF16 (attention_bf16_kernels.hpp): keys and values packed once per
// call as interleaved bfloat16 pairs, queries kept as they come (scaling them
// in bfloat16 would round them again; the kernel scales the float logits),
// and the softmax weights rounded to bfloat16 before they meet the values.
#pragma once

#include "ism/detail/attention_bf16_kernels.hpp"

#if defined(ISM_ATTENTION_BF16_KERNELS)

#include <cstdint>
#include <cstring>
#include <vector>

#include "ism/block_classification.hpp"
#include "ism/detail/attention_kernels.hpp"
#include "ism/detail/eigen.hpp"
#include "ism/head_tensor.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

class bf16_products {
 public:
  using input = Eigen::bfloat16;

  // Buffers for k and v (same shape) cut in the key blocks of grid; nothing
  // is packed yet. Padding is zeros.
  bf16_products(const head_tensor<input>& k, const head_tensor<input>& v, const block_grid& grid)
      : k_(k),
        v_(v),
        grid_(grid),
        feature_pairs_((k.dim + 1) / 2),
        key_pairs_((grid.bk + 1) / 2),
        panels_((grid.bk + bf16_kernel_cols - 1) / bf16_kernel_cols),
        strips_((k.dim + bf16_kernel_cols - 1) / bf16_kernel_cols),
        key_block_(panels_ * feature_pairs_ * bf16_pair_row),
        value_block_(strips_ * key_pairs_ * bf16_pair_row),
        keys_(static_cast<std::size_t>(k.heads * grid.key_blocks() * key_block_)),
        values_(static_cast<std::size_t>(k.heads * grid.key_blocks() * value_block_)) {}

  // Floats per row of a logits buffer and of an output accumulator.
  index_t logits_stride() const noexcept { return panels_ * bf16_kernel_cols; }
  index_t output_stride() const noexcept { return strips_ * bf16_kernel_cols; }

  // Packs key block kb of KV head `head`: keys in panels of 32 keys, values
  // in strips of 32 features, both as pairs along their depth. Distinct
  // (head, kb) may be packed by different threads at once.
  void pack(index_t head, index_t kb) {
    const chunk tile = grid_.tile(0, kb);
    const index_t first = tile.k0 - grid_.range.k0;
    std::uint16_t* keys = keys_.data() + (head * grid_.key_blocks() + kb) * key_block_;
    std::uint16_t* values = values_.data() + (head * grid_.key_blocks() + kb) * value_block_;
    for (index_t c = 0; c < tile.cols(); ++c)
      for (index_t t = 0; t < k_.dim; ++t) {
        keys[c / bf16_kernel_cols * feature_pairs_ * bf16_pair_row + t / 2 * bf16_pair_row +
             c % bf16_kernel_cols * 2 + t % 2] = bits(k_(first + c, head, t));
        values[t / bf16_kernel_cols * key_pairs_ * bf16_pair_row + c / 2 * bf16_pair_row +
               t % bf16_kernel_cols * 2 + c % 2] = bits(v_(first + c, head, t));
      }
  }

  // One thread's query block of one head.
  class block {
   public:
    // For blocks of up to `rows` queries.
    block(const bf16_products& products, index_t rows)
        : products_(&products),
          q_(static_cast<std::size_t>(rows * query_stride())),
          weights_(static_cast<std::size_t>(rows * products.logits_stride())) {}

    // Loads rows of queries, row_stride elements apart; the logits get scale.
    void load_queries(const input* q, index_t rows, index_t row_stride, float scale) {
      rows_ = rows;
      scale_ = scale;
      for (index_t r = 0; r < rows; ++r)
        std::memcpy(q_.data() + r * query_stride(), q + r * row_stride,
                    static_cast<std::size_t>(products_->k_.dim) * sizeof(input));
    }

    // p (rows, cols) = scale times the queries times the keys of block kb of
    // `head`, the tile's cols keys; columns up to a whole panel get 0.
    void logits(index_t head, index_t kb, index_t cols, float* p, index_t p_stride) const {
      const bf16_products& pr = *products_;
      const std::uint16_t* panels =
          pr.keys_.data() + (head * pr.grid_.key_blocks() + kb) * pr.key_block_;
      for_each_row_group<bf16_kernel_rows>(rows_, [&](auto rows, index_t first) {
        for (index_t c = 0; c < cols; c += bf16_kernel_cols)
          bf16_product_kernel<rows(), false>(
              q_.data() + first * query_stride(), query_stride(),
              panels + c / bf16_kernel_cols * pr.feature_pairs_ * bf16_pair_row, pr.feature_pairs_,
              scale_, p + first * p_stride + c, p_stride);
      });
    }

    // o (rows, output_stride()) += p (rows, cols), rounded to bfloat16, times
    // the values of block kb of `head`. p's columns past cols up to a whole
    // panel must be 0, as logits() leaves them and the softmax keeps them.
    void accumulate(index_t head, index_t kb, index_t cols, const float* p, index_t p_stride,
                    float* o, index_t o_stride) {
      const bf16_products& pr = *products_;
      const index_t w_stride = pr.logits_stride();
      const index_t rounded = (cols + bf16_kernel_cols - 1) / bf16_kernel_cols * bf16_kernel_cols;
      for (index_t r = 0; r < rows_; ++r)
        round_to_bf16(p + r * p_stride, rounded, weights_.data() + r * w_stride);
      const std::uint16_t* strips =
          pr.values_.data() + (head * pr.grid_.key_blocks() + kb) * pr.value_block_;
      for_each_row_group<bf16_kernel_rows>(rows_, [&](auto rows, index_t first) {
        for (index_t s = 0; s < pr.strips_; ++s)
          bf16_product_kernel<rows(), true>(weights_.data() + first * w_stride, w_stride,
                                            strips + s * pr.key_pairs_ * bf16_pair_row,
                                            (cols + 1) / 2, 1.0f,
                                            o + first * o_stride + s * bf16_kernel_cols, o_stride);
      });
    }

   private:
    index_t query_stride() const noexcept { return 2 * products_->feature_pairs_; }

    const bf16_products* products_;
    std::vector<std::uint16_t> q_;        // (bq, 2 * feature pairs): the queries' bits
    std::vector<std::uint16_t> weights_;  // (bq, logits_stride): softmax weights in bfloat16
    float scale_ = 1.0f;
    index_t rows_ = 0;
  };

 private:
  static std::uint16_t bits(input x) noexcept {
    std::uint16_t out;
    std::memcpy(&out, &x, sizeof out);
    return out;
  }

  head_tensor<input> k_;
  head_tensor<input> v_;
  block_grid grid_;
  index_t feature_pairs_;              // the head dim, in pairs
  index_t key_pairs_;                  // a key block, in pairs
  index_t panels_;                     // 32-key panels per key block
  index_t strips_;                     // 32-feature strips of the head dim
  index_t key_block_;                  // bfloat16 per packed key block
  index_t value_block_;                // bfloat16 per packed value block
  std::vector<std::uint16_t> keys_;    // (heads, key blocks, panels, feature pairs, 32, 2)
  std::vector<std::uint16_t> values_;  // (heads, key blocks, strips, key pairs, 32, 2)
};

}  // namespace detail
}  // namespace v0
}  // namespace ism

#endif
