// Masks of a layout under a paradigm: the intervals, dense masks of any
// chunk, and block masks (docs/semantics.md#visibility,
// docs/semantics.md#block-classification).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <ism/ism.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "options.hpp"

namespace ism_python {
namespace {

using chunk_tuple = std::tuple<index_t, index_t, index_t, index_t>;

ism::chunk chunk_of(const std::optional<chunk_tuple>& c, index_t n) {
  if (!c) return ism::whole(n);
  const auto [q0, q1, k0, k1] = *c;
  return {q0, q1, k0, k1};
}

nb::tuple intervals(const ism::layout& sequence, const ism::any_paradigm& paradigm) {
  auto* mask = new ism::interval_mask(paradigm.intervals(sequence));
  const nb::capsule keep = owner_capsule(mask);
  const std::vector<index_t> shape{mask->size()};
  return nb::make_tuple(view_array(mask->lo().data(), ism::npy_dtype::int64, shape, keep),
                        view_array(mask->hi().data(), ism::npy_dtype::int64, shape, keep));
}

// Items of T filled by `fill`, handed to NumPy as `dtype`.
template <class T>
numpy_array filled(const ism::interval_mask& m, const ism::chunk& c, ism::npy_dtype dtype,
                   void (*fill)(const ism::interval_mask&, const ism::chunk&, std::span<T>,
                                index_t)) {
  ism::check_chunk(m, c);
  const auto count = static_cast<std::size_t>(c.rows() * c.cols());
  const buffer<T> out = make_buffer<T>(count);
  {
    const nb::gil_scoped_release unlocked;
    fill(m, c, std::span<T>(out.items, count), c.cols());
  }
  return view_array(out.items, dtype, {c.rows(), c.cols()}, out.owner);
}

// Additive masks in 16-bit types leave as their bits; the Python layer gives
// them their NumPy dtype.
numpy_array dense(const ism::layout& sequence, const ism::any_paradigm& paradigm,
                  std::optional<chunk_tuple> chunk, const std::string& dtype) {
  const ism::interval_mask m = paradigm.intervals(sequence);
  const ism::chunk c = chunk_of(chunk, m.size());
  using ism::interval_mask;
  if (dtype == "bool")
    return filled<bool>(m, c, ism::npy_dtype::boolean, &ism::fill_dense_mask<interval_mask>);
  if (dtype == "float32")
    return filled<float>(m, c, ism::npy_dtype::float32,
                         &ism::fill_additive_mask<float, interval_mask>);
  if (dtype == "float16")
    return filled<Eigen::half>(m, c, ism::npy_dtype::float16,
                               &ism::fill_additive_mask<Eigen::half, interval_mask>);
  if (dtype == "bfloat16")
    return filled<Eigen::bfloat16>(m, c, ism::npy_dtype::bfloat16,
                                   &ism::fill_additive_mask<Eigen::bfloat16, interval_mask>);
  throw ism::argument_error("dense: dtype '" + dtype +
                            "' is not one of bool, float32, float16 or bfloat16");
}

const char* class_name(ism::block_class c) {
  switch (c) {
    case ism::block_class::empty:
      return "empty";
    case ism::block_class::partial:
      return "partial";
    case ism::block_class::full:
      return "full";
  }
  return "?";
}

ism::block_mask make_block_mask(const ism::layout& sequence, const ism::any_paradigm& paradigm,
                                nb::handle block, std::optional<chunk_tuple> chunk) {
  const ism::block_size size = block_size_of(block);
  ism::check_block_size(size);
  const ism::chunk c = chunk_of(chunk, sequence.size());
  const nb::gil_scoped_release unlocked;
  // From the layout, a window of rows at a time: no N-row interval mask.
  return ism::make_block_mask(sequence, paradigm, c, size);
}

// A CSR list pair of the block mask, viewed in place; the BlockMask keeps it.
nb::tuple csr(const ism::block_csr& lists, nb::handle owner) {
  const index_t count = lists.offsets[lists.lists];
  return nb::make_tuple(
      view_array(lists.offsets, ism::npy_dtype::int64, {lists.lists + 1}, owner),
      view_array(lists.indices, ism::npy_dtype::int32, {count}, owner));
}

// FlexAttention's arrays (the flex export) of the mask whose row q sees keys
// lo[q]..hi[q]: ism.torch passes a layout's intervals padded with rows that
// see nothing, so a batch of layouts shares one shape. The arrays are copied
// in, since interval_mask owns its bounds; the caller's are not kept.
using row_bounds = nb::ndarray<nb::ro, nb::device::cpu, nb::ndim<1>, std::int64_t, nb::c_contig>;

nb::dict flex_arrays(const row_bounds& lo, const row_bounds& hi, nb::handle block) {
  const ism::block_size size = block_size_of(block);
  ism::check_block_size(size);
  const ism::interval_mask mask(std::vector<index_t>(lo.data(), lo.data() + lo.size()),
                                std::vector<index_t>(hi.data(), hi.data() + hi.size()));
  ism::encoded_arrays arrays = [&] {
    const nb::gil_scoped_release unlocked;
    return ism::own_arrays(ism::export_flex(ism::make_block_mask(mask, size)));
  }();
  return arrays_to_dict(std::move(arrays));
}

}  // namespace

void bind_masks(nb::module_& m) {
  m.def("intervals", &intervals, nb::arg("layout"), nb::arg("paradigm"),
        "(lo, hi): int64 arrays (N,); row q sees keys lo[q]..hi[q] inclusive, and hi is the "
        "segment function f (docs/semantics.md#visibility). No copy: the arrays are the "
        "library's own.");
  m.def("dense", &dense, nb::arg("layout"), nb::arg("paradigm"), nb::arg("chunk") = nb::none(),
        nb::arg("dtype") = "bool",
        "The mask of chunk (q0, q1, k0, k1) (the whole row by default) as a (q1 - q0, k1 - k0) "
        "array: bool (True = visible), or additive float32/float16/bfloat16 (0 visible, -inf "
        "hidden).");

  nb::class_<ism::block_mask>(
      m, "BlockMask",
      "Tiles of a chunk classified empty, partial or full, as CSR lists in both directions "
      "(docs/semantics.md#block-classification). The arrays are views into it.")
      .def_prop_ro("block_size",
                   [](const ism::block_mask& b) {
                     return std::pair<index_t, index_t>(b.block_size().q, b.block_size().k);
                   })
      .def_prop_ro("chunk",
                   [](const ism::block_mask& b) {
                     const ism::chunk& c = b.range();
                     return chunk_tuple(c.q0, c.q1, c.k0, c.k1);
                   })
      .def_prop_ro("query_blocks", &ism::block_mask::query_blocks)
      .def_prop_ro("key_blocks", &ism::block_mask::key_blocks)
      .def_prop_ro("full_blocks", &ism::block_mask::full_blocks)
      .def_prop_ro("partial_blocks", &ism::block_mask::partial_blocks)
      .def("classify",
           [](const ism::block_mask& b, index_t qb, index_t kb) {
             if (qb < 0 || qb >= b.query_blocks() || kb < 0 || kb >= b.key_blocks())
               throw ism::argument_error("classify: tile (" + std::to_string(qb) + ", " +
                                         std::to_string(kb) + ") is outside the " +
                                         std::to_string(b.query_blocks()) + " x " +
                                         std::to_string(b.key_blocks()) + " grid");
             return class_name(b.classify(qb, kb));
           },
           nb::arg("query_block"), nb::arg("key_block"), "'empty', 'partial' or 'full'.")
      .def_prop_ro("full_kv",
                   [](nb::handle self) { return csr(nb::cast<const ism::block_mask&>(self).view().full_keys, self); },
                   "(offsets int64 (QB + 1,), indices int32): the full key blocks of each query block.")
      .def_prop_ro("partial_kv",
                   [](nb::handle self) { return csr(nb::cast<const ism::block_mask&>(self).view().partial_keys, self); },
                   "(offsets, indices): the partial key blocks of each query block.")
      .def_prop_ro("full_q",
                   [](nb::handle self) { return csr(nb::cast<const ism::block_mask&>(self).view().full_queries, self); },
                   "(offsets int64 (KB + 1,), indices int32): the full query blocks of each key block.")
      .def_prop_ro("partial_q",
                   [](nb::handle self) { return csr(nb::cast<const ism::block_mask&>(self).view().partial_queries, self); },
                   "(offsets, indices): the partial query blocks of each key block.");

  m.def("block_mask", &make_block_mask, nb::arg("layout"), nb::arg("paradigm"),
        nb::arg("block_size") = nb::make_tuple(128, 128), nb::arg("chunk") = nb::none(),
        "Classifies the tiles of chunk (q0, q1, k0, k1) (the whole row by default) in "
        "block_size = (Bq, Bk) or B tiles, in time proportional to the tiles.");
  m.def("flex_arrays", &flex_arrays, nb::arg("lo"), nb::arg("hi"), nb::arg("block_size"),
        "FlexAttention's BlockMask arrays (the flex export) of the mask whose row q sees keys "
        "lo[q]..hi[q] (int64); rows with lo > hi see nothing.");
}

}  // namespace ism_python
