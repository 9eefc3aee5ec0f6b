// Which positions may carry a next-token loss
// (docs/semantics.md#label-positions-and-leakage). Position q
// predicts token q + 1; it is trainable when that target is an assistant token of
// the same document that q cannot see. A position that sees its own target leaks
// the answer into the loss.
#pragma once

#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/interval_mask.hpp"

namespace ism {
inline namespace v0 {

struct label_report {
  std::vector<bool> trainable;   // (N,): position q carries a loss
  std::vector<index_t> leaking;  // ascending positions that see their assistant target
  index_t answer_targets = 0;    // positions whose target is an assistant token of their document

  index_t trainable_count() const noexcept {
    return answer_targets - static_cast<index_t>(leaking.size());
  }
};

// Throws shape_error when m does not have one row per token of `row`.
inline label_report classify_labels(const layout& sequence, const interval_mask& m) {
  detail::check_mask_fits(sequence, m, "classify_labels");
  label_report report{std::vector<bool>(static_cast<std::size_t>(sequence.size()), false), {}, 0};
  for (const segment_span& seg : sequence.segments()) {
    if (!is_answer(seg.kind)) continue;
    const index_t document_begin = sequence.documents()[seg.document].begin;
    // Targets t in this segment are predicted from q = t - 1 in the same document.
    for (index_t q = std::max(seg.begin, document_begin + 1) - 1; q < seg.end - 1; ++q) {
      ++report.answer_targets;
      if (m.interval(q).empty() || m.hi()[q] <= q)  // an empty row sees no target
        report.trainable[q] = true;
      else
        report.leaking.push_back(q);
    }
  }
  return report;
}

}  // namespace v0
}  // namespace ism
