// Dense masks on the GPU, for engines that take a materialized mask: boolean
// (true = visible) and additive (0 or -inf, in float, float16 or bfloat16), for
// any chunk of any mask whose visible(q, k) runs on the device. Row q - q0
// starts at (q - q0) * row_stride, as fill_dense_mask and fill_additive_mask
// write on the host.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <concepts>
#include <string>
#include <type_traits>

#include "ism/chunk.hpp"
#include "ism/cuda/cuda_error.cuh"
#include "ism/cuda/launch_shape.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

template <class T>
concept device_additive_scalar =
    std::same_as<T, float> || std::same_as<T, __half> || std::same_as<T, __nv_bfloat16>;

namespace detail {

template <mask M, class T>
__global__ void dense_kernel(const M m, const chunk c, T* out, index_t row_stride, T visible,
                             T hidden) {
  const index_t cols = c.cols(), count = c.rows() * cols;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    const index_t row = i / cols, col = i % cols;
    out[row * row_stride + col] = m.visible(c.q0 + row, c.k0 + col) ? visible : hidden;
  }
}

template <class M, class T>
void launch_dense(const char* what, const M& m, const chunk& c, T* out, index_t row_stride,
                  T visible, T hidden, cudaStream_t stream) {
  static_assert(std::is_trivially_copyable_v<M>, "ism::cuda: a kernel takes the mask by value");
  check_chunk(m, c);
  if (row_stride < c.cols())
    throw shape_error(std::string(what) + ": row stride " + std::to_string(row_stride) +
                      " is shorter than the chunk's " + std::to_string(c.cols()) + " keys");
  if (c.rows() == 0 || c.cols() == 0) return;
  if (out == nullptr) throw argument_error(std::string(what) + ": the output is null");
  dense_kernel<M, T><<<builder_blocks(c.rows() * c.cols()), builder_threads, 0, stream>>>(
      m, c, out, row_stride, visible, hidden);
  check_launch(what);
}

}  // namespace detail

// Throws shape_error for a chunk outside a sized mask or a row stride shorter
// than the chunk's keys, argument_error for a null output, cuda_error when the
// launch fails.
template <mask M>
void build_dense_mask(const M& m, const chunk& c, bool* out, index_t row_stride,
                      cudaStream_t stream) {
  detail::launch_dense("build_dense_mask", m, c, out, row_stride, true, false, stream);
}

template <device_additive_scalar T, mask M>
void build_additive_mask(const M& m, const chunk& c, T* out, index_t row_stride,
                         cudaStream_t stream) {
  const float inf = __builtin_huge_valf();
  detail::launch_dense("build_additive_mask", m, c, out, row_stride, T(0.0f), T(-inf), stream);
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
