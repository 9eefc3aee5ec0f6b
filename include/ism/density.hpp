// Density: the fraction of (q, k) pairs a mask lets through, over the whole
// sequence and per document (docs/semantics.md#density). It is the share of attention work a
// mask-aware kernel cannot skip.
#pragma once

#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/interval_mask.hpp"

namespace ism {
inline namespace v0 {

struct pair_count {
  index_t tokens = 0;
  index_t visible_pairs = 0;
  // visible_pairs / tokens^2.
  double density() const noexcept {
    return tokens == 0 ? 0.0
                       : static_cast<double>(visible_pairs) /
                             (static_cast<double>(tokens) * static_cast<double>(tokens));
  }
};

struct density_report {
  pair_count sequence;  // the whole packed sequence
  std::vector<pair_count> documents;  // (D,): pairs whose query lies in the document
};

inline density_report density(const layout& sequence, const interval_mask& m) {
  detail::check_mask_fits(sequence, m, "density");
  density_report report{{sequence.size(), 0}, {}};
  for (const document_span& doc : sequence.documents()) {
    const pair_count count{doc.length(), m.visible_pairs(doc.begin, doc.end)};
    report.sequence.visible_pairs += count.visible_pairs;
    report.documents.push_back(count);
  }
  return report;
}

}  // namespace v0
}  // namespace ism
