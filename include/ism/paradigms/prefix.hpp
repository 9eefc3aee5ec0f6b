// Prefix-LM: the document minus its trailing answer is one bidirectional prefix;
// the trailing answer (the maximal run of assistant segments at the end) is
// causal. Earlier answers sit inside the prefix, so their KV changes whenever a
// turn is added: prefix models cannot reuse their cache across turns.
#pragma once

#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

struct prefix {
  static constexpr std::string_view name = "prefix";
  // Every turn is trained by its own sample, even where one pass would do.
  static constexpr training_scheme training = training_scheme::one_sample_per_answer;
  // Rows of the prefix [0, P) see its P keys; row q of the trailing answer sees
  // q + 1. Every target of the last answer lies at or past P, where the rows
  // are causal, so the sample trains it.
  static constexpr sample_cost training_sample(const document_span& cut, const segment_span&) {
    const index_t p = cut.trailing_answer_begin;
    const index_t length = cut.length();
    return {p * p + (length * (length + 1) - p * (p + 1)) / 2, true};
  }
  ISM_HOST_DEVICE constexpr row_interval interval(const token_context& t) const noexcept {
    const index_t prefix_end = t.document.trailing_answer_begin - 1;  // the prefix's last token
    return {t.document.begin, t.position > prefix_end ? t.position : prefix_end};
  }
};

}  // namespace v0
}  // namespace ism
