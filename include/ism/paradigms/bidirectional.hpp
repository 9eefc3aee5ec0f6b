// Bidirectional: every token sees its whole document (encoder-style).
#pragma once

#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

struct bidirectional {
  static constexpr std::string_view name = "bidirectional";
  // Every row sees the whole sample, its own target included: the last answer
  // trains only when it has no target (a one-token answer opening the sample).
  static constexpr sample_cost training_sample(const document_span& cut,
                                               const segment_span& last) {
    const bool has_target = last.end > (last.begin > 0 ? last.begin : 1);
    return {cut.length() * cut.length(), !has_target};
  }
  ISM_HOST_DEVICE constexpr row_interval interval(const token_context& t) const noexcept {
    return {t.document.begin, t.document.end - 1};
  }
};

}  // namespace v0
}  // namespace ism
