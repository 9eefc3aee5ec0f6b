// magi (docs/formats.md#magi): MagiAttention's attention slices, the q_ranges,
// k_ranges and attn_type_map of its flex_flash_attn_func and of its
// distributed mask, all int32:
//   q_ranges [S, 2]     half-open [start, end) of the slice's queries
//   k_ranges [S, 2]     half-open [start, end) of the slice's keys
//   attn_type_map [S]   0 full, 1 causal, 2 inverse causal, 3 both
// in absolute positions of the packed sequence. Slice s with queries
// [q0, q1) and keys [k0, k1) lets query q see key k when k0 <= k < k1 and, per
// its type, causal aligned bottom-right (k - k1 <= q - q1: the last query meets
// the last key), inverse causal aligned top-left (k - k0 >= q - q0), or both.
// The slices of a mask are disjoint: the engine adds each slice's share of a
// row's softmax, so a pair in two slices would count twice.
//
// Any interval mask fits. The export walks the rows in order and grows a slice
// while the rows share their first key and either share their last key (a full
// slice) or each see one key more than the row before (a causal slice); a row
// that sees nothing ends the slice. So under ism each context segment is a
// full slice and each run of answers a causal one, per document; under prefix
// the prefix is full and the answer causal; causal is one causal slice a
// document and bidirectional one full slice a document. Where one row could
// open either kind (a one-token segment, or a lone answer row), the row after
// it decides, which changes the slices but never the mask.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"

