// The two 16-bit input types of the tensor cores and the one instruction the
// forward kernel multiplies with: mma.sync m16n8k16, float accumulators.
// Fragments are laid out as mma_layout.hpp says.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <concepts>
#include <cstdint>

#include "ism/cuda/mma_layout.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

template <class T>
concept tensor_core_input = std::same_as<T, __nv_bfloat16> || std::same_as<T, __half>;

// Two floats rounded to T and packed into one register, `low` in the lower half
// (the element with the smaller column).
template <tensor_core_input T>
ISM_DEVICE std::uint32_t pack_pair(float low, float high) {
  std::uint32_t out;
  if constexpr (std::same_as<T, __nv_bfloat16>) {
    const __nv_bfloat162 pair = __floats2bfloat162_rn(low, high);
    static_assert(sizeof pair == sizeof out);
    __builtin_memcpy(&out, &pair, sizeof out);
  } else {
    const __half2 pair = __floats2half2_rn(low, high);
    static_assert(sizeof pair == sizeof out);
    __builtin_memcpy(&out, &pair, sizeof out);
  }
  return out;
}

// Two 16-bit elements packed into one register, `low` in the lower half.
ISM_DEVICE std::uint32_t pack_bits(std::uint16_t low, std::uint16_t high) {
  return static_cast<std::uint32_t>(low) | (static_cast<std::uint32_t>(high) << 16);
}

// d += a b for one 16 x 8 x 16 tile, a row-major and b column-major.
template <tensor_core_input T>
ISM_DEVICE void mma_16x8x16(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::same_as<T, __nv_bfloat16>)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  // Built for an architecture before sm_80, which has no m16n8k16; the host
  // refuses such devices before launching (attention_forward.cuh).
  (void)d, (void)a, (void)b;
  __trap();
#endif
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
