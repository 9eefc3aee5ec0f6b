// flashmask (docs/formats.md#flashmask): int32 startend_row_indices [Lk, 2], Paddle
// FlashMask's non-causal two-column form. Column k holds [LTS, UTE]: key k is
// hidden from rows >= LTS and from rows < UTE, so rows [UTE, LTS) see it. A key
// that no row sees is written [0, 0]. The engine adds the leading batch and
// head dimensions, [B, H, Lk, 2].
//
// The mask is square: queries and keys are the same N absolute positions of
// the row, so no alignment arises.
//
// Any mask whose columns are each seen by one range of rows fits this form: the
// four built-in paradigms (docs/semantics.md#paradigms-and-the-segment-function), and other interval masks too,
// monotone or not. The column ranges are computed exactly in O(N) time and
// memory (near-linear union-find), never by visiting pairs; a mask with a
// column whose rows are not one range gets a format_error naming the column
// and a row in the gap, never an approximation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

struct flashmask_export {
  std::vector<std::int32_t> startend_row_indices;  // (Lk, 2): [LTS, UTE] per key
};

// The array's name, dtype and shape with no data: enough for npy_bytes to size
// the file before the export is built.
inline std::vector<named_array> flashmask_shapes(index_t keys) {
  return {{"startend_row_indices", {npy_dtype::int32, {keys, 2}, {}}}};
}

namespace detail {

// Calls paint(q, k) once for each key k that some row sees, with the first row
// q holding k in its interval, rows taken in ascending (or descending) order.
// A union-find over "next key not yet painted" skips painted keys, so the pass
// is near-linear in N.
template <interval_backed_mask M, class Paint>
void paint_first_rows(const M& m, index_t n, bool ascending, Paint&& paint) {
  std::vector<index_t> next(static_cast<std::size_t>(n + 1));  // next[n] = n: the end
  std::iota(next.begin(), next.end(), index_t{0});
  const auto unpainted_from = [&next](index_t k) {
    while (next[k] != k) {
      next[k] = next[next[k]];  // path halving
      k = next[k];
    }
    return k;
  };
  for (index_t i = 0; i < n; ++i) {
    const index_t q = ascending ? i : n - 1 - i;
    const row_interval r = clamp(m.interval(q), 0, n);
    if (r.empty()) continue;
    for (index_t k = unpainted_from(r.lo); k <= r.hi; k = unpainted_from(k + 1)) {
      paint(q, k);
      next[k] = k + 1;
    }
  }
}

}  // namespace detail

// Throws shape_error for a mask of 2^31 rows or more (FlashMask's indices are
// int32), format_error for a column whose rows are not one range.
template <interval_backed_mask M>
flashmask_export export_flashmask(const M& m) requires sized_mask<M> {
  const index_t n = m.size();
  if (n > std::numeric_limits<std::int32_t>::max())
    throw shape_error("flashmask: a mask of " + std::to_string(n) +
                      " rows does not fit FlashMask's int32 row indices");
  flashmask_export out;
  std::vector<std::int32_t>& lts_ute = out.startend_row_indices;
  lts_ute.assign(static_cast<std::size_t>(2 * n), 0);
  // UTE is the first row that sees the key, LTS one past the last.
  detail::paint_first_rows(m, n, true, [&](index_t q, index_t k) {
    lts_ute[static_cast<std::size_t>(2 * k + 1)] = static_cast<std::int32_t>(q);
  });
  detail::paint_first_rows(m, n, false, [&](index_t q, index_t k) {
    lts_ute[static_cast<std::size_t>(2 * k)] = static_cast<std::int32_t>(q + 1);
  });

  // The rows that see each key, counted by a difference array: a key is one
  // range of rows exactly when the count fills [UTE, LTS).
  std::vector<index_t> starts(static_cast<std::size_t>(n + 1), 0);
  for (index_t q = 0; q < n; ++q) {
    const row_interval r = clamp(m.interval(q), 0, n);
    if (r.empty()) continue;
    ++starts[r.lo];
    --starts[r.hi + 1];
  }
  index_t seen_by = 0;
  for (index_t k = 0; k < n; ++k) {
    seen_by += starts[k];
    const index_t lts = lts_ute[static_cast<std::size_t>(2 * k)];
    const index_t ute = lts_ute[static_cast<std::size_t>(2 * k + 1)];
    if (seen_by == lts - ute) continue;
    index_t gap = ute;
    while (clamp(m.interval(gap), 0, n).contains(k)) ++gap;
    throw format_error("flashmask: key " + std::to_string(k) + " is seen by rows " +
                         std::to_string(ute) + " and " + std::to_string(lts - 1) +
                         " but not by row " + std::to_string(gap) +
                         " between them; FlashMask's [LTS, UTE] form holds one range of rows "
                         "per key");
  }
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const flashmask_export& x) {
  std::vector<named_array> out =
      flashmask_shapes(static_cast<index_t>(x.startend_row_indices.size() / 2));
  out[0].array.data = std::as_bytes(std::span(x.startend_row_indices));
  return out;
}

