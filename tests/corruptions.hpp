// Deliberate corruptions of a well-formed export, for the tests of the
// decoders and of `ism verify`: each changes the arrays the way a buggy engine
// or a damaged file would and says what verification must then find. A
// well-formed corruption states the mask an engine now computes from the
// arrays, written from docs/formats.md and the change alone, so the differing
// pairs follow by brute force against the oracle; a malformed one states the
// decoder's whole message.
#pragma once

#include <doctest/doctest.h>

#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <functional>
#include <ism/npy.hpp>
#include <ism/verify.hpp>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "oracle.hpp"
#include "owned_arrays.hpp"
#include "random_layouts.hpp"

namespace corruptions {

using index = std::int64_t;
using owned_arrays::arrays;

struct corrupted {
  std::string what;  // for CAPTURE
  arrays file;
  // Well-formed: the decoded file's rows (more than N for padded rows) and
  // visible(q, k) as the engine computes it; it may refer to the oracle row
  // the corruption was made for, which must outlive it.
  index rows = 0;
  std::function<bool(index, index)> engine;
  // Malformed: the decoder's message; empty when well-formed.
  std::string error;
};

// The contract's visible(q, k), where rows past its N (padding) see nothing.
inline bool contract_visible(const oracle::mask& m, index q, index k) {
  return q < static_cast<index>(m.lo.size()) && m.visible(q, k);
}

// What comparing a decoded file with the contract must report, by brute
// force: `engine(q, k)` for each of the file's `rows` rows (more than N for
// padded rows) against the contract's mask, every differing pair counted, the
// first `examples` kept in row-major order.
inline ism::verify_report expected_report(index rows,
                                          const std::function<bool(index, index)>& engine,
                                          const oracle::mask& contract, index n,
                                          std::size_t examples) {
  ism::verify_report out;
  out.queries = rows;
  out.keys = n;
  for (index q = 0; q < rows; ++q)
    for (index k = 0; k < n; ++k) {
      const bool in_file = engine(q, k);
      if (in_file == contract_visible(contract, q, k)) continue;
      ++out.differing_pairs;
      if (out.first_differences.size() < examples) out.first_differences.push_back({q, k, in_file});
    }
  return out;
}

namespace detail {

using random_layouts::uniform;

inline const oracle::token& token_of(const oracle::row& r, index q) {
  return r.tokens[static_cast<std::size_t>(q)];
}

// The contract with pair (q, k) turned over.
inline std::function<bool(index, index)> flipped(const oracle::mask& m, index q, index k) {
  return [m, q, k](index a, index b) { return (a == q && b == k) != contract_visible(m, a, b); };
}

// Writes 0 (visible) or -inf (hidden), or any other value, into a float
// array of the additive family in its own dtype.
inline void set_float(arrays& file, const std::string& name, index i, float value) {
  switch (file[name].dtype) {
    case ism::npy_dtype::float32:
      return file.set(name, i, value);
    case ism::npy_dtype::float16:
      return file.set(name, i, Eigen::half(value));
    case ism::npy_dtype::bfloat16:
      return file.set(name, i, Eigen::bfloat16(value));
    default:
      FAIL("not a float array: ", name);
  }
}

constexpr float minus_inf = -std::numeric_limits<float>::infinity();

// dense, additive, llamacpp: one array [rows, N] of "visible" and "hidden" items.
inline std::vector<corrupted> square(const std::string& format, const std::string& name,
                                     const arrays& file, const oracle::row& r,
                                     const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size(), rows = file[name].shape[0];
  const index q = uniform(rng, 0, n - 1), k = uniform(rng, 0, n - 1);
  const bool dense = format == "dense";
  const auto write = [&](arrays& a, index row, index key, bool visible) {
    if (dense)
      a.set(name, row * n + key, static_cast<std::uint8_t>(visible));
    else
      set_float(a, name, row * n + key, visible ? 0.0f : minus_inf);
  };
  std::vector<corrupted> out;
  corrupted flip{"one item turned over", file, rows, flipped(m, q, k), ""};
  write(flip.file, q, k, !m.visible(q, k));
  out.push_back(std::move(flip));
  if (rows > n) {
    const index row = uniform(rng, n, rows - 1);
    corrupted pad{
        "a padding row sees a key", file, rows,
        [m, row, k](index a, index b) { return (a == row && b == k) || contract_visible(m, a, b); },
        ""};
    write(pad.file, row, k, true);
    out.push_back(std::move(pad));
  }
  corrupted bad{"an item that is neither value", file, 0, {}, ""};
  const std::string at = name + "[" + std::to_string(q) + ", " + std::to_string(k) + "] is ";
  if (dense) {
    bad.file.set(name, q * n + k, std::uint8_t{2});
    bad.error = "dense: " + at + "2.000000; expected 0 (hidden) or 1 (visible)";
  } else {
    set_float(bad.file, name, q * n + k, 1.0f);
    bad.error = format + ": " + at + "1.000000; expected 0 (visible) or -inf (hidden)";
  }
  out.push_back(std::move(bad));
  return out;
}

inline std::vector<corrupted> intervals(const arrays& file, const oracle::row& r,
                                        const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size(), q = uniform(rng, 0, n - 1);
  const auto lo = file.get<std::int64_t>("lo", q), hi = file.get<std::int64_t>("hi", q);
  std::vector<corrupted> out;
  // Row q loses its last key (or its only one, by going empty).
  corrupted shorter{"a row one key shorter", file, n, flipped(m, q, hi), ""};
  if (hi > lo)
    shorter.file.set("hi", q, hi - 1);
  else
    shorter.file.set("lo", q, hi + 1);
  out.push_back(std::move(shorter));
  out.push_back({"a row past the keys",
                 file.with("hi", q, std::int64_t{n}),
                 0,
                 {},
                 "intervals: row " + std::to_string(q) + " sees [" + std::to_string(lo) + ", " +
                     std::to_string(n) + "], outside the keys [0, " + std::to_string(n) + ")"});
  return out;
}

// A tile of the flex grid: rows [q0, q1), keys [k0, k1).
struct tile {
  index qb, kb, q0, q1, k0, k1;
};

inline std::vector<corrupted> flex(const arrays& file, const oracle::row& r, const oracle::mask& m,
                                   std::mt19937_64& rng) {
  const index n = r.size();
  const index bq = file.get<std::int32_t>("block_size", 0);
  const index bk = file.get<std::int32_t>("block_size", 1);
  const index qbs = file["kv_indices"].shape[0], kbs = file["kv_indices"].shape[1];
  // Every tile, and whether the export lists it full, partial or not at all.
  std::vector<tile> full, empty;
  for (index qb = 0; qb < qbs; ++qb)
    for (index kb = 0; kb < kbs; ++kb) {
      const tile t{
          qb, kb, qb * bq, std::min(n, (qb + 1) * bq), kb * bk, std::min(n, (kb + 1) * bk)};
      const auto listed = [&](const char* counts, const char* indices) {
        const auto blocks = owned_arrays::listed_blocks(file, counts, indices, qb, kbs);
        return std::find(blocks.begin(), blocks.end(), kb) != blocks.end();
      };
      if (listed("full_kv_num_blocks", "full_kv_indices"))
        full.push_back(t);
      else if (!listed("kv_num_blocks", "kv_indices"))
        empty.push_back(t);
    }
  std::vector<corrupted> out;
  const auto in_tile = [](const tile& t, index q, index k) {
    return t.q0 <= q && q < t.q1 && t.k0 <= k && k < t.k1;
  };
  // A full tile dropped from both directions' lists, which the engine then
  // skips; or an empty one listed full, which it attends to whole.
  for (const bool drop : {true, false}) {
    const std::vector<tile>& from = drop ? full : empty;
    if (from.empty()) continue;
    const tile t =
        from[static_cast<std::size_t>(uniform(rng, 0, static_cast<index>(from.size()) - 1))];
    corrupted c{drop ? "a full tile dropped" : "an empty tile listed full", file, n,
                [m, t, drop, in_tile](index q, index k) {
                  return in_tile(t, q, k) ? !drop : m.visible(q, k);
                },
                ""};
    const auto relist = drop ? owned_arrays::unlist_block : owned_arrays::list_block;
    relist(c.file, "full_kv_num_blocks", "full_kv_indices", t.qb, kbs,
           static_cast<std::int32_t>(t.kb));
    relist(c.file, "full_q_num_blocks", "full_q_indices", t.kb, qbs,
           static_cast<std::int32_t>(t.qb));
    out.push_back(std::move(c));
  }
  out.push_back({"seq_lengths past the layout",
                 file.with("seq_lengths", 0, static_cast<std::int32_t>(n + 1)),
                 0,
                 {},
                 "flex: seq_lengths is [" + std::to_string(n + 1) + ", " + std::to_string(n) +
                     "] but the layout has " + std::to_string(n) + " tokens"});
  return out;
}

inline std::vector<corrupted> flashinfer(const arrays& file, const oracle::row& r,
                                         const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size(), q = uniform(rng, 0, n - 1);
  const oracle::token& t = token_of(r, q);
  const index k = uniform(rng, t.doc_begin, t.doc_end - 1);
  const index bit = (q - t.doc_begin) * (t.doc_end - t.doc_begin) + (k - t.doc_begin);
  const index byte = file.get<std::int32_t>("mask_indptr", t.document) + bit / 8;
  std::vector<corrupted> out;
  corrupted flip{"one bit turned over", file, n, flipped(m, q, k), ""};
  flip.file.set(
      "packed_mask", byte,
      static_cast<std::uint8_t>(file.get<std::uint8_t>("packed_mask", byte) ^ (1u << (bit % 8))));
  out.push_back(std::move(flip));
  out.push_back(
      {"kv_indptr short of N",
       file.with("kv_indptr", static_cast<index>(r.documents.size()),
                 static_cast<std::int32_t>(n - 1)),
       0,
       {},
       "flashinfer: kv_indptr must run from 0 to the layout's " + std::to_string(n) + " tokens"});
  return out;
}

inline std::vector<corrupted> flashmask(const arrays& file, const oracle::row& r,
                                        const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size(), k = uniform(rng, 0, n - 1);
  const std::int32_t lts = file.get<std::int32_t>("startend_row_indices", 2 * k);
  const std::int32_t ute = file.get<std::int32_t>("startend_row_indices", 2 * k + 1);
  std::vector<corrupted> out;
  // Every built-in key is seen by itself, so its range of rows is not empty.
  REQUIRE(ute < lts);
  out.push_back({"a key's first row one later",
                 file.with("startend_row_indices", 2 * k + 1, static_cast<std::int32_t>(ute + 1)),
                 n, flipped(m, ute, k), ""});
  out.push_back({"LTS past N",
                 file.with("startend_row_indices", 2 * k, static_cast<std::int32_t>(n + 1)),
                 0,
                 {},
                 "flashmask: startend_row_indices[" + std::to_string(k) + "] is [" +
                     std::to_string(n + 1) + ", " + std::to_string(ute) +
                     "]; [LTS, UTE] needs 0 <= UTE <= LTS <= " + std::to_string(n)});
  return out;
}

// hf's rule, docs/formats.md#hf: same document, and causal or the same id >= 0.
inline std::function<bool(index, index)> hf_engine(const oracle::row& r,
                                                   std::vector<std::int64_t> ids) {
  return [&r, ids = std::move(ids)](index q, index k) {
    const auto i = static_cast<std::size_t>(q), j = static_cast<std::size_t>(k);
    return r.tokens[i].document == r.tokens[j].document &&
           (k <= q || (ids[i] == ids[j] && ids[i] >= 0));
  };
}

// hf and vllm_ids: per-token block ids of dtype Id in array `name`.
template <class Id>
std::vector<corrupted> block_ids(const std::string& format, const std::string& name,
                                 const arrays& file, const oracle::row& r, std::mt19937_64& rng) {
  const index n = r.size();
  std::vector<std::int64_t> ids;
  for (index t = 0; t < n; ++t) ids.push_back(file.get<Id>(name, t));
  std::vector<corrupted> out;
  const auto changed = [&](std::string what, std::vector<std::int64_t> new_ids) {
    corrupted c{std::move(what), file, n, hf_engine(r, new_ids), ""};
    for (index t = 0; t < n; ++t)
      c.file.set(name, t, static_cast<Id>(new_ids[static_cast<std::size_t>(t)]));
    out.push_back(std::move(c));
  };
  const index t = uniform(rng, 0, n - 1);
  const auto id = [&](index i) { return ids[static_cast<std::size_t>(i)]; };
  // A token leaves its block; or it and its causal neighbour form a new one,
  // with an id no block has (blocks hold two tokens or more).
  if (id(t) >= 0) {
    std::vector<std::int64_t> fewer = ids;
    fewer[static_cast<std::size_t>(t)] = -1;
    changed("a token out of its block", fewer);
  } else if (t + 1 < n && id(t + 1) < 0 && token_of(r, t).document == token_of(r, t + 1).document) {
    std::vector<std::int64_t> more = ids;
    more[static_cast<std::size_t>(t)] = more[static_cast<std::size_t>(t + 1)] = n - 1;
    changed("two tokens in a new block", more);
  }
  out.push_back({"an id below -1", file.with(name, t, Id{-2}), 0, {},
                 format + ": " + name + "[" + std::to_string(t) +
                     "] is -2; ids are -1 (causal) or block numbers from 0 to " +
                     std::to_string(n - 1)});
  return out;
}

inline std::vector<corrupted> vllm(const arrays& file, const oracle::row& r, std::mt19937_64& rng) {
  const index n = r.size();
  const index per_document = file["ranges"].shape[1];
  const index d = uniform(rng, 0, static_cast<index>(r.documents.size()) - 1);
  const auto [d0, d1] = r.documents[static_cast<std::size_t>(d)];
  const index slot = 2 * (d * per_document + uniform(rng, 0, per_document - 1));
  const std::int32_t start = file.get<std::int32_t>("ranges", slot);
  const std::int32_t end = file.get<std::int32_t>("ranges", slot + 1);
  // vLLM's rule, docs/formats.md#vllm: same document, and causal or both in
  // one of the document's inclusive ranges.
  const auto engine = [&r, per_document](const arrays& a) {
    std::vector<std::int32_t> ranges;
    for (index i = 0; i < 2 * static_cast<index>(r.documents.size()) * per_document; ++i)
      ranges.push_back(a.get<std::int32_t>("ranges", i));
    return [&r, per_document, ranges](index q, index k) {
      const oracle::token& t = r.tokens[static_cast<std::size_t>(q)];
      if (t.document != r.tokens[static_cast<std::size_t>(k)].document) return false;
      if (k <= q) return true;
      for (index s = 0; s < per_document; ++s) {
        const auto at = static_cast<std::size_t>(2 * (t.document * per_document + s));
        if (ranges[at] >= 0 && ranges[at] <= q - t.doc_begin && k - t.doc_begin <= ranges[at + 1])
          return true;
      }
      return false;
    };
  };
  std::vector<corrupted> out;
  corrupted changed{"", file, n, {}, ""};
  if (start >= 0 && end > start) {
    changed.what = "a range one token shorter";
    changed.file.set("ranges", slot + 1, static_cast<std::int32_t>(end - 1));
  } else if (start < 0 && d1 - d0 >= 2 &&
             file.get<std::int32_t>("ranges", 2 * d * per_document) == ism::vllm_padding) {
    // A document without ranges: its tokens are all causal.
    const index i = uniform(rng, 0, d1 - d0 - 2);
    changed.what = "a new range of two tokens";
    changed.file.set("ranges", slot, static_cast<std::int32_t>(i));
    changed.file.set("ranges", slot + 1, static_cast<std::int32_t>(i + 1));
  }
  if (!changed.what.empty()) {
    changed.engine = engine(changed.file);
    out.push_back(std::move(changed));
  }
  corrupted past{"a range past its document", file, 0, {}, ""};
  const index begin = start >= 0 ? start : 0;
  past.file.set("ranges", slot, static_cast<std::int32_t>(begin));
  past.file.set("ranges", slot + 1, static_cast<std::int32_t>(d1 - d0));
  past.error = "vllm: ranges[" + std::to_string(d) + ", " +
               std::to_string(slot / 2 % per_document) + "] is [" + std::to_string(begin) + ", " +
               std::to_string(d1 - d0) +
               "]; a range is [-1, -1] or inclusive [start, end] with 0 <= start <= end < " +
               std::to_string(d1 - d0) + ", the document's length";
  out.push_back(std::move(past));
  return out;
}

inline std::vector<corrupted> cu_seqlens(const arrays& file, const oracle::row& r,
                                         const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size();
  std::vector<std::int32_t> bounds;
  for (index i = 0; i < file["cu_seqlens"].shape[0]; ++i)
    bounds.push_back(file.get<std::int32_t>("cu_seqlens", i));
  // The flag the decoder takes from the paradigm: causal when every row is,
  // even if every row also sees its whole document (documents of one token).
  bool causal = true;
  for (index q = 0; q < n; ++q) causal = causal && m.hi[static_cast<std::size_t>(q)] == q;
  std::vector<corrupted> out;
  std::vector<std::int32_t> moved = bounds;
  std::string what;
  if (bounds.size() > 2) {
    what = "two documents merged";
    moved.erase(moved.begin() + uniform(rng, 1, static_cast<index>(bounds.size()) - 2));
  } else if (n >= 2) {
    what = "a document split";
    moved.insert(moved.begin() + 1, static_cast<std::int32_t>(uniform(rng, 1, n - 1)));
  }
  if (!what.empty()) {
    corrupted c{what, file, n,
                [moved, causal](index q, index k) {
                  const auto segment = [&](index t) {
                    return std::upper_bound(moved.begin(), moved.end(), t) - moved.begin();
                  };
                  return segment(q) == segment(k) && (!causal || k <= q);
                },
                ""};
    c.file["cu_seqlens"] = owned_arrays::make_owned(moved, {static_cast<index>(moved.size())});
    out.push_back(std::move(c));
  }
  out.push_back({"a document of no tokens",
                 file.with("cu_seqlens", 1, std::int32_t{0}),
                 0,
                 {},
                 bounds.size() > 2
                     ? "cu_seqlens: cu_seqlens[1] = 0 does not rise above cu_seqlens[0] = 0"
                     : "cu_seqlens: cu_seqlens must run from 0 to the layout's " +
                           std::to_string(n) + " tokens with at least one document"});
  return out;
}

// flashinfer_ranges' rule, docs/formats.md#flashinfer_ranges: same document,
// and causal or inside the query's inclusive, document-local range.
inline std::function<bool(index, index)> flashinfer_ranges_engine(const oracle::row& r,
                                                                  const arrays& a) {
  std::vector<std::int32_t> ranges;
  for (index i = 0; i < 2 * r.size(); ++i) ranges.push_back(a.get<std::int32_t>("ranges", i));
  return [&r, ranges](index q, index k) {
    const oracle::token& t = token_of(r, q);
    if (t.document != token_of(r, k).document) return false;
    const std::int32_t start = ranges[static_cast<std::size_t>(2 * q)];
    const std::int32_t end = ranges[static_cast<std::size_t>(2 * q + 1)];
    return k <= q || (start >= 0 && start <= k - t.doc_begin && k - t.doc_begin <= end);
  };
}

inline std::vector<corrupted> flashinfer_ranges(const arrays& file, const oracle::row& r,
                                                std::mt19937_64& rng) {
  const index n = r.size(), q = uniform(rng, 0, n - 1);
  const oracle::token& t = token_of(r, q);
  const index length = t.doc_end - t.doc_begin;
  std::vector<corrupted> out;
  corrupted changed{"", file, n, {}, ""};
  // A range that ends at the row itself adds nothing to causal attention.
  if (file.get<std::int32_t>("ranges", 2 * q + 1) > q - t.doc_begin) {
    changed.what = "a row's range dropped";
    changed.file.set("ranges", 2 * q, ism::flashinfer_no_range);
    changed.file.set("ranges", 2 * q + 1, ism::flashinfer_no_range);
  } else if (q + 1 < t.doc_end) {
    changed.what = "a row sees the next key";
    const auto next = static_cast<std::int32_t>(q + 1 - t.doc_begin);
    changed.file.set("ranges", 2 * q, next);
    changed.file.set("ranges", 2 * q + 1, next);
  }
  if (!changed.what.empty()) {
    changed.engine = flashinfer_ranges_engine(r, changed.file);
    out.push_back(std::move(changed));
  }
  corrupted past{"a range past its request",
                 file.with("ranges", 2 * q, std::int32_t{0})
                     .with("ranges", 2 * q + 1, static_cast<std::int32_t>(length)),
                 0,
                 {},
                 "flashinfer_ranges: ranges[" + std::to_string(q) + "] is [0, " +
                     std::to_string(length) + "]; a range is (-1, -1) or inclusive [start, end] "
                     "with 0 <= start <= end < " + std::to_string(length) + ", request " +
                     std::to_string(t.document) + "'s key count"};
  out.push_back(std::move(past));
  return out;
}

inline std::vector<corrupted> cudnn_endpoints(const arrays& file, const oracle::row& r,
                                              const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size(), q = uniform(rng, 0, n - 1);
  const oracle::token& t = token_of(r, q);
  const index functions = file["endpoints"].shape[1];
  const index last = (functions - 1) * n + q;
  const std::int32_t end = file.get<std::int32_t>("endpoints", last);
  const std::int32_t before =
      functions > 1 ? file.get<std::int32_t>("endpoints", (functions - 2) * n + q) : 0;
  // Every built-in row sees a key, so its last interval is not empty.
  REQUIRE(before < end);
  std::vector<corrupted> out;
  out.push_back({"a row one key shorter",
                 file.with("endpoints", last, static_cast<std::int32_t>(end - 1)), n,
                 flipped(m, q, t.doc_begin + end - 1), ""});
  const index length = t.doc_end - t.doc_begin;
  out.push_back({"an endpoint past its sequence",
                 file.with("endpoints", last, static_cast<std::int32_t>(length + 1)),
                 0,
                 {},
                 "cudnn_endpoints: endpoints[0, " + std::to_string(functions - 1) + ", " +
                     std::to_string(q) + "] is " + std::to_string(length + 1) +
                     "; a row's endpoints rise from 0 to its sequence's " +
                     std::to_string(length) + " keys"});
  return out;
}

// MagiAttention's rule, docs/formats.md#magi: a pair is visible when a slice
// holds it, causal slices aligned bottom-right.
inline std::function<bool(index, index)> magi_engine(const arrays& a) {
  std::vector<std::array<std::int32_t, 5>> slices;
  for (index s = 0; s < a["attn_type_map"].shape[0]; ++s)
    slices.push_back({a.get<std::int32_t>("q_ranges", 2 * s), a.get<std::int32_t>("q_ranges", 2 * s + 1),
                      a.get<std::int32_t>("k_ranges", 2 * s), a.get<std::int32_t>("k_ranges", 2 * s + 1),
                      a.get<std::int32_t>("attn_type_map", s)});
  return [slices](index q, index k) {
    for (const auto& [q0, q1, k0, k1, type] : slices)
      if (q0 <= q && q < q1 && k0 <= k && k < k1 && ((type & 1) == 0 || k - k1 <= q - q1) &&
          ((type & 2) == 0 || k - k0 >= q - q0))
        return true;
    return false;
  };
}

inline std::vector<corrupted> magi(const arrays& file, const oracle::row& r, std::mt19937_64& rng) {
  const index n = r.size(), slices = file["attn_type_map"].shape[0];
  const index s = uniform(rng, 0, slices - 1);
  const std::int32_t k0 = file.get<std::int32_t>("k_ranges", 2 * s);
  const std::int32_t k1 = file.get<std::int32_t>("k_ranges", 2 * s + 1);
  REQUIRE(k0 < k1);
  std::vector<corrupted> out;
  corrupted narrower{"a slice one key narrower",
                     file.with("k_ranges", 2 * s + 1, static_cast<std::int32_t>(k1 - 1)), n, {},
                     ""};
  narrower.engine = magi_engine(narrower.file);
  out.push_back(std::move(narrower));
  const std::int32_t q0 = file.get<std::int32_t>("q_ranges", 2 * s);
  out.push_back({"a slice past the queries",
                 file.with("q_ranges", 2 * s + 1, static_cast<std::int32_t>(n + 1)),
                 0,
                 {},
                 "magi: q_ranges[" + std::to_string(s) + "] is [" + std::to_string(q0) + ", " +
                     std::to_string(n + 1) + "); a range is half-open with 0 <= start <= end <= " +
                     std::to_string(n)});
  return out;
}

// fa4_block_sparse: a partial tile unlisted, which the kernel then skips.
inline std::vector<corrupted> fa4_block_sparse(const arrays& file, const oracle::row& r,
                                               const oracle::mask& m, std::mt19937_64& rng) {
  const index n = r.size();
  const index bq = file.get<std::int32_t>("block_size", 0);
  const index bk = file.get<std::int32_t>("block_size", 1);
  const index qbs = file["mask_block_idx"].shape[2], kbs = file["mask_block_idx"].shape[3];
  std::vector<std::pair<index, std::int32_t>> partial;
  for (index qb = 0; qb < qbs; ++qb)
    for (const std::int32_t kb :
         owned_arrays::listed_blocks(file, "mask_block_cnt", "mask_block_idx", qb, kbs))
      partial.emplace_back(qb, kb);
  // Blocks of 128 or more over a short row: tile (0, 0) holds visible pairs
  // and is cut short by the row's end, so it is partial.
  REQUIRE(!partial.empty());
  const auto [qb, kb] =
      partial[static_cast<std::size_t>(uniform(rng, 0, static_cast<index>(partial.size()) - 1))];
  corrupted dropped{"a partial tile unlisted", file, n,
                    [m, qb, kb, bq, bk](index q, index k) {
                      return q / bq == qb && k / bk == kb ? false : m.visible(q, k);
                    },
                    ""};
  owned_arrays::unlist_block(dropped.file, "mask_block_cnt", "mask_block_idx", qb, kbs, kb);
  std::vector<corrupted> out;
  out.push_back(std::move(dropped));
  out.push_back({"a query block of 64",
                 file.with("block_size", 0, std::int32_t{64}),
                 0,
                 {},
                 "fa4_block_sparse: block_size: block size 64x" + std::to_string(bk) +
                     " is not a multiple of 128 each way, which FlashAttention-4's tiles need"});
  return out;
}

}  // namespace detail

// The corruptions of `file`, a well-formed export in `format` of row `r` under
// a paradigm whose oracle mask is `m`, at positions drawn from `rng`.
inline std::vector<corrupted> corrupt(const std::string& format, const arrays& file,
                                      const oracle::row& r, const oracle::mask& m,
                                      std::mt19937_64& rng) {
  if (format == "dense") return detail::square(format, "mask", file, r, m, rng);
  if (format == "additive") return detail::square(format, "bias", file, r, m, rng);
  if (format == "llamacpp") return detail::square(format, "kq_mask", file, r, m, rng);
  if (format == "intervals") return detail::intervals(file, r, m, rng);
  if (format == "flex") return detail::flex(file, r, m, rng);
  if (format == "flashinfer") return detail::flashinfer(file, r, m, rng);
  if (format == "flashmask") return detail::flashmask(file, r, m, rng);
  if (format == "hf") return detail::block_ids<std::int64_t>(format, "block_sequence_ids", file, r, rng);
  if (format == "vllm_ids") return detail::block_ids<std::int32_t>(format, "range_ids", file, r, rng);
  if (format == "vllm") return detail::vllm(file, r, rng);
  if (format == "cu_seqlens") return detail::cu_seqlens(file, r, m, rng);
  if (format == "flashinfer_ranges") return detail::flashinfer_ranges(file, r, rng);
  if (format == "cudnn_endpoints") return detail::cudnn_endpoints(file, r, m, rng);
  if (format == "magi") return detail::magi(file, r, rng);
  if (format == "fa4_block_sparse") return detail::fa4_block_sparse(file, r, m, rng);
  FAIL("no corruptions for format ", format);
  return {};
}

}  // namespace corruptions
