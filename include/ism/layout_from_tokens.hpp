// Builds a layout from what an engine holds after applying its chat template: a
// role per token plus document boundaries.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ism/layout.hpp"

namespace ism {
inline namespace v0 {

// `roles` has one entry per token. `document_bounds` is cumulative, in the varlen
// convention of FlashAttention (cu_seqlens): D + 1 strictly increasing offsets
// from 0 to roles.size(). Each maximal run of one role inside a document becomes
// one segment, so two adjacent context segments of the same role merge into one
// bidirectional block; declare the layout in code or text to keep them apart.
inline layout layout_from_token_roles(std::span<const role> roles,
                                      std::span<const index_t> document_bounds) {
  const auto n = static_cast<index_t>(roles.size());
  if (document_bounds.size() < 2)
    throw layout_error("document_bounds needs at least 2 entries (0 and the token count), got " +
                       std::to_string(document_bounds.size()));
  if (document_bounds.front() != 0)
    throw layout_error("document_bounds[0] is " + std::to_string(document_bounds.front()) +
                       "; it must be 0");
  if (document_bounds.back() != n)
    throw layout_error("document_bounds ends at " + std::to_string(document_bounds.back()) +
                       " but there are " + std::to_string(n) + " tokens");
  std::vector<std::vector<segment>> documents;
  for (std::size_t d = 0; d + 1 < document_bounds.size(); ++d) {
    const index_t begin = document_bounds[d];
    const index_t end = document_bounds[d + 1];
    if (end > n)
      throw layout_error("document_bounds[" + std::to_string(d + 1) + "] is " +
                         std::to_string(end) + ", past the " + std::to_string(n) + " tokens");
    if (end <= begin)
      throw layout_error("document " + std::to_string(d) + " (0-based) is empty: bounds " +
                         std::to_string(begin) + " and " + std::to_string(end) +
                         " must strictly increase");
    auto& segments = documents.emplace_back();
    for (index_t t = begin; t < end; ++t) {
      if (static_cast<unsigned>(roles[t]) > static_cast<unsigned>(role::assistant))
        throw layout_error("token " + std::to_string(t) + " has role value " +
                           std::to_string(static_cast<unsigned>(roles[t])) +
                           ", which names no role");
      if (segments.empty() || segments.back().kind != roles[t]) segments.push_back({roles[t], 0});
      ++segments.back().length;
    }
  }
  return layout(documents);
}

}  // namespace v0
}  // namespace ism
