// additive (docs/formats.md#additive): bias [N, N], 0 where visible and -inf
// where not, the tensor bias of SDPA, HF eager attention and xformers; float32,
// or float16 and bfloat16 for engines that add it in half precision (NumPy has
// no bfloat16: its bits are stored as uint16). Streamed a block of rows at a
// time.
#pragma once

#include <cmath>
#include <initializer_list>
#include <span>
#include <vector>

#include "ism/additive_mask.hpp"
#include "ism/detail/dense_rows.hpp"
#include "ism/export_format.hpp"

namespace ism {
inline namespace v0 {

template <additive_scalar T>
struct additive_export {
  dense_additive_mask<T> bias;  // (N, N)
};

template <additive_scalar T>
std::vector<named_array> named_arrays(const additive_export<T>& x) {
  const std::span<const T> cells(x.bias.data(), static_cast<std::size_t>(x.bias.size()));
  return {{"bias", make_npy_array(cells, {x.bias.rows(), x.bias.cols()})}};
}

namespace detail {

// An (N, N) array, or (R >= N, N) with `padded_rows`, of 0 (visible) and -inf
// (hidden) in one of `dtypes`. Throws format_error for a wrong dtype or shape,
// or an element other than 0 or -inf: a large finite negative number is not
// the same mask once added in half precision, so it is not taken as hidden.
inline run_mask decode_additive_rows(std::span<const named_array> arrays, const layout& sequence,
                                     std::string_view format, std::string_view name,
                                     std::initializer_list<npy_dtype> dtypes, bool padded_rows,
                                     index_t max_runs) {
  const format_arrays file(format, arrays, {name});
  const index_t n = sequence.size();
  const npy_dtype dtype = file.check(name, dtypes, {padded_rows ? any_extent : n, n});
  const index_t rows = file.extent(name, 0);
  if (rows < n)
    file.fail(std::string(name) + " has " + std::to_string(rows) + " rows, fewer than the " +
              std::to_string(n) + " tokens");
  return with_float_type(dtype, [&](auto zero) {
    using T = decltype(zero);
    return decode_rows(
        file, name, file.values<T>(name), rows, n,
        [](T x) { return static_cast<float>(x) == 0.0f; },
        [](T x) { return static_cast<float>(x) == -INFINITY; }, "0 (visible) or -inf (hidden)",
        max_runs);
  });
}

}  // namespace detail

inline export_format additive_format() {
  export_format f;
  f.name = "additive";
  f.arrays = {"bias"};
  f.summary = ".npy float32 bias [N, N]: 0 visible, -inf hidden (--dtype float16, or bfloat16 "
              "stored as raw bits in uint16: view them as bfloat16)";
  f.dtypes = {npy_dtype::float32, npy_dtype::float16, npy_dtype::bfloat16};
  f.quadratic = true;
  f.shapes = [](const layout& s, const mask_source&, const export_options& o) {
    return std::vector<named_array>{
        {"bias", {o.dtype.value_or(npy_dtype::float32), {s.size(), s.size()}, {}}}};
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return detail::streamed_rows_bytes(s.size(), 4);
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options& o) {
    return detail::with_float_type(o.dtype.value_or(npy_dtype::float32), [&](auto zero) {
      using T = decltype(zero);
      return own_arrays(additive_export<T>{additive_mask<T>(m)});
    });
  };
  f.write = [](std::ostream& os, const layout&, const interval_mask& m, const export_options& o) {
    const npy_dtype dtype = o.dtype.value_or(npy_dtype::float32);
    detail::with_float_type(dtype, [&](auto zero) {
      using T = decltype(zero);
      detail::stream_rows<T>(os, dtype, m.size(), m.size(),
                             [&](index_t r0, index_t r1, std::span<T> out) {
                               fill_additive_mask<T>(m, {r0, r1, 0, m.size()}, out, m.size());
                             });
    });
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return detail::decode_additive_rows(arrays, in.sequence, "additive", "bias",
                                        {npy_dtype::float32, npy_dtype::float16, npy_dtype::bfloat16},
                                        false, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
