// Which elements of the m16n8k16 tensor-core tiles each lane of a warp holds,
// as the PTX ISA's "matrix fragments for mma.m16n8k16" section specifies for
// 16-bit A and B and 32-bit accumulators. The forward kernel reads and writes
// its fragments through these functions alone, and the host tests check them:
// each lane-element pair covers every matrix element exactly once, and the
// accumulator tiles of S = Q K^T double as the A operand of P V.
#pragma once

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

inline constexpr int warp_lanes = 32;
inline constexpr int mma_m = 16;
inline constexpr int mma_n = 8;
inline constexpr int mma_k = 16;

// A matrix position in a fragment's tile.
struct fragment_position {
  int row;
  int col;
  friend constexpr bool operator==(const fragment_position&, const fragment_position&) = default;
};

// Lanes come in 8 groups of 4: the group picks the row (of A and C) or the
// column (of B), the lane within the group the pair of columns (of A and C) or
// rows (of B).
ISM_HOST_DEVICE constexpr int lane_group(int lane) noexcept { return lane >> 2; }
ISM_HOST_DEVICE constexpr int lane_in_group(int lane) noexcept { return lane & 3; }

// A (16 x 16, row-major): element i in [0, 8) of a lane, held two per 32-bit
// register (register i / 2, the lower half first).
ISM_HOST_DEVICE constexpr fragment_position a_element(int lane, int i) noexcept {
  return {lane_group(lane) + ((i >> 1) & 1) * 8, lane_in_group(lane) * 2 + (i & 1) + (i >> 2) * 8};
}

// B (16 x 8, column-major, row = k): element i in [0, 4), two per register.
ISM_HOST_DEVICE constexpr fragment_position b_element(int lane, int i) noexcept {
  return {lane_in_group(lane) * 2 + (i & 1) + (i >> 1) * 8, lane_group(lane)};
}

// C and D (16 x 8, float): element i in [0, 4), one per register.
ISM_HOST_DEVICE constexpr fragment_position c_element(int lane, int i) noexcept {
  return {lane_group(lane) + (i >> 1) * 8, lane_in_group(lane) * 2 + (i & 1)};
}

// Which accumulator holds element i of the A operand (16 x 16) when A is the
// concatenation of two accumulator tiles (16 x 8 each) side by side: tile
// (i >> 2), element (i & 3), in the same lane. This is why P V needs no shuffle.
struct accumulator_slot {
  int tile;
  int element;
};
ISM_HOST_DEVICE constexpr accumulator_slot a_from_accumulators(int i) noexcept {
  return {i >> 2, i & 3};
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
