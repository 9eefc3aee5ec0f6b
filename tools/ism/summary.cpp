#include "summary.hpp"

#include <utility>

namespace ism_cli {

paradigm_summary summarize(const ism::layout& sequence, const ism::any_paradigm& paradigm) {
  ism::interval_mask mask = paradigm.intervals(sequence);
  ism::density_report density = ism::density(sequence, mask);
  ism::label_report labels = ism::classify_labels(sequence, mask);
  ism::training_cost_report training = paradigm.training_cost(sequence);
  return {paradigm, std::move(mask), std::move(density), std::move(labels), training};
}

std::string_view scheme_text(ism::training_scheme scheme) {
  switch (scheme) {
    case ism::training_scheme::one_pass:
      return "one pass";
    case ism::training_scheme::one_sample_per_answer:
      return "one sample per answer";
  }
  return "?";
}

}  // namespace ism_cli
