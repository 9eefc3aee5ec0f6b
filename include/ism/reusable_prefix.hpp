// How much KV cache survives when a layout grows
// (docs/semantics.md#reusable-kv-prefix): the longest
// prefix [0, r) whose tokens keep the same interval and see nothing at or past r.
// Under ISM and causal, appending a turn keeps everything; under prefix the cache
// falls back to the start of the document's prefix.
#pragma once

#include <algorithm>
#include <string>

#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"
#include "ism/paradigm.hpp"
#include "ism/segment_function.hpp"

namespace ism {
inline namespace v0 {

// Throws layout_error unless `longer` extends `shorter`: same documents and
// segments, except that segments (and documents) may be appended and the last
// segment of `shorter` may grow.
inline void check_extends(const layout& shorter, const layout& longer) {
  const auto a = shorter.segments();
  const auto b = longer.segments();
  const auto fail = [&](const std::string& why) {
    throw layout_error("the longer layout does not extend the shorter one: " + why);
  };
  if (b.size() < a.size())
    fail("it has " + std::to_string(b.size()) + " segments, fewer than " +
         std::to_string(a.size()));
  for (std::size_t s = 0; s < a.size(); ++s) {
    const bool last = s + 1 == a.size();
    const std::string where = "segment " + std::to_string(s) + " (0-based, counted over the row)";
    if (a[s].document != b[s].document) fail(where + " lies in another document");
    if (a[s].kind != b[s].kind)
      fail(where + " is " + std::string(role_name(a[s].kind)) + " in one and " +
           std::string(role_name(b[s].kind)) + " in the other");
    if (last ? b[s].length() < a[s].length() : b[s].length() != a[s].length())
      fail(where + " has length " + std::to_string(a[s].length()) + " in one and " +
           std::to_string(b[s].length()) + " in the other");
  }
}

// The largest r <= a.size() such that rows [0, r) see the same keys in a and b
// and nothing at or past r. Rows are compared as sets: two empty rows are equal
// and an empty row reaches nowhere. Throws shape_error when b is shorter than a.
inline index_t reusable_prefix(const interval_mask& a, const interval_mask& b) {
  if (b.size() < a.size())
    throw shape_error("reusable_prefix: the extended mask has " + std::to_string(b.size()) +
                      " rows, fewer than the original's " + std::to_string(a.size()));
  const auto same_keys = [&](index_t j) {
    const row_interval x = a.interval(j), y = b.interval(j);
    return x.empty() ? y.empty() : x == y;
  };
  index_t same = 0;
  while (same < a.size() && same_keys(same)) ++same;
  index_t best = 0;
  index_t reach = -1;  // the last key any row of [0, r) sees
  for (index_t r = 1; r <= same; ++r) {
    if (!a.interval(r - 1).empty()) reach = std::max(reach, a.hi()[r - 1]);
    if (reach < r) best = r;
  }
  return best;
}

template <paradigm P>
index_t reusable_prefix(const layout& a, const layout& b, const P& policy = P{}) {
  check_extends(a, b);
  return reusable_prefix(make_interval_mask(a, policy), make_interval_mask(b, policy));
}

}  // namespace v0
}  // namespace ism
