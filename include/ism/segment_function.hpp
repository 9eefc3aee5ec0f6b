// The segment function: one generic O(N) pass that asks a paradigm for every
// token's interval. hi is f(j) of the ISM paper; lo is the document start for the
// four built-in paradigms.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "ism/errors.hpp"
#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"
#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

// Writes the intervals of rows [q0, q1) to lo[q - q0] and hi[q - q0], the
// rows of make_interval_mask(sequence, policy), so that a consumer can hold a
// window of rows at a time. Throws paradigm_error for an interval that is
// empty or leaves its document; lo and hi hold at least q1 - q0 rows.
template <paradigm P>
void fill_intervals(const layout& sequence, const P& policy, index_t q0, index_t q1,
                    std::span<index_t> lo, std::span<index_t> hi) {
  ISM_ASSERT(0 <= q0 && q0 <= q1 && q1 <= sequence.size());
  ISM_ASSERT(static_cast<index_t>(lo.size()) >= q1 - q0);
  ISM_ASSERT(static_cast<index_t>(hi.size()) >= q1 - q0);
  const std::span<const segment_span> segments = sequence.segments();
  auto seg = std::partition_point(segments.begin(), segments.end(),
                                  [q0](const segment_span& s) { return s.end <= q0; });
  for (; seg != segments.end() && seg->begin < q1; ++seg) {
    const document_span& doc = sequence.documents()[static_cast<std::size_t>(seg->document)];
    for (index_t q = std::max(seg->begin, q0); q < std::min(seg->end, q1); ++q) {
      const row_interval r = policy.interval(token_context{q, *seg, doc});
      if (r.lo < doc.begin || r.hi >= doc.end || r.lo > r.hi)
        throw paradigm_error("paradigm '" + std::string(P::name) + "' gives token " +
                             std::to_string(q) + " the interval [" + std::to_string(r.lo) + ", " +
                             std::to_string(r.hi) + "], which is empty or leaves its document [" +
                             std::to_string(doc.begin) + ", " + std::to_string(doc.end) + ")");
      lo[static_cast<std::size_t>(q - q0)] = r.lo;
      hi[static_cast<std::size_t>(q - q0)] = r.hi;
    }
  }
}

// A paradigm, or a value standing for one (any_paradigm), whose rows
// fill_intervals computes a window at a time.
template <class P>
concept interval_source = requires(const layout& s, const P& p, index_t q, std::span<index_t> x) {
  fill_intervals(s, p, q, q, x, x);
};

template <class P>
interval_mask make_interval_mask(const layout& sequence, const P& policy = P{}) {
  static_assert(check_paradigm<P>(), "ism: make_interval_mask needs a paradigm (see above)");
  std::vector<index_t> lo(static_cast<std::size_t>(sequence.size()));
  std::vector<index_t> hi(static_cast<std::size_t>(sequence.size()));
  fill_intervals(sequence, policy, 0, sequence.size(), lo, hi);
  return interval_mask(std::move(lo), std::move(hi));
}

}  // namespace v0
}  // namespace ism
