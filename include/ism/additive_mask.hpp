// Additive masks: 0 where visible, -inf where not, the bias that SDPA, HF eager
// attention and xformers add to the logits. float32, or Eigen's float16 and
// bfloat16 for engines that add the bias in half precision.
#pragma once

#include <concepts>
#include <limits>
#include <span>

#include "ism/detail/eigen.hpp"
#include "ism/detail/fill_rows.hpp"

namespace ism {
inline namespace v0 {

template <class T>
concept additive_scalar = std::same_as<T, float> || std::same_as<T, double> ||
    std::same_as<T, Eigen::half> || std::same_as<T, Eigen::bfloat16>;

template <class T>
using dense_additive_mask = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <additive_scalar T, mask M>
void fill_additive_mask(const M& m, const chunk& c, std::span<T> out, index_t row_stride) {
  detail::fill_rows(m, c, out, row_stride, T(0.0f), T(-std::numeric_limits<float>::infinity()));
}

template <additive_scalar T = float, mask M>
dense_additive_mask<T> additive_mask(const M& m, const chunk& c) {
  check_chunk(m, c);
  dense_additive_mask<T> out(c.rows(), c.cols());  // (Lq, Lk)
  fill_additive_mask<T>(m, c, std::span<T>(out.data(), static_cast<std::size_t>(out.size())),
                        c.cols());
  return out;
}

template <additive_scalar T = float, sized_mask M>
dense_additive_mask<T> additive_mask(const M& m) {
  return additive_mask<T>(m, whole(m.size()));
}

}  // namespace v0
}  // namespace ism