namespace detail {

// The keys that are seen by the current row, as runs, while rows go by: a key
// joins when its first row comes and leaves after its last.
class active_keys {
 public:
  void add(index_t k) {
    index_t begin = k, end = k + 1;
    auto next = runs_.lower_bound(k);
    if (next != runs_.end() && next->first == end) {
      end = next->second;
      next = runs_.erase(next);
    }
    if (next != runs_.begin() && std::prev(next)->second == begin) {
      begin = std::prev(next)->first;
      runs_.erase(std::prev(next));
    }
    runs_.emplace(begin, end);
  }
  void remove(index_t k) {
    auto run = std::prev(runs_.upper_bound(k));  // the run holding k
    const index_t begin = run->first, end = run->second;
    runs_.erase(run);
    if (begin < k) runs_.emplace(begin, k);
    if (k + 1 < end) runs_.emplace(k + 1, end);
  }
  std::vector<key_run> runs() const {
    std::vector<key_run> out;
    for (const auto& [begin, end] : runs_) out.push_back({begin, end});
    return out;
  }

 private:
  std::map<index_t, index_t> runs_;  // begin -> end
};

}  // namespace detail

// The mask FlashMask computes: key k is seen by rows [UTE, LTS) of its
// [LTS, UTE] pair; a pair with LTS = UTE is a key no row sees. Throws
// format_error for a wrong dtype or shape, or a pair outside
// 0 <= UTE <= LTS <= N.
inline run_mask decode_flashmask(std::span<const named_array> arrays, const layout& sequence,
                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("flashmask", arrays, {"startend_row_indices"});
  const index_t n = sequence.size();
  file.check("startend_row_indices", {npy_dtype::int32}, {n, 2});
  const auto pairs = file.values<std::int32_t>("startend_row_indices");
  std::vector<std::vector<index_t>> joining(static_cast<std::size_t>(n + 1));
  std::vector<std::vector<index_t>> leaving(static_cast<std::size_t>(n + 1));
  for (index_t k = 0; k < n; ++k) {
    const index_t lts = pairs[static_cast<std::size_t>(2 * k)];
    const index_t ute = pairs[static_cast<std::size_t>(2 * k + 1)];
    if (ute < 0 || lts < ute || lts > n)
      file.fail("startend_row_indices[" + std::to_string(k) + "] is [" + std::to_string(lts) +
                ", " + std::to_string(ute) + "]; [LTS, UTE] needs 0 <= UTE <= LTS <= " +
                std::to_string(n));
    if (ute == lts) continue;
    joining[static_cast<std::size_t>(ute)].push_back(k);
    leaving[static_cast<std::size_t>(lts)].push_back(k);
  }
  detail::active_keys active;
  run_mask out(n, max_runs);
  for (index_t q = 0; q < n; ++q) {
    for (const index_t k : leaving[static_cast<std::size_t>(q)]) active.remove(k);
    for (const index_t k : joining[static_cast<std::size_t>(q)]) active.add(k);
    out.add_row(active.runs());
  }
  return out;
}

inline export_format flashmask_format() {
  export_format f;
  f.name = "flashmask";
  f.arrays = {"startend_row_indices"};
  f.summary = ".npy int32 startend_row_indices [N, 2]: [LTS, UTE] per key, seen by rows "
              "[UTE, LTS) (Paddle FlashMask)";
  f.shapes = [](const layout& s, const mask_source&, const export_options&) {
    return flashmask_shapes(s.size());
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * (2 * sizeof(std::int32_t) + 2 * sizeof(index_t));
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options&) {
    return own_arrays(export_flashmask(m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_flashmask(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
