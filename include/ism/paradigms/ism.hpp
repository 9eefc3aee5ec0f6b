// Intermittent Semi-working Mask (arXiv 2408.00539): bidirectional inside each
// context segment, causal inside each answer, and every token sees all earlier
// segments. The segment function never reaches past the token's own segment, so
// a finished segment's KV never changes and the cache survives every turn.
#pragma once

#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

// Named `intermittent` because `ism::ism` would shadow the namespace inside it.
struct intermittent {
  static constexpr std::string_view name = "ism";
  ISM_HOST_DEVICE constexpr row_interval interval(const token_context& t) const noexcept {
    return {t.document.begin, is_context(t.segment.kind) ? t.segment.end - 1 : t.position};
  }
};

}  // namespace v0
}  // namespace ism
