// The bidirectional blocks of a built-in paradigm: runs of tokens that all see
// one another. Every built-in paradigm is "causal within the document, or both
// tokens in one block" (FORMATS.md, `hf` and `vllm`), which is the form engines
// with a causal kernel and a bidirectional overlay accept:
//   ism            each context segment
//   prefix         the prefix [d0, P), when the document has one
//   bidirectional  each document
//   causal         none
// A context segment of one token is still listed as a block, although a block
// of one token adds nothing to causal attention.
#pragma once

#include <string>
#include <vector>

#include "ism/layout.hpp"
#include "ism/paradigms.hpp"

namespace ism {
inline namespace v0 {

struct bidirectional_block {
  index_t begin;  // absolute positions [begin, end)
  index_t end;
  index_t document;  // its index in layout::documents()
  index_t length() const noexcept { return end - begin; }
  friend bool operator==(const bidirectional_block&, const bidirectional_block&) = default;
};

// In row order, O(segments). Throws unknown_paradigm_error for a kind value
// that names no paradigm.
inline std::vector<bidirectional_block> bidirectional_blocks(const layout& sequence,
                                                             paradigm_kind kind) {
  std::vector<bidirectional_block> out;
  const auto documents = sequence.documents();
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const document_span& doc = documents[d];
    const auto document = static_cast<index_t>(d);
    switch (kind) {
      case paradigm_kind::causal:
        break;
      case paradigm_kind::prefix:
        // A document that is all trailing answer has an empty prefix.
        if (doc.trailing_answer_begin > doc.begin)
          out.push_back({doc.begin, doc.trailing_answer_begin, document});
        break;
      case paradigm_kind::ism:
        for (index_t s = doc.first_segment; s < doc.end_segment; ++s) {
          const segment_span& seg = sequence.segments()[static_cast<std::size_t>(s)];
          if (is_context(seg.kind)) out.push_back({seg.begin, seg.end, document});
        }
        break;
      case paradigm_kind::bidirectional:
        out.push_back({doc.begin, doc.end, document});
        break;
      default:
        throw unknown_paradigm_error("paradigm_kind value " +
                                     std::to_string(static_cast<int>(kind)) + " names no paradigm");
    }
  }
  return out;
}

}  // namespace v0
}  // namespace ism
