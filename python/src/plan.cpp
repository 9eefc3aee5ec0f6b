// Context-parallel plans (context_parallel.hpp) as plain values: each sharding
// as NumPy arrays and its work table. The package turns the dicts into
// dataclasses.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <ism/ism.hpp>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace ism_python {
namespace {

nb::dict sharding_dict(const ism::sharding& s) {
  const auto n = static_cast<std::size_t>(s.size());
  const auto ranks = static_cast<std::size_t>(s.ranks());
  std::vector<index_t> work;  // (R, 3): tokens, pairs, tiles
  std::vector<nb::object> runs;
  for (index_t r = 0; r < s.ranks(); ++r) {
    const ism::rank_work& w = s.work()[static_cast<std::size_t>(r)];
    work.insert(work.end(), {w.tokens, w.pairs, w.tiles});
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
  out["work"] = owned_array(std::move(work), {ranks, 3});
  out["runs"] = runs;
  out["imbalance"] = s.imbalance();
  out["tile_imbalance"] = s.tile_imbalance();
  return out;
}

nb::dict plan(const ism::layout& sequence, const ism::any_paradigm& paradigm, index_t ranks,
              index_t block) {
  const ism::context_parallel_plan p =
      ism::plan_context_parallel(sequence, paradigm.intervals(sequence), ranks, block);
  nb::dict out;
  out["balanced"] = sharding_dict(p.balanced);
  out["even"] = sharding_dict(p.even);
  out["head_tail"] = sharding_dict(p.head_tail);
  out["per_document_head_tail"] = sharding_dict(p.per_document_head_tail);
  return out;
}

}  // namespace

void bind_plan(nb::module_& m) {
  m.def("plan", &plan, nb::arg("layout"), nb::arg("paradigm"), nb::arg("ranks"),
        nb::arg("block_size"),
        "A context-parallel plan and its baselines, each as NumPy arrays "
        "(docs/context_parallel.md).");
}

}  // namespace ism_python
