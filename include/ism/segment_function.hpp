// The segment function: one generic O(N) pass that asks a paradigm for every
// token's interval. hi is f(j) of the ISM paper; lo is the document start for the
// four built-in paradigms.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ism/errors.hpp"
#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"
#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

// Writes the intervals of the tokens of segments [first_segment, end) to
// lo[q - base] and hi[q - base].
template <class P>
void fill_intervals(const layout& sequence, const P& policy, index_t first_segment, index_t base,
                    std::span<index_t> lo, std::span<index_t> hi) {
  for (const segment_span& seg : sequence.segments().subspan(static_cast<std::size_t>(first_segment))) {
    const document_span& doc = sequence.documents()[seg.document];
    for (index_t q = seg.begin; q < seg.end; ++q) {
      const row_interval r = policy.interval(token_context{q, seg, doc});
      if (r.lo < doc.begin || r.hi >= doc.end || r.lo > r.hi)
        throw paradigm_error("paradigm '" + std::string(P::name) + "' gives token " +
                             std::to_string(q) + " the interval [" + std::to_string(r.lo) + ", " +
                             std::to_string(r.hi) + "], which is empty or leaves its document [" +
                             std::to_string(doc.begin) + ", " + std::to_string(doc.end) + ")");
      lo[static_cast<std::size_t>(q - base)] = r.lo;
      hi[static_cast<std::size_t>(q - base)] = r.hi;
    }
  }
}

}  // namespace detail

template <class P>
interval_mask make_interval_mask(const layout& sequence, const P& policy = P{}) {
  static_assert(check_paradigm<P>(), "ism: make_interval_mask needs a paradigm (see above)");
  std::vector<index_t> lo(static_cast<std::size_t>(sequence.size()));
  std::vector<index_t> hi(static_cast<std::size_t>(sequence.size()));
  detail::fill_intervals(sequence, policy, 0, 0, lo, hi);
  return interval_mask(std::move(lo), std::move(hi));
}

}  // namespace v0
}  // namespace ism
