// Prefix-LM: the document minus its trailing answer is one bidirectional prefix;
// the trailing answer (the maximal run of assistant segments at the end) is
// causal. Earlier answers sit inside the prefix, so their KV changes whenever a
// turn is added: prefix models cannot reuse their cache across turns.
#pragma once

#include <algorithm>

#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

struct prefix {
  static constexpr std::string_view name = "prefix";
  // Every turn is trained by its own sample, even where one pass would do.
  static constexpr training_scheme training = training_scheme::one_sample_per_answer;
  constexpr row_interval interval(const token_context& t) const noexcept {
    return {t.document.begin, std::max(t.position, t.document.trailing_answer_begin - 1)};
  }
};

}  // namespace v0
}  // namespace ism
