// The bidirectional blocks of a mask: runs of tokens that all see one another.
// Engines with a causal kernel and a bidirectional overlay (`hf`, `vllm`) take
// a mask in the form "within the document, causal, or both tokens in one
// block" (docs/formats.md#hf). The blocks are read off the intervals, so any
// paradigm of that form works, built-in or not:
//   ism            each context segment
//   prefix         the prefix [d0, P)
//   bidirectional  each document
//   causal         none
// A block of one token adds nothing to causal attention, so none is listed:
// a one-token context segment reads as causal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/errors.hpp"
#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"

namespace ism {
inline namespace v0 {

struct bidirectional_block {
  index_t begin;  // absolute positions [begin, end)
  index_t end;
  index_t document;  // its index in layout::documents()
  index_t length() const noexcept { return end - begin; }
  friend bool operator==(const bidirectional_block&, const bidirectional_block&) = default;
};

// In row order, O(N). A token q starts a block when hi(q) > q; every token of
// the block [q, hi(q) + 1) must then share that hi. Throws shape_error when the
// mask and layout differ in size, format_error naming `format` and the first
// token whose row has another form.
inline std::vector<bidirectional_block> bidirectional_blocks(const layout& sequence,
                                                             const interval_mask& m,
                                                             std::string_view format) {
  detail::check_mask_fits(sequence, m, format);
  const auto fail = [&](index_t q, const std::string& why) {
    throw format_error(std::string(format) + " cannot express this mask: row " +
                       std::to_string(q) + " sees [" + std::to_string(m.lo()[q]) + ", " +
                       std::to_string(m.hi()[q]) + "], " + why +
                       "; the format holds masks that are causal within each document, or "
                       "bidirectional inside blocks of tokens");
  };
  std::vector<bidirectional_block> out;
  const auto documents = sequence.documents();
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const document_span& doc = documents[d];
    for (index_t q = doc.begin; q < doc.end;) {
      const index_t hi = m.hi()[q];
      if (m.lo()[q] != doc.begin) fail(q, "which does not start at its document's first token");
      if (hi < q) fail(q, "which stops before the token itself");
      if (hi >= doc.end) fail(q, "which leaves its document");
      for (index_t t = q + 1; t <= hi; ++t)
        if (m.hi()[t] != hi || m.lo()[t] != doc.begin)
          fail(t, "while token " + std::to_string(q) + " of its block sees up to " +
                      std::to_string(hi));
      if (hi > q) out.push_back({q, hi + 1, static_cast<index_t>(d)});
      q = hi + 1;
    }
  }
  return out;
}

}  // namespace v0
}  // namespace ism
