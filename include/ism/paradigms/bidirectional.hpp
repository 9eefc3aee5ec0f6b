// Bidirectional: every token sees its whole document (encoder-style).
#pragma once

#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

struct bidirectional {
  static constexpr std::string_view name = "bidirectional";
  ISM_HOST_DEVICE constexpr row_interval interval(const token_context& t) const noexcept {
    return {t.document.begin, t.document.end - 1};
  }
};

}  // namespace v0
}  // namespace ism
