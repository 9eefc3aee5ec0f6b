// What the demo and `ism stats` report for one paradigm on one layout: its
// mask, density, label positions and training cost, computed once.
#pragma once

#include <ism/ism.hpp>
#include <string_view>

namespace ism_cli {

struct paradigm_summary {
  ism::any_paradigm paradigm;
  ism::interval_mask mask;
  ism::density_report density;
  ism::label_report labels;
  ism::training_cost_report training;
};

paradigm_summary summarize(const ism::layout& sequence, const ism::any_paradigm& paradigm);

// "one pass" or "one sample per answer".
std::string_view scheme_text(ism::training_scheme scheme);

}  // namespace ism_cli
