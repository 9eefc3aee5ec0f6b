// Causal: every token sees its document up to itself.
#pragma once

#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

struct causal {
  static constexpr std::string_view name = "causal";
  ISM_HOST_DEVICE constexpr row_interval interval(const token_context& t) const noexcept {
    return {t.document.begin, t.position};
  }
};

}  // namespace v0
}  // namespace ism
