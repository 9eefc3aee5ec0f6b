#include "summary.hpp"

#include <utility>

namespace ism_cli {

paradigm_summary summarize(const ism::layout& sequence, ism::paradigm_kind kind) {
  ism::interval_mask mask = ism::make_interval_mask(sequence, kind);
  ism::density_report density = ism::density(sequence, mask);
  ism::label_report labels = ism::classify_labels(sequence, mask);
  ism::training_cost_report training = ism::training_cost(sequence, kind);
  return {kind, std::move(mask), std::move(density), std::move(labels), training};
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
