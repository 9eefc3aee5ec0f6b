// Dense boolean masks: row = query, column = key, true = visible, for any chunk
// of any mask, into an Eigen matrix or a caller's buffer.
#pragma once

#include <span>

#include "ism/detail/eigen.hpp"
#include "ism/detail/fill_rows.hpp"

namespace ism {
inline namespace v0 {

using dense_bool_mask = Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Writes chunk c of m into out, row q - c.q0 starting at (q - c.q0) * row_stride.
// Throws shape_error when the chunk or the buffer does not fit.
template <mask M>
void fill_dense_mask(const M& m, const chunk& c, std::span<bool> out, index_t row_stride) {
  detail::fill_rows(m, c, out, row_stride, true, false);
}

template <mask M>
dense_bool_mask dense_mask(const M& m, const chunk& c) {
  check_chunk(m, c);
  dense_bool_mask out(c.rows(), c.cols());  // (Lq, Lk)
  fill_dense_mask(m, c, std::span<bool>(out.data(), static_cast<std::size_t>(out.size())),
                  c.cols());
  return out;
}

template <sized_mask M>
dense_bool_mask dense_mask(const M& m) {
  return dense_mask(m, whole(m.size()));
}

}  // namespace v0
}  // namespace ism
