// The two tile products for bfloat16 inputs on CPUs with AVX-512 BF16: each
// vdpbf16ps multiplies 16 pairs of bfloat16 and adds them to 16 float sums,
// twice the multiply-adds of a float FMA. Operands are interleaved pairs along
// the depth: (q[t], q[t+1]) against (k[t][c], k[t+1][c]) for the logits,
// (p[j], p[j+1]) against (v[j][e], v[j+1][e]) for the output. The functions
// are compiled for AVX-512 BF16 whatever the build targets and chosen at run
// time (bf16_dot_products_available), so one binary runs everywhere.
// Only GCC and Clang on x86-64 have them; elsewhere bfloat16 is widened to
// float (attention_float_products.hpp).
#pragma once

#include "ism/config.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ISM_ATTENTION_BF16_KERNELS 1

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#define ISM_ATTENTION_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

namespace ism {
inline namespace v0 {
namespace detail {

inline bool bf16_dot_products_available() noexcept {
  static const bool available = __builtin_cpu_supports("avx512bf16");
  return available;
}

inline constexpr int bf16_kernel_rows = 8;
// Two packets of 16 float sums: 32 keys per logits panel, 32 output columns
// per value strip.
inline constexpr index_t bf16_kernel_cols = 32;
// One depth pair of a panel or strip: 32 columns x 2 bfloat16.
inline constexpr index_t bf16_pair_row = 2 * bf16_kernel_cols;

// Broadcasts the bfloat16 pair at p to the 16 pairs of a vector.
ISM_ATTENTION_BF16_TARGET inline __m512bh broadcast_pair(const std::uint16_t* p) {
  std::uint32_t pair;
  std::memcpy(&pair, p, sizeof pair);
  return (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
}

// c[r][e] = sum over t < pairs of the bfloat16 pairs a[r][2t..2t+1] times
// b's pair t, column e, for r < Rows and e < bf16_kernel_cols: scaled by
// `scale` when written fresh, added to c's old value when Accumulate. a rows
// (a_stride apart) hold 2 * pairs bfloat16; b is one panel or strip,
// pairs x (bf16_kernel_cols, 2); c rows are c_stride apart. Logits are
// a = queries, b = a key panel; the output update is a = weights, b = a
// value strip.
template <int Rows, bool Accumulate>
ISM_ATTENTION_BF16_TARGET void bf16_product_kernel(const std::uint16_t* a, index_t a_stride,
                                                   const std::uint16_t* b, index_t pairs,
                                                   float scale, float* c, index_t c_stride) {
  __m512 acc[Rows][2];
  ISM_UNROLL
  for (int r = 0; r < Rows; ++r) {
    if constexpr (Accumulate) {
      acc[r][0] = _mm512_loadu_ps(c + r * c_stride);
      acc[r][1] = _mm512_loadu_ps(c + r * c_stride + 16);
    } else {
      acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    }
  }
  for (index_t t = 0; t < pairs; ++t) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + t * bf16_pair_row);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + t * bf16_pair_row + 32);
    ISM_UNROLL
    for (int r = 0; r < Rows; ++r) {
      const __m512bh scalar = broadcast_pair(a + r * a_stride + 2 * t);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], scalar, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], scalar, b1);
    }
  }
  const __m512 factor = _mm512_set1_ps(scale);
  ISM_UNROLL
  for (int r = 0; r < Rows; ++r) {
    if constexpr (!Accumulate) {
      acc[r][0] = _mm512_mul_ps(acc[r][0], factor);
      acc[r][1] = _mm512_mul_ps(acc[r][1], factor);
    }
    _mm512_storeu_ps(c + r * c_stride, acc[r][0]);
    _mm512_storeu_ps(c + r * c_stride + 16, acc[r][1]);
  }
}

// Rounds n floats (a multiple of 32) to bfloat16, to nearest even.
ISM_ATTENTION_BF16_TARGET inline void round_to_bf16(const float* x, index_t n, std::uint16_t* out) {
  for (index_t i = 0; i < n; i += 32) {
    const __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, (__m512i)pair);
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace ism

#undef ISM_ATTENTION_BF16_TARGET

#else

namespace ism {
inline namespace v0 {
namespace detail {

inline bool bf16_dot_products_available() noexcept {
  return false;
}

}  // namespace detail
}  // namespace v0
}  // namespace ism

#endif
