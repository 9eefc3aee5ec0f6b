// How the CUDA mask builders cut `count` independent items into a launch:
// blocks of 256 threads, at most 2^20 blocks, and a grid-stride loop over the
// rest, so that no count past the grid's limits is ever launched. Plain host
// code; the kernels read the same numbers from their built-ins.
#pragma once

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

inline constexpr unsigned builder_threads = 256;
inline constexpr index_t builder_max_blocks = index_t{1} << 20;

inline unsigned builder_blocks(index_t count) {
  const index_t blocks = ceil_div(count, builder_threads);
  return static_cast<unsigned>(blocks < builder_max_blocks ? blocks : builder_max_blocks);
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
