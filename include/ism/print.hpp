// ASCII pictures of a mask over its layout, for people: '#' visible, '.' hidden,
// a role letter per row and column, a gap between segments and a rule between
// documents.
//
//      sss uu aaa|ua
//   s  ### .. ...|..
//
// Block masks get one character per tile: '#' full, '+' partial, '.' empty.
#pragma once

#include <algorithm>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/block_mask.hpp"
#include "ism/errors.hpp"
#include "ism/layout.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

inline char role_letter(role r) {
  return role_name(r)[0];
}

}  // namespace detail

// One character per token, cell(t, segment of t), spaced like the columns of
// render_ascii: a blank between segments and '|' between documents. Lets a
// caller print per-token markers that line up under a picture.
template <class F>
std::string render_tokens(const layout& sequence, F&& cell) {
  std::string line;
  for (const segment_span& seg : sequence.segments()) {
    if (seg.begin > 0) line += sequence.documents()[seg.document].begin == seg.begin ? '|' : ' ';
    for (index_t t = seg.begin; t < seg.end; ++t) line += cell(t, seg);
  }
  return line;
}

// One string per line, all of the same width, so callers can set pictures side
// by side. Meant for layouts of up to a few hundred tokens.
// Throws shape_error when a sized mask does not have one row per token.
template <mask M>
std::vector<std::string> render_ascii(const M& m, const layout& sequence) {
  if constexpr (sized_mask<M>) detail::check_mask_fits(sequence, m, "render_ascii");
  std::vector<std::string> lines;
  lines.push_back("   " + render_tokens(sequence, [](index_t, const segment_span& key) {
                    return detail::role_letter(key.kind);
                  }));
  for (const segment_span& seg : sequence.segments()) {
    if (seg.begin > 0) {
      const bool document = sequence.documents()[seg.document].begin == seg.begin;
      std::string rule = "   " + render_tokens(sequence, [&](index_t, const segment_span&) {
                           return document ? '-' : ' ';
                         });
      if (document) std::replace(rule.begin() + 3, rule.end(), ' ', '-');
      lines.push_back(rule);
    }
    for (index_t q = seg.begin; q < seg.end; ++q)
      lines.push_back(std::string(1, detail::role_letter(seg.kind)) + "  " +
                      render_tokens(sequence, [&](index_t k, const segment_span&) {
                        return m.visible(q, k) ? '#' : '.';
                      }));
  }
  return lines;
}

template <mask M>
void print_mask(std::ostream& os, const M& m, const layout& sequence) {
  for (const std::string& line : render_ascii(m, sequence)) os << line << '\n';
}

// One line per query block, one character per key block.
inline std::vector<std::string> render_blocks(const block_mask& b) {
  std::vector<std::string> lines;
  for (index_t qb = 0; qb < b.query_blocks(); ++qb) {
    std::string line(static_cast<std::size_t>(b.key_blocks()), '.');
    for (const auto kb : b.partial_key_blocks(qb)) line[static_cast<std::size_t>(kb)] = '+';
    for (const auto kb : b.full_key_blocks(qb)) line[static_cast<std::size_t>(kb)] = '#';
    lines.push_back(std::move(line));
  }
  return lines;
}

inline void print_blocks(std::ostream& os, const block_mask& b) {
  for (const std::string& line : render_blocks(b)) os << line << '\n';
}

}  // namespace v0
}  // namespace ism
