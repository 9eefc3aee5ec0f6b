// One loop behind every dense materialization: for each query row of a chunk,
// write `visible_value` where the mask sees the key and `hidden_value` elsewhere.
// Interval-backed masks fill three runs per row and never test an element.
#pragma once

#include <algorithm>
#include <span>
#include <string>

#include "ism/chunk.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

template <class T>
void check_buffer(std::span<T> out, const chunk& c, index_t row_stride) {
  if (row_stride < c.cols())
    throw shape_error("row_stride " + std::to_string(row_stride) + " is shorter than the " +
                      std::to_string(c.cols()) + " keys of chunk " + to_string(c));
  if (c.rows() == 0 || c.cols() == 0) return;
  if (c.rows() > 1 && row_stride > (max_index - c.cols()) / (c.rows() - 1))
    throw shape_error("chunk " + to_string(c) + " with row_stride " + std::to_string(row_stride) +
                      " spans more elements than index_t counts");
  const index_t needed = (c.rows() - 1) * row_stride + c.cols();
  if (static_cast<index_t>(out.size()) < needed)
    throw shape_error("buffer holds " + std::to_string(out.size()) + " elements but chunk " +
                      to_string(c) + " with row_stride " + std::to_string(row_stride) + " needs " +
                      std::to_string(needed));
}

template <mask M, class T>
void fill_rows(const M& m, const chunk& c, std::span<T> out, index_t row_stride, T visible_value,
               T hidden_value) {
  check_chunk(m, c);
  check_buffer(out, c, row_stride);
  if (c.cols() == 0) return;  // the buffer may be empty: no row pointer to form
  for (index_t q = c.q0; q < c.q1; ++q) {
    T* row = out.data() + (q - c.q0) * row_stride;  // (cols,)
    if constexpr (interval_backed_mask<M>) {
      // An empty row clamps to {k1, k1 - 1}: every column hidden.
      const row_interval r = clamp(m.interval(q), c.k0, c.k1);
      const index_t begin = r.lo - c.k0, end = r.hi + 1 - c.k0;
      std::fill(row, row + begin, hidden_value);
      std::fill(row + begin, row + end, visible_value);
      std::fill(row + end, row + c.cols(), hidden_value);
    } else {
      for (index_t k = c.k0; k < c.k1; ++k)
        row[k - c.k0] = m.visible(q, k) ? visible_value : hidden_value;
    }
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
