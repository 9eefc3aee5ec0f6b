// The shared precondition of the analyses: one mask row per layout token.
#pragma once

#include <string>

#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Analyses pair a layout with a mask of the same row; a mismatch is a caller bug
// that would otherwise read past the end of the mask.
inline void check_mask_fits(const layout& sequence, const interval_mask& m, const char* who) {
  if (m.size() != sequence.size())
    throw shape_error(std::string(who) + ": the mask has " + std::to_string(m.size()) +
                      " rows but the layout has " + std::to_string(sequence.size()) + " tokens");
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
