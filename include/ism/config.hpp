// Compile-time configuration shared by every ism header: the version, the
// host/device annotation and the assertion hook.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define ISM_VERSION_MAJOR 0
#define ISM_VERSION_MINOR 1
#define ISM_VERSION_PATCH 0

// Functions usable from CUDA kernels carry ISM_HOST_DEVICE. Without nvcc it is
// plain `inline`, so the same header serves host-only builds.
#if defined(__CUDACC__)
#define ISM_HOST_DEVICE __host__ __device__ inline
#else
#define ISM_HOST_DEVICE inline
#endif

// ISM_ASSERT guards preconditions inside hot loops, where a typed exception per
// element would cost too much. It is active unless NDEBUG is set, and a user can
// define it before including ism to route failures elsewhere.
#ifndef ISM_ASSERT
#if defined(NDEBUG)
#define ISM_ASSERT(condition) ((void)0)
#elif defined(__CUDA_ARCH__)
#define ISM_ASSERT(condition) ((void)0)
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

}  // namespace v0
}  // namespace ism
