// llamacpp (docs/formats.md#llamacpp): kq_mask [rows, Lk], float16 or float32, the KQ mask
// ggml adds to the attention logits: key index contiguous, 0 where visible,
// -INFINITY where hidden. Row i is query c.q0 + i of the chunk and column j is
// key c.k0 + j, absolute positions (docs/semantics.md#chunks-and-absolute-positions). llama.cpp builds this
// mask per micro-batch, one row per batch token and one column per KV-cache
// cell, so it matches when cell j holds position c.k0 + j: a contiguous cache
// from position 0, and chunk {q0, q1, 0, q1} for a prefill of queries [q0, q1).
//
// ggml builds from before GGML_KQ_MASK_PAD was removed (late 2025) want the
// rows padded to a multiple of it, 64 in the last releases that had it
// (ggml_kq_mask_pad); padding rows are all -INFINITY. Later builds want none,
// the default pad of 1. The array is dense by nature: writers that cannot hold
// it stream it with fill_llamacpp_rows, a block of rows at a time.
#pragma once

#include "ism/detail/eigen.hpp"
#include <algorithm>
#include <concepts>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "ism/additive_mask.hpp"
#include "ism/detail/dense_rows.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/additive.hpp"

namespace ism {
inline namespace v0 {

// The element types ggml accepts for the KQ mask.
template <class T>
concept ggml_mask_scalar = std::same_as<T, Eigen::half> || std::same_as<T, float>;

// GGML_KQ_MASK_PAD in the last ggml releases that padded the mask's rows.
inline constexpr index_t ggml_kq_mask_pad = 64;

template <ggml_mask_scalar T>
struct llamacpp_export {
  index_t rows = 0;  // the chunk's query rows, padded
  index_t keys = 0;
  std::vector<T> kq_mask;  // (rows, keys)
};

// The chunk's rows rounded up to a multiple of pad. Throws argument_error for a
// pad below 1 and shape_error when the rounded count overflows index_t.
inline index_t llamacpp_padded_rows(index_t rows, index_t pad) {
  if (pad < 1)
    throw argument_error("llamacpp: row padding " + std::to_string(pad) + " must be at least 1");
  const index_t whole = rows - rows % pad;
  if (whole == rows) return rows;
  if (whole > max_index - pad)
    throw shape_error("llamacpp: " + std::to_string(rows) + " rows padded to a multiple of " +
                      std::to_string(pad) + " overflow a 64-bit count");
  return whole + pad;
}

// The array's name, dtype and shape with no data: enough for npy_bytes to size
// the file before the export is built.
template <ggml_mask_scalar T>
std::vector<named_array> llamacpp_shapes(index_t rows, index_t keys) {
  return {{"kq_mask", {npy_dtype_of<T>, {rows, keys}, {}}}};
}

// Writes rows [first_row, first_row + rows) of the padded array of chunk c into
// out, (rows, c.cols()) in C order; rows at or past c.rows() are padding.
// Throws shape_error for a chunk that does not fit m or a buffer that is too
// small, argument_error for a negative first_row or rows.
template <ggml_mask_scalar T, mask M>
void fill_llamacpp_rows(const M& m, const chunk& c, index_t first_row, index_t rows,
                        std::span<T> out) {
  check_chunk(m, c);
  if (first_row < 0 || rows < 0)
    throw argument_error("llamacpp: first_row " + std::to_string(first_row) + " and rows " +
                         std::to_string(rows) + " must not be negative");
  if (rows > 0 && c.cols() > 0 &&
      (rows > max_index / c.cols() || static_cast<index_t>(out.size()) < rows * c.cols()))
    throw shape_error("llamacpp: a buffer of " + std::to_string(out.size()) + " elements for " +
                      std::to_string(rows) + " rows of " + std::to_string(c.cols()) + " keys");
  const index_t begin = std::min(first_row, c.rows());
  const index_t mask_rows = std::min(rows, c.rows() - begin);
  fill_additive_mask<T>(m, {c.q0 + begin, c.q0 + begin + mask_rows, c.k0, c.k1}, out, c.cols());
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(mask_rows * c.cols()),
            out.begin() + static_cast<std::ptrdiff_t>(rows * c.cols()),
            T(-std::numeric_limits<float>::infinity()));
}

// In O(rows x keys). Throws as llamacpp_padded_rows and fill_llamacpp_rows do,
// and shape_error for an array larger than memory can address.
template <ggml_mask_scalar T = Eigen::half, mask M>
llamacpp_export<T> export_llamacpp(const M& m, const chunk& c, index_t pad = 1) {
  check_chunk(m, c);
  llamacpp_export<T> out;
  out.rows = llamacpp_padded_rows(c.rows(), pad);
  out.keys = c.cols();
  if (out.keys > 0 && static_cast<std::uint64_t>(out.rows) >
                          std::vector<T>().max_size() / static_cast<std::uint64_t>(out.keys))
    throw shape_error("llamacpp: " + std::to_string(out.rows) + " rows (padded to a multiple of " +
                      std::to_string(pad) + ") of " + std::to_string(out.keys) +
                      " keys are more elements than a vector holds");
  out.kq_mask.resize(static_cast<std::size_t>(out.rows * out.keys));
  fill_llamacpp_rows<T>(m, c, 0, out.rows, std::span<T>(out.kq_mask));
  return out;
}

template <ggml_mask_scalar T = Eigen::half, sized_mask M>
llamacpp_export<T> export_llamacpp(const M& m, index_t pad = 1) {
  return export_llamacpp<T>(m, whole(m.size()), pad);
}

// The arrays to write; they point into x, which must outlive them.
template <ggml_mask_scalar T>
std::vector<named_array> named_arrays(const llamacpp_export<T>& x) {
  std::vector<named_array> out = llamacpp_shapes<T>(x.rows, x.keys);
  out[0].array.data = std::as_bytes(std::span(x.kq_mask));
  return out;
}

inline export_format llamacpp_format() {
  export_format f;
  f.name = "llamacpp";
  f.arrays = {"kq_mask"};
  f.summary = ".npy float16 kq_mask [N', N]: 0 visible, -inf hidden (--dtype float32); --pad 64 "
              "pads rows to a multiple of 64 with -inf rows";
  f.dtypes = {npy_dtype::float16, npy_dtype::float32};
  f.takes_pad = true;
  f.quadratic = true;
  const auto element = [](const export_options& o) { return o.dtype.value_or(npy_dtype::float16); };
  f.shapes = [element](const layout& s, const mask_source&, const export_options& o) {
    return std::vector<named_array>{
        {"kq_mask", {element(o), {llamacpp_padded_rows(s.size(), o.pad), s.size()}, {}}}};
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return detail::streamed_rows_bytes(s.size(), 4);
  };
  f.encode = [element](const layout&, const interval_mask& m, const export_options& o) {
    if (element(o) == npy_dtype::float32) return own_arrays(export_llamacpp<float>(m, o.pad));
    return own_arrays(export_llamacpp<Eigen::half>(m, o.pad));
  };
  f.write = [element](std::ostream& os, const layout&, const interval_mask& m,
                      const export_options& o) {
    const index_t rows = llamacpp_padded_rows(m.size(), o.pad);
    detail::with_float_type(element(o), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (ggml_mask_scalar<T>)
        detail::stream_rows<T>(os, element(o), rows, m.size(),
                               [&](index_t r0, index_t r1, std::span<T> out) {
                                 fill_llamacpp_rows<T>(m, whole(m.size()), r0, r1 - r0, out);
                               });
    });
  };
  // Rows past the N tokens are padding and must be all hidden, which comparing
  // them with the contract's (absent, so empty) rows checks.
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return detail::decode_additive_rows(arrays, in.sequence, "llamacpp", "kq_mask",
                                        {npy_dtype::float16, npy_dtype::float32}, true, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
