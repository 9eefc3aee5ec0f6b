// The two tile products of the tiled attention, logits = Q K^T and
// output += P V, as register-blocked kernels on Eigen's SIMD packets (AVX-512,
// AVX, SSE, NEON: whatever the build targets). Each call computes kernel_rows
// rows by kernel_cols columns in registers over the whole depth, with both
// operands laid out so that every step loads whole packets from one place and
// broadcasts scalars from another. Eigen's own products repack both operands
// on every call; here keys and values are packed once per attention call
// (attention_float_products.hpp) and queries and weights need no packing,
// which is what lets small tiles run faster than one large Eigen product.
#pragma once

#include <type_traits>

#include "ism/config.hpp"
#include "ism/detail/eigen.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

using float_packet = Eigen::internal::packet_traits<float>::type;
inline constexpr index_t packet_floats = Eigen::internal::packet_traits<float>::size;
// kernel_rows x 2 accumulators, 2 loaded packets and a broadcast fit the
// register file: 19 of AVX-512's 32 registers, 11 of AVX's or SSE's 16.
inline constexpr int kernel_rows = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 8 : 4;
inline constexpr int kernel_packets = 2;
inline constexpr index_t kernel_cols = kernel_packets * packet_floats;

// c[r][j] = sum over t < depth of a[r][t] * b[t][j] for r < Rows and
// j < kernel_cols, added to c's old value when Accumulate. a rows are a_stride
// apart; b rows b_stride apart and aligned; c rows c_stride apart and aligned.
// Logits are a = queries, b = a packed panel of transposed keys (rows
// kernel_cols apart); the output update is a = weights, b = values.
template <int Rows, bool Accumulate>
void product_kernel(const float* a, index_t a_stride, const float* b, index_t b_stride,
                    index_t depth, float* c, index_t c_stride) {
  using Eigen::internal::pload;
  using Eigen::internal::pmadd;
  using Eigen::internal::pset1;
  float_packet acc[Rows][kernel_packets];
  ISM_UNROLL
  for (int r = 0; r < Rows; ++r) {
    ISM_UNROLL
    for (int j = 0; j < kernel_packets; ++j)
      acc[r][j] = Accumulate ? pload<float_packet>(c + r * c_stride + j * packet_floats)
                             : pset1<float_packet>(0.0f);
  }
  for (index_t t = 0; t < depth; ++t) {
    float_packet row[kernel_packets];
    ISM_UNROLL
    for (int j = 0; j < kernel_packets; ++j)
      row[j] = pload<float_packet>(b + t * b_stride + j * packet_floats);
    ISM_UNROLL
    for (int r = 0; r < Rows; ++r) {
      const float_packet scalar = pset1<float_packet>(a[r * a_stride + t]);
      ISM_UNROLL
      for (int j = 0; j < kernel_packets; ++j) acc[r][j] = pmadd(scalar, row[j], acc[r][j]);
    }
  }
  ISM_UNROLL
  for (int r = 0; r < Rows; ++r) {
    ISM_UNROLL
    for (int j = 0; j < kernel_packets; ++j)
      Eigen::internal::pstore(c + r * c_stride + j * packet_floats, acc[r][j]);
  }
}

template <int Rows, class F>
void call_with_rows(index_t rows, index_t first, F& f) {
  if constexpr (Rows >= 1) {
    if (rows == Rows)
      f(std::integral_constant<int, Rows>{}, first);
    else
      call_with_rows<Rows - 1>(rows, first, f);
  }
}

// Calls f(std::integral_constant<int, R>, first) for consecutive groups of R
// rows covering [0, rows): groups of GroupRows, then one smaller group, so
// every kernel call knows its row count at compile time.
template <int GroupRows, class F>
void for_each_row_group(index_t rows, F&& f) {
  index_t first = 0;
  for (; first + GroupRows <= rows; first += GroupRows)
    f(std::integral_constant<int, GroupRows>{}, first);
  call_with_rows<GroupRows - 1>(rows - first, first, f);
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
