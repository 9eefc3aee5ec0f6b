// Block sizes (Bq, Bk) for block-sparse masks: a run-time pair, or compile-time
// constants for kernels whose tile shape is a template parameter. Both are read
// as `size.q` and `size.k`, so every builder takes either; building a block mask
// costs the same with both, since it divides once per run of rows, not per row.
#pragma once

#include <concepts>
#include <string>

#include "ism/config.hpp"
#include "ism/errors.hpp"

namespace ism {
inline namespace v0 {

// The default is FlexAttention's 128 x 128.
struct block_size {
  index_t q = 128;
  index_t k = 128;
  friend bool operator==(const block_size&, const block_size&) = default;
};

template <index_t Q, index_t K = Q>
struct fixed_block_size {
  static_assert(Q >= 1 && K >= 1, "ism: fixed_block_size needs blocks of at least one token");
  static constexpr index_t q = Q;
  static constexpr index_t k = K;
};

template <class S>
concept block_shape = requires(const S& s) {
  { s.q } -> std::convertible_to<index_t>;
  { s.k } -> std::convertible_to<index_t>;
};

inline std::string to_string(const block_size& s) {
  return std::to_string(s.q) + " x " + std::to_string(s.k);
}

// Throws argument_error for a block smaller than one token.
template <block_shape S>
void check_block_size(const S& s) {
  if (s.q < 1 || s.k < 1)
    throw argument_error("block size " + to_string(block_size{s.q, s.k}) +
                         " must be at least 1 x 1");
}

}  // namespace v0
}  // namespace ism
