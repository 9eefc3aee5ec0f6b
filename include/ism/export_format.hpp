// What an export format is, declared once in the library: its name, its arrays
// (name, dtype, shape), the options it takes, an encoder from a layout and its
// mask, and a decoder that turns the arrays back into visible(q, k) and
// rejects malformed ones. Each format header (include/ism/exports/) makes one
// export_format; format_registry.hpp lists them. The CLI's format list, help
// and validation, `ism verify`, the tests and the Python package all read it.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ism/block_size.hpp"
#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"
#include "ism/npy.hpp"
#include "ism/run_mask.hpp"

namespace ism {
inline namespace v0 {

// The options a format may take; each format says which it reads.
struct export_options {
  block_size block{};              // flex: query and key block sizes
  std::optional<npy_dtype> dtype;  // dense, additive, llamacpp: element type (empty: the default)
  index_t pad = 1;                 // llamacpp: rows padded to a multiple of pad
  std::optional<bool> causal;      // cu_seqlens, decoding: the engine's causal flag (empty: the
                                   // flag the mask needs)
};

// Arrays in memory and what keeps their bytes alive: the export itself, so
// nothing is copied on the way out (the Python package hands them to NumPy).
struct encoded_arrays {
  std::shared_ptr<const void> owner;
  std::vector<named_array> arrays;
};

template <class Export>
encoded_arrays own_arrays(Export x) {
  auto owner = std::make_shared<const Export>(std::move(x));
  std::vector<named_array> arrays = named_arrays(*owner);
  return {std::move(owner), std::move(arrays)};
}

// What a decoder reads the arrays against: the layout, the options the file
// was written with, and the mask an engine would attach as its on-the-fly
// predicate (FlexAttention's mask_mod for partial blocks): the contract's
// intervals, which formats that carry the whole mask ignore.
struct decode_input {
  const layout& sequence;
  const interval_mask& mask_mod;
  export_options options;
  index_t max_runs = unlimited_runs;  // the decoded run_mask's budget
};

// The mask of the layout being exported, built on first request.
using mask_source = std::function<const interval_mask&()>;

struct export_format {
  std::string name;
  std::string summary;          // one line: what the engine takes, for help text
  std::vector<std::string> arrays;  // the arrays' names, in the order written
  std::vector<npy_dtype> dtypes;  // element types a user may choose, the default first; empty: fixed
  bool takes_block = false;
  bool takes_pad = false;
  bool takes_causal = false;  // its decoder reads options.causal (the engine's flag)
  bool quadratic = false;  // grows faster than N: `intervals` is the way out

  // The arrays' names, dtypes and shapes, without data: sizes the file before
  // any work. Only formats whose shapes depend on the mask (hf, vllm,
  // cu_seqlens) ask `mask` for it, so the others size a file before the mask
  // is built. Throws format_error when the format cannot express the mask.
  std::function<std::vector<named_array>(const layout&, const mask_source& mask,
                                         const export_options&)>
      shapes;
  // Bytes held at the peak of write(), besides the layout and the mask's 16 a
  // token, from the layout alone: bounds memory before anything is built.
  std::function<std::uint64_t(const layout&, const export_options&)> working_bytes;
  std::function<encoded_arrays(const layout&, const interval_mask&, const export_options&)> encode;
  // Writes the .npy (one array) or .npz file. Formats whose arrays are N x N
  // stream them a block of rows at a time; the others write what encode makes.
  std::function<void(std::ostream&, const layout&, const interval_mask&, const export_options&)>
      write;
  // Throws format_error naming the format and the array for malformed arrays.
  std::function<run_mask(std::span<const named_array>, const decode_input&)> decode;
};

namespace detail {

// A byte count estimated in floating point, where a product of extents could
// overflow 64 bits, capped at the largest count.
inline std::uint64_t saturated_bytes(double bytes) {
  constexpr auto most = std::numeric_limits<std::uint64_t>::max();
  return bytes >= static_cast<double>(most) ? most : static_cast<std::uint64_t>(bytes);
}

}  // namespace detail

// Writes arrays as one .npy, or as an .npz when there are several.
inline void write_arrays(std::ostream& os, std::span<const named_array> arrays) {
  if (arrays.size() == 1)
    write_npy(os, arrays.front().array);
  else
    write_npz(os, arrays);
}

}  // namespace v0
}  // namespace ism
