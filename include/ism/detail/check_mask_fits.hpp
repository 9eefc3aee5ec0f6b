// The precondition of everything that reads a mask beside its layout (the
// analyses, the exports that need the documents, the pictures): one mask row
// per token.
#pragma once

#include <string>
#include <string_view>

#include "ism/errors.hpp"
#include "ism/layout.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// A mismatch is a caller bug that would otherwise read past the end of the mask.
template <sized_mask M>
void check_mask_fits(const layout& sequence, const M& m, std::string_view who) {
  if (m.size() != sequence.size())
    throw shape_error(std::string(who) + ": the mask has " + std::to_string(m.size()) +
                      " rows but the layout has " + std::to_string(sequence.size()) + " tokens");
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
