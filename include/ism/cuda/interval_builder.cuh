// The segment function on the GPU: every token's interval from its segment and
// document, one thread per token, as make_interval_mask computes it on the host
// (include/ism/segment_function.hpp). The layout's segments and documents are
// copied to the device by the caller, once per layout.
//
// The device cannot report a paradigm that breaks its contract (an interval
// that is empty or leaves the token's document); run a user paradigm through
// make_interval_mask on the host once to check it. The built-in paradigms keep
// the contract by construction.
#pragma once

#include <cuda_runtime.h>

#include <string>
#include <type_traits>

#include "ism/cuda/cuda_error.cuh"
#include "ism/cuda/launch_shape.hpp"
#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

// A layout's arrays in device memory: layout::segments() and
// layout::documents() copied as they are, and the layout's size.
struct device_layout {
  const segment_span* segments = nullptr;  // (segment_count,), ascending
  index_t segment_count = 0;
  const document_span* documents = nullptr;
  index_t tokens = 0;
};

namespace detail {

// The segment holding token p: the last one that begins at or before it.
ISM_DEVICE const segment_span& segment_of(const device_layout& l, index_t p) {
  index_t first = 0, last = l.segment_count - 1;
  while (first < last) {
    const index_t middle = first + (last - first + 1) / 2;
    if (l.segments[middle].begin <= p)
      first = middle;
    else
      last = middle - 1;
  }
  return l.segments[first];
}

template <paradigm P>
__global__ void intervals_kernel(const P policy, const device_layout l, index_t* lo, index_t* hi) {
  for (index_t p = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < l.tokens;
       p += static_cast<index_t>(gridDim.x) * blockDim.x) {
    const segment_span& segment = segment_of(l, p);
    const row_interval r = policy.interval(token_context{p, segment, l.documents[segment.document]});
    lo[p] = r.lo;
    hi[p] = r.hi;
  }
}

}  // namespace detail

// Writes lo[p] and hi[p] for every token p of the layout (device arrays of
// l.tokens). Throws argument_error for a layout with tokens but no segments or
// null pointers, cuda_error when the launch fails.
template <paradigm P>
void build_intervals(const P& policy, const device_layout& l, index_t* lo, index_t* hi,
                     cudaStream_t stream) {
  static_assert(std::is_trivially_copyable_v<P>,
                "ism::cuda::build_intervals: the kernel takes the paradigm by value");
  if (l.tokens < 0)
    throw argument_error("build_intervals: negative token count " + std::to_string(l.tokens));
  if (l.tokens == 0) return;
  if (l.segment_count < 1 || l.segments == nullptr || l.documents == nullptr)
    throw argument_error("build_intervals: a layout of " + std::to_string(l.tokens) +
                         " tokens needs its segments and documents on the device");
  if (lo == nullptr || hi == nullptr) throw argument_error("build_intervals: lo or hi is null");
  detail::intervals_kernel<P><<<builder_blocks(l.tokens), builder_threads, 0, stream>>>(policy, l, lo, hi);
  check_launch("build_intervals");
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
