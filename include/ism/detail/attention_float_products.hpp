// The tile products of the tiled attention in float: keys and values of every
// KV head packed for the kernels of attention_kernels.hpp, and a query block,
// scaled once, that meets them tile by tile. The packed keys and values are
// either packed here, once per call, or borrowed from a kv_cache that packed
// them as they arrived. bfloat16 inputs are widened to float here, so they
// cost what float inputs cost.
#pragma once

#include <vector>

#include "ism/block_classification.hpp"
#include "ism/detail/attention_kernels.hpp"
#include "ism/detail/eigen.hpp"
#include "ism/head_tensor.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Rounded up to a whole number of kernel columns, so that every buffer row
// starts aligned and every kernel call stays inside its buffer.
inline index_t whole_kernel_cols(index_t n) noexcept {
  return (n + kernel_cols - 1) / kernel_cols * kernel_cols;
}

using aligned_floats = std::vector<float, Eigen::aligned_allocator<float>>;

// Where the packed keys and values of every KV head lie. Key j of a head is
// column j % kernel_cols of panel j / kernel_cols, panels (dim, kernel_cols)
// one after the other; its value is row j of (keys, whole_kernel_cols(dim)).
// Key block kb of a grid whose blocks are whole panels starts at panel
// kb * bk / kernel_cols, so any such grid finds its blocks in the same data.
struct packed_float_kv {
  const float* keys = nullptr;
  index_t key_head_stride = 0;  // floats from one head's panels to the next's
  const float* values = nullptr;
  index_t value_head_stride = 0;  // floats from one head's value rows to the next's
};

template <class T>
class float_products {
 public:
  using input = T;

  // Buffers for k and v (same shape) cut in the key blocks of grid; nothing
  // is packed yet. Padding is zeros.
  float_products(const head_tensor<T>& k, const head_tensor<T>& v, const block_grid& grid)
      : k_(k),
        v_(v),
        grid_(grid),
        dim_(k.dim),
        block_floats_(whole_kernel_cols(grid.bk) * k.dim),
        keys_(static_cast<std::size_t>(k.heads * grid.key_blocks() * block_floats_)),
        values_(static_cast<std::size_t>(k.heads * k.tokens * output_stride())),
        packed_{keys_.data(), grid.key_blocks() * block_floats_, values_.data(),
                k.tokens * output_stride()} {}

  // Keys and values packed elsewhere, for the keys [0, n) of grid: nothing
  // to pack. grid's key blocks must be whole kernel panels (or the one block
  // of a grid narrower than bk).
  float_products(const packed_float_kv& packed, const block_grid& grid, index_t dim)
      : grid_(grid),
        dim_(dim),
        block_floats_(whole_kernel_cols(grid.bk) * dim),
        packed_(packed) {}

  float_products(const float_products&) = delete;
  float_products& operator=(const float_products&) = delete;

  // Floats per row of a logits buffer and of an output accumulator.
  index_t logits_stride() const noexcept { return whole_kernel_cols(grid_.bk); }
  index_t output_stride() const noexcept { return whole_kernel_cols(dim_); }

  // Packs key block kb of KV head `head` of the k and v this was made with:
  // its keys transposed, in panels of kernel_cols keys, (dim, kernel_cols)
  // each, and its value rows. Distinct (head, kb) may be packed by different
  // threads at once.
  void pack(index_t head, index_t kb) {
    const chunk tile = grid_.tile(0, kb);
    const index_t first = tile.k0 - grid_.range.k0;
    float* panels = keys_.data() + head * packed_.key_head_stride + kb * block_floats_;
    float* values = values_.data() + head * packed_.value_head_stride;
    for (index_t c = 0; c < tile.cols(); ++c)
      pack_token(k_, v_, first + c, head, key_column(panels, c, dim_),
                 values + (first + c) * output_stride());
  }

  // Where key `slot` of panels that start at `panels` lies: every dim-th
  // element from there, kernel_cols apart.
  static float* key_column(float* panels, index_t slot, index_t dim) noexcept {
    return panels + slot / kernel_cols * dim * kernel_cols + slot % kernel_cols;
  }

  // Writes token `token` of head `head` of k and v as a packed key column
  // and a value row.
  static void pack_token(const head_tensor<T>& k, const head_tensor<T>& v, index_t token,
                         index_t head, float* key_column, float* value_row) {
    for (index_t t = 0; t < k.dim; ++t) {
      key_column[t * kernel_cols] = static_cast<float>(k(token, head, t));
      value_row[t] = static_cast<float>(v(token, head, t));
    }
  }

  // One thread's query block of one head.
  class block {
   public:
    // For blocks of up to `rows` queries.
    block(const float_products& products, index_t rows)
        : products_(&products), q_(rows, products.dim_) {}

    // Loads rows of queries, row_stride elements apart, scaled once here
    // rather than in every tile.
    void load_queries(const T* q, index_t rows, index_t row_stride, float scale) {
      rows_ = rows;
      for (index_t r = 0; r < rows; ++r)
        for (index_t t = 0; t < q_.cols(); ++t)
          q_(r, t) = scale * static_cast<float>(q[r * row_stride + t]);
    }

    // p (rows, cols) = the scaled queries times the keys of block kb of
    // `head`, the tile's cols keys; columns up to a whole kernel panel get 0.
    void logits(index_t head, index_t kb, index_t cols, float* p, index_t p_stride) const {
      const index_t dim = q_.cols();
      const float* panels = products_->packed_.keys + head * products_->packed_.key_head_stride +
                            kb * products_->block_floats_;
      for_each_row_group<kernel_rows>(rows_, [&](auto rows, index_t first) {
        for (index_t c = 0; c < cols; c += kernel_cols)
          product_kernel<rows(), false>(q_.row(first).data(), dim, panels + c * dim, kernel_cols,
                                        dim, p + first * p_stride + c, p_stride);
      });
    }

    // o (rows, output_stride()) += p (rows, cols) times the values of block
    // kb of `head`, the tile's cols keys.
    void accumulate(index_t head, index_t kb, index_t cols, const float* p, index_t p_stride,
                    float* o, index_t o_stride) {
      const index_t v_stride = products_->output_stride();
      const index_t first_key = kb * products_->grid_.bk;
      const float* values = products_->packed_.values +
                            head * products_->packed_.value_head_stride + first_key * v_stride;
      for_each_row_group<kernel_rows>(rows_, [&](auto rows, index_t first) {
        for (index_t c = 0; c < v_stride; c += kernel_cols)
          product_kernel<rows(), true>(p + first * p_stride, p_stride, values + c, v_stride, cols,
                                       o + first * o_stride + c, o_stride);
      });
    }

   private:
    using row_major_floats = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const float_products* products_;
    row_major_floats q_;  // (bq, dim): scaled queries
    index_t rows_ = 0;
  };

 private:
  head_tensor<T> k_;  // what pack() reads; empty when borrowing packed data
  head_tensor<T> v_;
  block_grid grid_;
  index_t dim_;
  index_t block_floats_;
  aligned_floats keys_;    // (heads, key blocks, panels, dim, kernel_cols) when packed here
  aligned_floats values_;  // (heads, keys, output_stride) when packed here
  packed_float_kv packed_;
};

}  // namespace detail
}  // namespace v0
}  // namespace ism
