// Context-parallel plans (context_parallel.hpp) of a batch of rows as plain
// values: each sharding as its rows' NumPy arrays and the work table summed
// over them. The package turns the dicts into dataclasses, and a single
// layout is the batch of one.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <ism/ism.hpp>
#include <span>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace ism_python {
namespace {

// (R, 3): tokens, pairs, tiles.
nb::ndarray<nb::numpy, index_t> work_array(std::span<const ism::rank_work> work) {
  std::vector<index_t> out;
  for (const ism::rank_work& w : work) out.insert(out.end(), {w.tokens, w.pairs, w.tiles});
  return owned_array(std::move(out), {work.size(), 3});
}

nb::dict sharding_dict(const ism::sharding& s) {
  const auto n = static_cast<std::size_t>(s.size());
  const auto ranks = static_cast<std::size_t>(s.ranks());
  std::vector<nb::object> runs;
  for (index_t r = 0; r < s.ranks(); ++r) {
    std::vector<index_t> bounds;  // (K, 2)
    for (const ism::token_run& run : s.runs(r)) bounds.insert(bounds.end(), {run.begin, run.end});
    const std::size_t count = bounds.size() / 2;
    runs.push_back(nb::cast(owned_array(std::move(bounds), {count, 2})));
  }
  nb::dict out;
  out["rearrange"] =
      owned_array(std::vector<index_t>(s.rearrange().begin(), s.rearrange().end()), {n});
  out["restore"] = owned_array(s.restore(), {n});
  out["offsets"] =
      owned_array(std::vector<index_t>(s.offsets().begin(), s.offsets().end()), {ranks + 1});
  out["work"] = work_array(s.work());
  out["runs"] = runs;
  out["imbalance"] = s.imbalance();
  out["tile_imbalance"] = s.tile_imbalance();
  return out;
}

// "rows": each row's sharding_dict; "work", "imbalance", "tile_imbalance": the batch's.
nb::dict batch_dict(const ism::batch_sharding& s) {
  nb::list rows;
  for (const ism::sharding& row : s.rows()) rows.append(sharding_dict(row));
  nb::dict out;
  out["rows"] = rows;
  out["work"] = work_array(s.work());
  out["imbalance"] = s.imbalance();
  out["tile_imbalance"] = s.tile_imbalance();
  return out;
}

nb::dict plan(const std::vector<ism::layout>& rows, const ism::any_paradigm& paradigm,
              index_t ranks, index_t block) {
  std::vector<ism::interval_mask> masks;
  for (const ism::layout& row : rows) masks.push_back(paradigm.intervals(row));
  const ism::batch_context_parallel_plan p = ism::plan_context_parallel(rows, masks, ranks, block);
  nb::dict out;
  out["balanced"] = batch_dict(p.balanced);
  out["even"] = batch_dict(p.even);
  out["head_tail"] = batch_dict(p.head_tail);
  out["per_document_head_tail"] = batch_dict(p.per_document_head_tail);
  return out;
}

}  // namespace

void bind_plan(nb::module_& m) {
  m.def("plan", &plan, nb::arg("layouts"), nb::arg("paradigm"), nb::arg("ranks"),
        nb::arg("block_size"),
        "A context-parallel plan of a batch of rows and its baselines, each as its rows' NumPy "
        "arrays and the work summed over them (docs/context_parallel.md).");
}

}  // namespace ism_python
