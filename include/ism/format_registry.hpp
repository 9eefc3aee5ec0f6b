// Every export format, in one list. A new format is one header in
// include/ism/exports/ and one line here; the CLI's `ism export` and
// `ism verify`, the tests and the Python package find it by name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ism/errors.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/additive.hpp"
#include "ism/exports/cu_seqlens.hpp"
#include "ism/exports/cudnn_endpoints.hpp"
#include "ism/exports/dense.hpp"
#include "ism/exports/fa4_block_sparse.hpp"
#include "ism/exports/flashinfer.hpp"
#include "ism/exports/flashinfer_ranges.hpp"
#include "ism/exports/flashmask.hpp"
#include "ism/exports/flex.hpp"
#include "ism/exports/hf.hpp"
#include "ism/exports/intervals.hpp"
#include "ism/exports/llamacpp.hpp"
#include "ism/exports/magi.hpp"
#include "ism/exports/vllm.hpp"
#include "ism/exports/vllm_ids.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

// A format that streams nothing writes what its encoder makes.
inline export_format with_default_write(export_format f) {
  if (!f.write)
    f.write = [encode = f.encode](std::ostream& os, const layout& s, const interval_mask& m,
                                  const export_options& o) {
      write_arrays(os, encode(s, m, o).arrays);
    };
  return f;
}

}  // namespace detail

// In the order the CLI lists them.
inline const std::vector<export_format>& formats() {
  static const std::vector<export_format> all = [] {
    std::vector<export_format> out;
    for (export_format f : {dense_format(), additive_format(), intervals_format(), flex_format(),
                            flashinfer_format(), flashmask_format(), hf_format(), vllm_format(),
                            llamacpp_format(), cu_seqlens_format(), flashinfer_ranges_format(),
                            cudnn_endpoints_format(), magi_format(), vllm_ids_format(),
                            fa4_block_sparse_format()})
      out.push_back(detail::with_default_write(std::move(f)));
    return out;
  }();
  return all;
}

// "dense, additive, ... or cu_seqlens"
inline std::string format_names() {
  std::vector<std::string> names;
  for (const export_format& f : formats()) names.push_back(f.name);
  return detail::spelled_choices(names);
}

// Throws unknown_format_error listing the formats.
inline const export_format& format_from_name(std::string_view name) {
  for (const export_format& f : formats())
    if (f.name == name) return f;
  throw unknown_format_error("unknown format '" + std::string(name) + "'; expected " +
                             format_names());
}

// Checks options against what `format` takes: a dtype it lists, a block size
// of at least 1 x 1, a row padding of at least 1. Throws argument_error.
inline void check_export_options(const export_format& format, const export_options& o) {
  if (o.dtype) {
    bool listed = false;
    std::string accepted;
    for (const npy_dtype d : format.dtypes) {
      listed = listed || d == *o.dtype;
      accepted += (accepted.empty() ? "" : " or ") + std::string(npy_dtype_name(d));
    }
    if (!listed)
      throw argument_error(
          "dtype " + std::string(npy_dtype_name(*o.dtype)) + " does not apply to format " +
          format.name +
          (format.dtypes.empty() ? std::string(", whose arrays have fixed dtypes")
                                 : "; expected " + accepted));
  }
  check_block_size(o.block);
  if (o.pad < 1)
    throw argument_error("row padding " + std::to_string(o.pad) + " must be at least 1");
}

// The arrays of `format` for a layout under a paradigm, in memory.
inline encoded_arrays export_arrays(const layout& sequence, const interval_mask& mask,
                                    std::string_view format, const export_options& options = {}) {
  const export_format& f = format_from_name(format);
  check_export_options(f, options);
  return f.encode(sequence, mask, options);
}

}  // namespace v0
}  // namespace ism