namespace ism {
inline namespace v0 {

// attn_type_map values: bit 0 is causal (bottom-right), bit 1 inverse causal
// (top-left), as MagiAttention numbers its AttnMaskType.
enum class magi_slice_type : std::int32_t { full = 0, causal = 1, inverse_causal = 2, bicausal = 3 };

struct magi_slice {
  index_t q0, q1;  // queries [q0, q1)
  index_t k0, k1;  // keys [k0, k1)
  magi_slice_type type;
  friend bool operator==(const magi_slice&, const magi_slice&) = default;
};

struct magi_export {
  std::vector<std::int32_t> q_ranges;       // (S, 2)
  std::vector<std::int32_t> k_ranges;       // (S, 2)
  std::vector<std::int32_t> attn_type_map;  // (S,)
};

// The arrays' names, dtypes and shapes with no data: enough for npz_bytes to
// size the file before the export is built.
inline std::vector<named_array> magi_shapes(index_t slices) {
  return {{"q_ranges", {npy_dtype::int32, {slices, 2}, {}}},
          {"k_ranges", {npy_dtype::int32, {slices, 2}, {}}},
          {"attn_type_map", {npy_dtype::int32, {slices}, {}}}};
}

// The slices of a mask, in row order, in O(N).
inline std::vector<magi_slice> magi_slices(const interval_mask& m) {
  std::vector<magi_slice> out;
  const index_t n = m.size();
  for (index_t q = 0; q < n;) {
    const index_t lo = m.lo()[q], hi = m.hi()[q];
    if (lo > hi) {
      ++q;
      continue;
    }
    // The second row decides the kind; a slice of one row is full.
    index_t end = q + 1;
    const bool causal = end < n && m.lo()[end] == lo && m.hi()[end] == hi + 1;
    const index_t step = causal ? 1 : 0;
    while (end < n && m.lo()[end] == lo && m.hi()[end] == hi + step * (end - q)) ++end;
    // Causal: row end - 1 sees up to k1 - 1, which bottom-right alignment
    // gives every row of the slice its own last key.
    out.push_back({q, end, lo, hi + step * (end - 1 - q) + 1,
                   causal ? magi_slice_type::causal : magi_slice_type::full});
    q = end;
  }
  return out;
}

// In O(N). Every interval mask fits; positions fit int32 because a mask of
// a layout stays below 2^31 rows.
inline magi_export export_magi(const interval_mask& m) {
  magi_export out;
  for (const magi_slice& s : magi_slices(m)) {
    out.q_ranges.insert(out.q_ranges.end(),
                        {static_cast<std::int32_t>(s.q0), static_cast<std::int32_t>(s.q1)});
    out.k_ranges.insert(out.k_ranges.end(),
                        {static_cast<std::int32_t>(s.k0), static_cast<std::int32_t>(s.k1)});
    out.attn_type_map.push_back(static_cast<std::int32_t>(s.type));
  }
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const magi_export& x) {
  std::vector<named_array> out = magi_shapes(static_cast<index_t>(x.attn_type_map.size()));
  out[0].array.data = std::as_bytes(std::span(x.q_ranges));
  out[1].array.data = std::as_bytes(std::span(x.k_ranges));
  out[2].array.data = std::as_bytes(std::span(x.attn_type_map));
  return out;
}

// The keys query q sees in slice s, half-open; empty when none.
inline key_run magi_keys(const magi_slice& s, index_t q) {
  const auto type = static_cast<std::int32_t>(s.type);
  const index_t begin = (type & 2) != 0 ? s.k0 + (q - s.q0) : s.k0;
  const index_t end = (type & 1) != 0 ? std::min(s.k1, q + (s.k1 - s.q1) + 1) : s.k1;
  return {begin, std::max(begin, end)};
}

// The mask MagiAttention computes from the slices. Throws format_error for a
// wrong dtype or shape, a range that is not 0 <= start <= end <= N, a type
// other than 0 to 3, or two slices that both hold a pair.
inline run_mask decode_magi(std::span<const named_array> arrays, const layout& sequence,
                            index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("magi", arrays, {"q_ranges", "k_ranges", "attn_type_map"});
  const index_t n = sequence.size();
  file.check("attn_type_map", {npy_dtype::int32}, {detail::any_extent});
  const index_t slices = file.extent("attn_type_map", 0);
  file.check("q_ranges", {npy_dtype::int32}, {slices, 2});
  file.check("k_ranges", {npy_dtype::int32}, {slices, 2});
  const auto q_ranges = file.values<std::int32_t>("q_ranges");
  const auto k_ranges = file.values<std::int32_t>("k_ranges");
  const auto types = file.values<std::int32_t>("attn_type_map");
  // Each row's runs with the slice they come from, to find pairs held twice.
  std::vector<std::vector<std::pair<key_run, index_t>>> rows(static_cast<std::size_t>(n));
  for (index_t i = 0; i < slices; ++i) {
    for (const auto& [ranges, name] : {std::pair{q_ranges, "q_ranges"}, std::pair{k_ranges, "k_ranges"}}) {
      const index_t start = ranges[static_cast<std::size_t>(2 * i)];
      const index_t end = ranges[static_cast<std::size_t>(2 * i + 1)];
      if (start < 0 || end < start || end > n)
        file.fail(std::string(name) + "[" + std::to_string(i) + "] is [" + std::to_string(start) +
                  ", " + std::to_string(end) + "); a range is half-open with 0 <= start <= end <= " +
                  std::to_string(n));
    }
    if (types[i] < 0 || types[i] > 3)
      file.fail("attn_type_map[" + std::to_string(i) + "] is " + std::to_string(types[i]) +
                "; types are 0 (full), 1 (causal), 2 (inverse causal) and 3 (bidirectional causal)");
    const magi_slice s{q_ranges[static_cast<std::size_t>(2 * i)],
                       q_ranges[static_cast<std::size_t>(2 * i + 1)],
                       k_ranges[static_cast<std::size_t>(2 * i)],
                       k_ranges[static_cast<std::size_t>(2 * i + 1)],
                       static_cast<magi_slice_type>(types[i])};
    for (index_t q = s.q0; q < s.q1; ++q) {
      const key_run keys = magi_keys(s, q);
      if (keys.begin < keys.end) rows[static_cast<std::size_t>(q)].push_back({keys, i});
    }
  }
  run_mask out(n, max_runs);
  for (index_t q = 0; q < n; ++q) {
    auto& held = rows[static_cast<std::size_t>(q)];
    std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) {
      return std::pair{a.first.begin, a.second} < std::pair{b.first.begin, b.second};
    });
    std::vector<key_run> runs;
    for (std::size_t j = 0; j < held.size(); ++j) {
      if (j > 0 && held[j].first.begin < held[j - 1].first.end)
        file.fail("slices " + std::to_string(held[j - 1].second) + " and " +
                  std::to_string(held[j].second) + " both hold query " + std::to_string(q) +
                  " and key " + std::to_string(held[j].first.begin) +
                  "; the engine would count the pair twice");
      runs.push_back(held[j].first);
    }
    out.add_row(std::move(runs));
  }
  return out;
}

inline export_format magi_format() {
  export_format f;
  f.name = "magi";
  f.arrays = {"q_ranges", "k_ranges", "attn_type_map"};
  f.summary = ".npz MagiAttention slices: int32 q_ranges [S, 2], k_ranges [S, 2] (half-open, "
              "absolute), attn_type_map [S] (0 full, 1 causal bottom-right)";
  f.shapes = [](const layout&, const mask_source& m, const export_options&) {
    return magi_shapes(static_cast<index_t>(magi_slices(m()).size()));
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * (sizeof(magi_slice) + 5 * sizeof(std::int32_t));
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options&) {
    return own_arrays(export_magi(m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_magi(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
