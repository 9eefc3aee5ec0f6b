// What a paradigm means for a layout, as plain values: trainable label
// positions and leakage, density, training cost and the reusable KV cache
// (docs/semantics.md). The package turns the dicts into dataclasses.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <ism/ism.hpp>

#include <algorithm>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace ism_python {
namespace {

nb::dict labels(const ism::layout& sequence, const ism::any_paradigm& paradigm) {
  const ism::label_report r = ism::classify_labels(sequence, paradigm.intervals(sequence));
  const auto n = static_cast<index_t>(r.trainable.size());
  const buffer<bool> trainable = make_buffer<bool>(r.trainable.size());
  std::copy(r.trainable.begin(), r.trainable.end(), trainable.items);
  const std::size_t leaking = r.leaking.size();
  nb::dict out;
  out["trainable"] = view_array(trainable.items, ism::npy_dtype::boolean, {n}, trainable.owner);
  out["leaking"] = owned_array(std::vector<index_t>(r.leaking), {leaking});
  out["answer_targets"] = r.answer_targets;
  out["trainable_count"] = r.trainable_count();
  return out;
}

nb::dict density(const ism::layout& sequence, const ism::any_paradigm& paradigm) {
  const ism::density_report r = ism::density(sequence, paradigm.intervals(sequence));
  const auto counts = [](const ism::pair_count& c) {
    nb::dict d;
    d["tokens"] = c.tokens;
    d["visible_pairs"] = c.visible_pairs;
    d["density"] = c.density();
    return d;
  };
  nb::dict out = counts(r.sequence);
  std::vector<nb::dict> documents;
  for (const ism::pair_count& c : r.documents) documents.push_back(counts(c));
  out["documents"] = documents;
  return out;
}

nb::dict training_cost(const ism::layout& sequence, const ism::any_paradigm& paradigm) {
  const ism::training_cost_report r = paradigm.training_cost(sequence);
  nb::dict out;
  out["scheme"] = r.scheme == ism::training_scheme::one_pass ? "one_pass" : "one_sample_per_answer";
  out["samples"] = r.samples;
  out["tokens"] = r.tokens;
  out["attention_pairs"] = r.attention_pairs;
  out["answer_segments"] = r.answer_segments;
  out["untrainable_segments"] = r.untrainable_segments;
  return out;
}

}  // namespace

void bind_analyses(nb::module_& m) {
  m.def("labels", &labels, nb::arg("layout"), nb::arg("paradigm"));
  m.def("density", &density, nb::arg("layout"), nb::arg("paradigm"));
  m.def("training_cost", &training_cost, nb::arg("layout"), nb::arg("paradigm"));
  m.def("reusable_prefix",
        [](const ism::layout& shorter, const ism::layout& longer, const ism::any_paradigm& p) {
          return ism::reusable_prefix(shorter, longer, p);
        },
        nb::arg("shorter"), nb::arg("longer"),
        nb::arg("paradigm"),
        "Tokens of `shorter`'s KV cache that stay valid when the row grows to `longer` "
        "(docs/semantics.md#reusable-prefix).");
}

}  // namespace ism_python
