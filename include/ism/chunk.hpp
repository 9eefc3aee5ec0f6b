// A chunk: queries [q0, q1) against keys [k0, k1), in absolute positions
// (docs/semantics.md#chunks-and-absolute-positions). No top-left or bottom-right alignment is implied; an
// engine's chunked prefill against a KV cache of k1 keys is {q0, q1, 0, k1}.
#pragma once

#include <string>

#include "ism/errors.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

struct chunk {
  index_t q0 = 0;
  index_t q1 = 0;
  index_t k0 = 0;
  index_t k1 = 0;

  ISM_HOST_DEVICE constexpr index_t rows() const noexcept { return q1 - q0; }
  ISM_HOST_DEVICE constexpr index_t cols() const noexcept { return k1 - k0; }
  friend bool operator==(const chunk&, const chunk&) = default;
};

// The whole square mask of an N-token row.
ISM_HOST_DEVICE constexpr chunk whole(index_t n) noexcept {
  return {0, n, 0, n};
}

inline std::string to_string(const chunk& c) {
  return "[" + std::to_string(c.q0) + ", " + std::to_string(c.q1) + ") x [" + std::to_string(c.k0) +
         ", " + std::to_string(c.k1) + ")";
}

// Throws shape_error for a reversed or negative range, or one that leaves a
// sized mask's rows or keys.
template <mask M>
void check_chunk(const M& m, const chunk& c) {
  if (c.q0 < 0 || c.k0 < 0 || c.q1 < c.q0 || c.k1 < c.k0)
    throw shape_error("chunk " + to_string(c) + " is not a pair of ranges 0 <= begin <= end");
  if constexpr (sized_mask<M>) {
    const index_t n = m.size();
    if (c.q1 > n || c.k1 > n)
      throw shape_error("chunk " + to_string(c) + " leaves the mask's " + std::to_string(n) +
                        " positions");
  }
}

}  // namespace v0
}  // namespace ism
