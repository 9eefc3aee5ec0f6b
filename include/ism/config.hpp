// Compile-time configuration shared by every ism header: the version, the
// host/device annotations, the unroll hint, the assertion hook and the index type.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define ISM_VERSION_MAJOR 0
#define ISM_VERSION_MINOR 1
#define ISM_VERSION_PATCH 0

// Functions usable from CUDA kernels carry ISM_HOST_DEVICE, functions usable only
// there ISM_DEVICE. Without a CUDA compiler both are plain `inline`, so the same
// header serves host-only builds.
#if defined(__CUDACC__)
#define ISM_HOST_DEVICE __host__ __device__ inline
#define ISM_DEVICE __device__ inline
#else
#define ISM_HOST_DEVICE inline
#define ISM_DEVICE inline
#endif

// Placed before an ISM_HOST_DEVICE template that host code may instantiate with a
// host-only type (interval_mask, whose arrays are std::vectors): nvcc otherwise
// warns about a device call that only a device instantiation would make.
#if defined(__CUDACC__)
#define ISM_HOST_DEVICE_TEMPLATE _Pragma("nv_exec_check_disable")
#else
#define ISM_HOST_DEVICE_TEMPLATE
#endif

// Unrolls the loop that follows. Register-blocked kernels keep their accumulators
// in registers only when their short loops are unrolled, which GCC does not do by
// itself at -O2. nvcc's host pass gets no hint: its front end rejects GCC's
// pragma, and GCC rejects the one nvcc passes through.
#if defined(__CUDA_ARCH__) || defined(__clang__)
#define ISM_UNROLL _Pragma("unroll")
#elif defined(__CUDACC__)
#define ISM_UNROLL
#elif defined(__GNUC__)
#define ISM_UNROLL _Pragma("GCC unroll 16")
#else
#define ISM_UNROLL
#endif

// ISM_ASSERT guards preconditions inside hot loops, where a typed exception per
// element would cost too much. It is active unless NDEBUG is set, and a user can
// define it before including ism to route failures elsewhere. Device code cannot
// print and abort, so there a failure traps: the kernel stops with an error the
// host sees at its next synchronization.
#ifndef ISM_ASSERT
#if defined(NDEBUG)
#define ISM_ASSERT(condition) ((void)0)
#elif defined(__CUDA_ARCH__)
#define ISM_ASSERT(condition) ((condition) ? (void)0 : __trap())
#else
#define ISM_ASSERT(condition)                                                                     \
  ((condition)                                                                                    \
       ? (void)0                                                                                  \
       : (std::fprintf(stderr, "%s:%d: ISM_ASSERT(%s) failed\n", __FILE__, __LINE__, #condition), \
          std::abort()))
#endif
#endif

namespace ism {
inline namespace v0 {

// Token positions and counts on the host. 64 bits so a packed row of millions of
// tokens, and the N x N pair counts derived from it, never overflow.
using index_t = std::int64_t;

// The largest index_t, usable in device code (std::numeric_limits is host-only
// under nvcc): an interval bound that means "no limit".
inline constexpr index_t max_index = INT64_MAX;

// ceil(a / b) for a >= 0 and b >= 1, without forming a + b - 1, which can
// overflow for positions or block sizes near the largest index_t.
ISM_HOST_DEVICE constexpr index_t ceil_div(index_t a, index_t b) noexcept {
  return a == 0 ? 0 : 1 + (a - 1) / b;
}

}  // namespace v0
}  // namespace ism
