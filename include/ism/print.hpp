// ASCII pictures of a mask over its layout, for people: '#' visible, '.' hidden,
// a role letter per row and column, a gap between segments and a rule between
// documents.
//
//      sss uu aaa|ua
//   s  ### .. ...|..
#pragma once

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "ism/errors.hpp"
#include "ism/layout.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

inline char role_letter(role r) {
  return role_name(r)[0];
}

// What separates token t - 1 from token t along an axis: nothing, a segment gap
// or a document rule.
enum class boundary { none, segment, document };

inline std::vector<boundary> boundaries(const layout& row) {
  std::vector<boundary> out(static_cast<std::size_t>(row.size()), boundary::none);
  for (const segment_span& seg : row.segments())
    if (seg.begin > 0)
      out[seg.begin] =
          row.documents()[seg.document].begin == seg.begin ? boundary::document : boundary::segment;
  return out;
}

}  // namespace detail

// One string per line, all of the same width, so callers can set pictures side
// by side. Meant for layouts of up to a few hundred tokens.
// Throws shape_error when a sized mask does not have one row per token.
template <mask M>
std::vector<std::string> render_ascii(const M& m, const layout& row) {
  if constexpr (sized_mask<M>)
    if (m.size() != row.size())
      throw shape_error("render_ascii: the mask has " + std::to_string(m.size()) +
                        " rows but the layout has " + std::to_string(row.size()) + " tokens");
  const std::vector<detail::boundary> cuts = detail::boundaries(row);
  std::vector<role> roles;
  for (const segment_span& seg : row.segments()) roles.insert(roles.end(), seg.length(), seg.kind);

  const auto cells = [&](auto cell) {
    std::string line;
    for (index_t k = 0; k < row.size(); ++k) {
      if (k > 0 && cuts[k] == detail::boundary::document) line += '|';
      if (k > 0 && cuts[k] == detail::boundary::segment) line += ' ';
      line += cell(k);
    }
    return line;
  };
  std::vector<std::string> lines;
  lines.push_back("   " + cells([&](index_t k) { return detail::role_letter(roles[k]); }));
  for (index_t q = 0; q < row.size(); ++q) {
    if (q > 0 && cuts[q] != detail::boundary::none) {
      const bool document = cuts[q] == detail::boundary::document;
      std::string rule = "   " + cells([&](index_t) { return document ? '-' : ' '; });
      if (document) std::replace(rule.begin() + 3, rule.end(), ' ', '-');
      lines.push_back(rule);
    }
    lines.push_back(std::string(1, detail::role_letter(roles[q])) + "  " +
                    cells([&](index_t k) { return m.visible(q, k) ? '#' : '.'; }));
  }
  return lines;
}

template <mask M>
void print_mask(std::ostream& os, const M& m, const layout& row) {
  for (const std::string& line : render_ascii(m, row)) os << line << '\n';
}

}  // namespace v0
}  // namespace ism
