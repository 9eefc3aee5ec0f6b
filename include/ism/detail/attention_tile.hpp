// One query block of the tiled attention: the online softmax (FlashAttention's)
// that folds the key tiles in one at a time, in float. Each row keeps the
// largest logit so far, the sum of exp(logit - largest) and the output
// accumulated with those weights; a larger logit rescales both. The products
// (float or bfloat16) come from a Products block; the mask inside a tile from
// attention_tile_mask.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "ism/block_classification.hpp"
#include "ism/chunk.hpp"
#include "ism/detail/attention_tile_mask.hpp"
#include "ism/detail/eigen.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Replaces x[0, n) by exp(x - shift) and returns their sum, in one pass.
inline float exp_and_sum(float* x, index_t n, float shift) {
  using Eigen::internal::ploadu;
  using Eigen::internal::pstoreu;
  using packet = Eigen::internal::packet_traits<float>::type;
  constexpr index_t width = Eigen::internal::packet_traits<float>::size;
  const packet shift_packet = Eigen::internal::pset1<packet>(shift);
  packet sums = Eigen::internal::pset1<packet>(0.0f);
  index_t i = 0;
  for (; i + width <= n; i += width) {
    const packet e =
        Eigen::internal::pexp(Eigen::internal::psub(ploadu<packet>(x + i), shift_packet));
    pstoreu(x + i, e);
    sums = Eigen::internal::padd(sums, e);
  }
  float sum = Eigen::internal::predux(sums);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

template <class Products>
class query_block_softmax {
 public:
  using input = typename Products::input;

  // Buffers for blocks of up to bq queries and tiles of up to bk keys of the
  // products' grid, allocated once and reused for every block.
  query_block_softmax(const Products& products, index_t bq, index_t bk, index_t dim)
      : queries_(products, bq),
        dim_(dim),
        p_(bq, products.logits_stride()),
        o_(bq, products.output_stride()),
        largest_(bq),
        sum_(bq),
        seen_(std::make_unique<bool[]>(static_cast<std::size_t>(bk))) {}

  // Starts the block of `rows` queries q, row_stride elements apart, each
  // `rows_per_position` consecutive rows at one position: 1 for rows that are
  // tokens, the query heads of a KV head for a one-token decode step.
  void start(const input* q, index_t rows, index_t row_stride, float scale,
             index_t rows_per_position = 1) {
    rows_ = rows;
    rows_per_position_ = rows_per_position;
    queries_.load_queries(q, rows, row_stride, scale);
    o_.topRows(rows_).setZero();
    largest_.head(rows_).setConstant(-std::numeric_limits<float>::infinity());
    sum_.head(rows_).setZero();
  }

  // Folds in key block kb of KV head `head`, the tile that queries
  // [tile.q0, tile.q1) meet. A full tile does no mask work.
  template <block_class Class, mask M>
  void add_tile(const M& m, const chunk& tile, index_t head, index_t kb) {
    static_assert(Class != block_class::empty,
                  "add_tile folds in a full or partial tile; an empty one is never visited");
    const index_t cols = tile.cols();
    queries_.logits(head, kb, cols, p_.data(), p_.cols());
    for (index_t i = 0; i < rows_; ++i) {
      const index_t position = tile.q0 + i / rows_per_position_;
      if constexpr (Class == block_class::full) {
        fold_row<false>(i, {0, cols}, cols);
      } else if constexpr (interval_backed_mask<M>) {
        fold_row<false>(i, visible_columns(m, position, tile), cols);
      } else {
        const column_range r = mark_visible_columns(m, position, tile, seen_.get());
        for (index_t c = r.begin; c < r.end; ++c)
          if (!seen_[static_cast<std::size_t>(c)])
            p_(i, c) = -std::numeric_limits<float>::infinity();
        fold_row<true>(i, r, cols);
      }
    }
    queries_.accumulate(head, kb, cols, p_.data(), p_.cols(), o_.data(), o_.cols());
  }

  // Writes row i's output to out + i * out_stride (dim floats) and its
  // log-sum-exp to lse[i * lse_stride]. A row that met no visible key gets
  // zeros and -inf.
  void finish(float* out, index_t out_stride, float* lse, index_t lse_stride) const {
    for (index_t i = 0; i < rows_; ++i) {
      Eigen::Map<Eigen::RowVectorXf> row(out + i * out_stride, dim_);
      if (sum_[i] == 0.0f) {
        row.setZero();
        lse[i * lse_stride] = -std::numeric_limits<float>::infinity();
        continue;
      }
      row = o_.row(i).head(dim_) / sum_[i];
      lse[i * lse_stride] = largest_[i] + std::log(sum_[i]);
    }
  }

 private:
  // Folds the logits in columns r of row i into the row's running softmax and
  // leaves their weights exp(logit - largest) in their place, zeros in the
  // tile's other columns. With Marked, columns inside r that seen_ marks
  // hidden hold -inf and get weight zero (an exp of -inf is only tiny).
  template <bool Marked>
  void fold_row(index_t i, column_range r, index_t cols) {
    auto row = p_.row(i).head(cols);
    if (r.empty()) {
      row.setZero();
      return;
    }
    auto weights = row.segment(r.begin, r.end - r.begin).array();
    const float largest = std::max(largest_[i], weights.maxCoeff());
    if (largest != largest_[i]) {
      const float rescale = std::exp(largest_[i] - largest);  // 0 when largest_[i] is -inf
      sum_[i] *= rescale;
      o_.row(i) *= rescale;
      largest_[i] = largest;
    }
    if constexpr (Marked) {
      weights = (weights - largest).exp();
      for (index_t c = r.begin; c < r.end; ++c)
        if (!seen_[static_cast<std::size_t>(c)]) row[c] = 0.0f;
      sum_[i] += weights.sum();
    } else {
      sum_[i] += exp_and_sum(&row[r.begin], r.end - r.begin, largest);
    }
    row.head(r.begin).setZero();
    row.tail(cols - r.end).setZero();
  }

  using row_major_floats = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  typename Products::block queries_;
  index_t dim_;
  row_major_floats p_;            // (bq, logits_stride): logits, then weights
  row_major_floats o_;            // (bq, output_stride): unnormalized output
  Eigen::VectorXf largest_;       // (bq,)
  Eigen::VectorXf sum_;           // (bq,)
  std::unique_ptr<bool[]> seen_;  // (bk,): one row of a tile, for masks without intervals
  index_t rows_ = 0;
  index_t rows_per_position_ = 1;
};

}  // namespace detail
}  // namespace v0
}  // namespace ism
