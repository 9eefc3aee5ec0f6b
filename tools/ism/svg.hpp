// An SVG picture of one mask over its layout, fit for documentation: a grid of
// cells (visible dark, hidden light), role-coloured bands with role names along
// the top and left, thin lines between segments, thick lines between documents,
// a title and a legend.
#pragma once

#include <ism/ism.hpp>
#include <string>
#include <string_view>

namespace ism_cli {

// Beyond this a cell would be smaller than a pixel.
inline constexpr ism::index_t svg_max_tokens = 2048;

// Throws ism::argument_error when a layout of `tokens` tokens is over
// svg_max_tokens. Callers check before building the mask.
void check_svg_tokens(ism::index_t tokens);

// Throws ism::argument_error for a layout over svg_max_tokens or a mask of
// another size.
std::string render_svg(const ism::layout& sequence, const ism::interval_mask& mask,
                       std::string_view paradigm_name);

}  // namespace ism_cli
