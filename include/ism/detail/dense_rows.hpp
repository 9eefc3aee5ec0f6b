// What the N x N formats (dense, additive, llamacpp) share: writing their one
// array a block of rows at a time, so an export holds the mask's intervals and
// one block, never the whole square; and reading a square of "visible" and
// "hidden" values back into runs.
#pragma once

#include "ism/detail/eigen.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/npy.hpp"
#include "ism/run_mask.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Calls f(T{}) with the C++ type of a floating-point dtype.
template <class F>
decltype(auto) with_float_type(npy_dtype dtype, F&& f) {
  switch (dtype) {
    case npy_dtype::float16:
      return f(Eigen::half{});
    case npy_dtype::bfloat16:
      return f(Eigen::bfloat16{});
    case npy_dtype::float32:
      return f(float{});
    default:
      throw argument_error("dtype " + std::string(npy_dtype_name(dtype)) +
                           " is not a floating-point dtype");
  }
}

// Rows are produced in blocks of about this many bytes.
inline constexpr std::size_t row_block_bytes = std::size_t{8} << 20;

// The memory a streamed (N, N) export holds besides the mask: one block of
// rows (plus one byte a token of slack), or the whole square when smaller.
inline std::uint64_t streamed_rows_bytes(index_t tokens, std::uint64_t item_bytes) {
  const auto n = static_cast<std::uint64_t>(tokens);
  return std::min<std::uint64_t>(row_block_bytes + n, item_bytes * n * n);
}

// Writes a (rows, cols) .npy of `dtype` whose items are T: fill(r0, r1, out)
// writes rows [r0, r1) into out. A uint8 file takes bool items as they are,
// 0 or 1.
template <class T, class Fill>
void stream_rows(std::ostream& os, npy_dtype dtype, index_t rows, index_t cols, Fill&& fill) {
  const std::vector<index_t> shape{rows, cols};
  npy_writer writer(os, dtype, shape);
  const index_t block = std::max<index_t>(
      1, static_cast<index_t>(row_block_bytes / (sizeof(T) * static_cast<std::size_t>(std::max<index_t>(cols, 1)))));
  const auto buffer =
      std::make_unique<T[]>(static_cast<std::size_t>(std::min(block, std::max<index_t>(rows, 1)) * cols));
  for (index_t r0 = 0; r0 < rows; r0 += block) {
    const index_t r1 = std::min(rows, r0 + block);
    const std::span<T> out(buffer.get(), static_cast<std::size_t>((r1 - r0) * cols));
    fill(r0, r1, out);
    writer.write_raw(std::as_bytes(std::span<const T>(out)));
  }
  writer.finish();
}

// The runs of a (rows, cols) array of items that are visible(x) or hidden(x);
// any other item is a format_error naming it and `expected`.
template <class T, class Visible, class Hidden>
run_mask decode_rows(const format_arrays& file, std::string_view name, std::span<const T> items,
                     index_t rows, index_t cols, Visible&& visible, Hidden&& hidden,
                     std::string_view expected,
                     index_t max_runs) {
  run_mask out(cols, max_runs);
  for (index_t q = 0; q < rows; ++q) {
    std::vector<key_run> runs;
    for (index_t k = 0; k < cols; ++k) {
      const T x = items[static_cast<std::size_t>(q * cols + k)];
      if (visible(x)) {
        if (!runs.empty() && runs.back().end == k)
          ++runs.back().end;
        else
          runs.push_back({k, k + 1});
      } else if (!hidden(x)) {
        file.fail(std::string(name) + "[" + std::to_string(q) + ", " + std::to_string(k) +
                  "] is " + std::to_string(static_cast<double>(x)) + "; expected " +
                  std::string(expected));
      }
    }
    out.add_row(std::move(runs));
  }
  return out;
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
