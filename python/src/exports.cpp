// The format registry from Python: every engine format's arrays in memory or
// in the CLI's files, and verification of arrays an engine made
// (docs/formats.md).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <ism/ism.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "options.hpp"

namespace ism_python {
namespace {

nb::dict format_info(const ism::export_format& f) {
  nb::dict out;
  out["name"] = f.name;
  out["summary"] = f.summary;
  out["arrays"] = f.arrays;
  std::vector<std::string> dtypes;
  for (const ism::npy_dtype d : f.dtypes) dtypes.emplace_back(ism::npy_dtype_name(d));
  out["dtypes"] = dtypes;
  out["takes_block_size"] = f.takes_block;
  out["takes_pad"] = f.takes_pad;
  out["takes_causal"] = f.takes_causal;
  out["quadratic"] = f.quadratic;
  return out;
}

nb::dict export_arrays(const ism::layout& sequence, const ism::any_paradigm& paradigm,
                       const std::string& format, nb::handle block_size,
                       std::optional<std::string> dtype, std::optional<index_t> pad,
                       std::optional<bool> causal) {
  const ism::export_format& f = ism::format_from_name(format);
  const ism::export_options o = export_options_of(f, block_size, dtype, pad, causal);
  ism::encoded_arrays arrays = [&] {
    const nb::gil_scoped_release unlocked;
    return f.encode(sequence, paradigm.intervals(sequence), o);
  }();
  return arrays_to_dict(std::move(arrays));
}

// Writes the file the CLI writes for the same arguments. The caller makes it
// atomic (the package writes a temporary file and renames it).
void write_export(const std::string& path, const ism::layout& sequence,
                  const ism::any_paradigm& paradigm, const std::string& format,
                  nb::handle block_size, std::optional<std::string> dtype,
                  std::optional<index_t> pad, std::optional<bool> causal) {
  const ism::export_format& f = ism::format_from_name(format);
  const ism::export_options o = export_options_of(f, block_size, dtype, pad, causal);
  const nb::gil_scoped_release unlocked;
  const ism::interval_mask mask = paradigm.intervals(sequence);
  // Refuses a mask the format cannot express before the file is touched.
  f.shapes(sequence, [&]() -> const ism::interval_mask& { return mask; }, o);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw ism::io_error("cannot open " + path + " for writing");
  f.write(out, sequence, mask, o);
  out.close();
  if (!out) throw ism::io_error("writing " + path + " failed");
}

// The arrays say everything else (block size, dtype, padding); only
// cu_seqlens' causal flag lives in the engine's call, not its arrays.
ism::verify_report verify(const ism::layout& sequence, const ism::any_paradigm& paradigm,
                          const std::string& format, const nb::dict& arrays,
                          std::optional<bool> causal, std::size_t examples) {
  const ism::export_format& f = ism::format_from_name(format);
  const ism::export_options o = export_options_of(f, nb::none(), std::nullopt, std::nullopt, causal);
  std::vector<ism::named_array> named;
  std::vector<nb::ndarray<nb::ro, nb::device::cpu>> held;  // keeps the arrays while read
  for (const auto& [key, value] : arrays) {
    if (!nb::isinstance<nb::str>(key))
      throw ism::argument_error("verify: array names must be strings");
    const std::string name = nb::cast<std::string>(key);
    nb::ndarray<nb::ro, nb::device::cpu> a;
    if (!nb::try_cast(value, a, false))
      throw ism::argument_error("verify: array '" + name + "' is not an array on the CPU");
    held.push_back(a);
    named.push_back({name, read_array(a, "array '" + name + "'")});
  }
  const nb::gil_scoped_release unlocked;
  return ism::verify(sequence, paradigm, format, named, o, examples);
}

}  // namespace

void bind_exports(nb::module_& m) {
  m.def(
      "formats",
      [] {
        std::vector<nb::dict> out;
        for (const ism::export_format& f : ism::formats()) out.push_back(format_info(f));
        return out;
      },
      "Every export format of the registry: name, summary, arrays, dtypes and options.");

  m.def("export", &export_arrays, nb::arg("layout"), nb::arg("paradigm"), nb::arg("format"),
        nb::kw_only(), nb::arg("block_size") = nb::none(), nb::arg("dtype") = nb::none(),
        nb::arg("pad") = nb::none(), nb::arg("causal") = nb::none(),
        "The arrays of `format` by name, as the CLI's file holds them (16-bit floats as their "
        "bits). No copy: the arrays point into the export.");
  m.def("write_export", &write_export, nb::arg("path"), nb::arg("layout"), nb::arg("paradigm"),
        nb::arg("format"), nb::kw_only(), nb::arg("block_size") = nb::none(),
        nb::arg("dtype") = nb::none(), nb::arg("pad") = nb::none(), nb::arg("causal") = nb::none(),
        "Writes the .npy/.npz file `ism export` writes, in place (not atomic).");

  nb::class_<ism::verify_report>(m, "VerifyReport",
                                 "Arrays compared with the contract, pair by pair.")
      .def_prop_ro("equal", &ism::verify_report::equal, "Every pair agrees.")
      .def_ro("queries", &ism::verify_report::queries, "Rows compared (padding rows included).")
      .def_ro("keys", &ism::verify_report::keys)
      .def_ro("differing_pairs", &ism::verify_report::differing_pairs)
      .def_prop_ro(
          "first_differences",
          [](const ism::verify_report& r) {
            std::vector<std::tuple<index_t, index_t, bool>> out;
            for (const ism::pair_difference& d : r.first_differences)
              out.emplace_back(d.query, d.key, d.in_file);
            return out;
          },
          "(query, key, visible in the arrays) for the first differences in row-major order; "
          "the contract says the opposite.")
      .def("__bool__", &ism::verify_report::equal)
      .def("__repr__", [](const ism::verify_report& r) {
        std::string out = "VerifyReport(" + std::to_string(r.queries) + " x " +
                          std::to_string(r.keys) + ", " + std::to_string(r.differing_pairs) +
                          " differing pairs";
        for (const ism::pair_difference& d : r.first_differences)
          out += "; (" + std::to_string(d.query) + ", " + std::to_string(d.key) + ") is " +
                 (d.in_file ? "visible in the arrays but hidden by the contract"
                            : "hidden in the arrays but visible by the contract");
        return out + ")";
      });

  m.def("verify", &verify, nb::arg("layout"), nb::arg("paradigm"), nb::arg("format"),
        nb::arg("arrays"), nb::kw_only(), nb::arg("causal") = nb::none(), nb::arg("examples") = 5,
        "Decodes `arrays` (name -> C-contiguous array) as `format` and compares every pair with "
        "the paradigm's mask over the layout.");
}

}  // namespace ism_python
