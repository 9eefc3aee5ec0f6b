// A cheap 64-bit fingerprint of a mask over a chunk. A block mask keeps the
// fingerprint of the mask it was built from, so that attention can refuse a
// block mask paired with another mask (block_mask::check_built_from) instead of
// computing the wrong tiles.
//
// Interval-backed masks are fingerprinted row by row: the sum, mod 2^64, of a
// strong mix of each row q and its interval clamped to the chunk's keys. A sum,
// so that a growing block mask takes out the rows it rebuilds and adds the new
// ones in O(changed rows), and so that block classification can add each row
// as it reads it. Any mask is also fingerprinted by sampling: a mix of
// visible(q, k) at the chunk's four corners and at pairs drawn by a fixed-seed
// generator. Sampling is a probabilistic check: two masks that differ only at
// pairs it does not draw share that fingerprint.
#pragma once

#include <cstdint>

#include "ism/chunk.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

struct mask_fingerprint {
  std::uint64_t sampled = 0;  // visible(q, k) at the sample pairs: any mask
  std::uint64_t rows = 0;     // the rows' clamped intervals, when has_rows
  bool has_rows = false;      // the mask was interval-backed
  friend bool operator==(const mask_fingerprint&, const mask_fingerprint&) = default;
};

namespace detail {

// splitmix64's output function (Steele, Lea, Flood 2014): consecutive inputs
// give unrelated outputs, and every input bit moves every output bit.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The high and low halves of the 128-bit product a * b, folded by xor: one
// multiply that moves every input bit into most output bits (wyhash's mix).
constexpr std::uint64_t multiply_fold_portable(std::uint64_t a, std::uint64_t b) noexcept {
  const std::uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xffffffffULL, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo;
  const std::uint64_t lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  const std::uint64_t middle = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
  const std::uint64_t low = (middle << 32) | (lo_lo & 0xffffffffULL);
  const std::uint64_t high = hi_hi + (hi_lo >> 32) + (middle >> 32);
  return low ^ high;
}

inline std::uint64_t multiply_fold(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 product;
  const product p = static_cast<product>(a) * b;
  return static_cast<std::uint64_t>(p ^ (p >> 64));
#else
  return multiply_fold_portable(a, b);
#endif
}

// Row q's share of mask_fingerprint::rows, r being its interval clamped to the
// chunk's keys: canonical when empty, so all empty rows of a chunk mix alike.
// One wide multiply per row (and one for q) keeps the fingerprint at a few
// percent of a build; splitmix64's chain of multiplies per row measured several
// times that. The constants keep both factors away from zero, where the
// product would forget the other one: with lo = q = 0 in the first row of
// every mask.
inline std::uint64_t row_fingerprint(index_t q, row_interval r) noexcept {
  const std::uint64_t position =
      static_cast<std::uint64_t>(q) * 0x9e3779b97f4a7c15ULL + 0xa0761d6478bd642fULL;
  return multiply_fold(static_cast<std::uint64_t>(r.lo) ^ position,
                       static_cast<std::uint64_t>(r.hi) ^ 0xe7037ed1a0b428dbULL);
}

// Rows [q_begin, q_end) of m, their intervals clamped to the keys [k0, k1).
template <interval_backed_mask M>
std::uint64_t rows_fingerprint(const M& m, index_t q_begin, index_t q_end, index_t k0,
                               index_t k1) {
  std::uint64_t sum = 0;
  for (index_t q = q_begin; q < q_end; ++q) sum += row_fingerprint(q, clamp(m.interval(q), k0, k1));
  return sum;
}

inline constexpr int sampled_pairs = 64;
inline constexpr std::uint64_t sample_seed = 0x15a3'b10c'3a5c'0001ULL;

template <mask M>
std::uint64_t sampled_fingerprint(const M& m, const chunk& c) {
  if (c.rows() == 0 || c.cols() == 0) return 0;
  std::uint64_t h = 0;
  const auto sample = [&](index_t q, index_t k) { h = mix64(h + (m.visible(q, k) ? 2 : 1)); };
  sample(c.q0, c.k0);
  sample(c.q0, c.k1 - 1);
  sample(c.q1 - 1, c.k0);
  sample(c.q1 - 1, c.k1 - 1);
  const auto rows = static_cast<std::uint64_t>(c.rows());
  const auto cols = static_cast<std::uint64_t>(c.cols());
  for (std::uint64_t i = 0; i < sampled_pairs; ++i)
    sample(c.q0 + static_cast<index_t>(mix64(sample_seed + 2 * i) % rows),
           c.k0 + static_cast<index_t>(mix64(sample_seed + 2 * i + 1) % cols));
  return h;
}

}  // namespace detail

// The fingerprint of m over chunk c, which must fit m (see check_chunk).
template <mask M>
mask_fingerprint make_fingerprint(const M& m, const chunk& c) {
  mask_fingerprint f;
  f.sampled = detail::sampled_fingerprint(m, c);
  if constexpr (interval_backed_mask<M>) {
    f.rows = detail::rows_fingerprint(m, c.q0, c.q1, c.k0, c.k1);
    f.has_rows = true;
  }
  return f;
}

// Whether m over c has fingerprint f: by rows when both sides have them, by
// the samples otherwise (a mask without intervals, or a fingerprint taken of one).
template <mask M>
bool fingerprint_matches(const mask_fingerprint& f, const M& m, const chunk& c) {
  if constexpr (interval_backed_mask<M>)
    if (f.has_rows) return f.rows == detail::rows_fingerprint(m, c.q0, c.q1, c.k0, c.k1);
  return f.sampled == detail::sampled_fingerprint(m, c);
}

}  // namespace v0
}  // namespace ism
