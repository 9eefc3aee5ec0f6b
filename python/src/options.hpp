// Keyword options as Python spells them, read into the library's types: a
// block size as B or (Bq, Bk), and the export options of one format.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <ism/ism.hpp>

#include <optional>
#include <string>

namespace ism_python {

namespace nb = nanobind;

// One side of a block: a Python int that fits 64 bits.
inline ism::index_t block_side_of(nb::handle side) {
  ism::index_t b = 0;
  if (!nb::try_cast(side, b, false))
    throw ism::argument_error("block size " + nb::cast<std::string>(nb::str(side)) +
                              " does not fit 64 bits");
  return b;
}

// B or (Bq, Bk). Throws argument_error for anything else; the sizes
// themselves are checked where they are used.
inline ism::block_size block_size_of(nb::handle block) {
  if (nb::isinstance<nb::int_>(block)) {
    const auto b = block_side_of(block);
    return {b, b};
  }
  if (nb::isinstance<nb::sequence>(block) && !nb::isinstance<nb::str>(block) &&
      nb::len(block) == 2 && nb::isinstance<nb::int_>(block[0]) &&
      nb::isinstance<nb::int_>(block[1]))
    return {block_side_of(block[0]), block_side_of(block[1])};
  throw ism::argument_error("block_size must be an integer B or a pair (Bq, Bk) of integers");
}

// The npy dtype named by `name` ("float16", "bfloat16", ...).
inline ism::npy_dtype dtype_of(const std::string& name) {
  for (const ism::npy_dtype d :
       {ism::npy_dtype::boolean, ism::npy_dtype::uint8, ism::npy_dtype::int32,
        ism::npy_dtype::int64, ism::npy_dtype::float16, ism::npy_dtype::bfloat16,
        ism::npy_dtype::float32, ism::npy_dtype::float64})
    if (ism::npy_dtype_name(d) == name) return d;
  throw ism::argument_error("dtype '" + name +
                            "' is not one of bool, uint8, int32, int64, float16, bfloat16, "
                            "float32 or float64");
}

// A format's options from keywords; an option the format does not take is an
// error rather than silently ignored.
inline ism::export_options export_options_of(const ism::export_format& f, nb::handle block_size,
                                             const std::optional<std::string>& dtype,
                                             std::optional<ism::index_t> pad,
                                             std::optional<bool> causal) {
  const auto refuse = [&](const char* option) {
    throw ism::argument_error("format " + f.name + " takes no " + option + " option");
  };
  ism::export_options o;
  if (!block_size.is_none()) {
    if (!f.takes_block) refuse("block_size");
    o.block = block_size_of(block_size);
  }
  if (dtype) {
    if (f.dtypes.empty()) refuse("dtype");
    o.dtype = dtype_of(*dtype);
  }
  if (pad) {
    if (!f.takes_pad) refuse("pad");
    o.pad = *pad;
  }
  if (causal) {
    if (!f.takes_causal) refuse("causal");
    o.causal = causal;
  }
  ism::check_export_options(f, o);
  return o;
}

}  // namespace ism_python
