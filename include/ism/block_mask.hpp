// The block-sparse mask: for each query block, the ascending lists of its full
// and partial key blocks, and for each key block the transposed lists of query
// blocks that a backward pass walks, all four as flat CSR arrays; view() hands
// them to a kernel. Built from any mask by make_block_mask; interval-backed
// masks cost O(rows + listed blocks) and never form an N x N intermediate (see
// block_classification.hpp). It keeps the fingerprint of the mask it was built
// from, so that attention refuses it with any other mask.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "ism/block_classification.hpp"
#include "ism/block_mask_view.hpp"
#include "ism/interval_view.hpp"
#include "ism/mask_fingerprint.hpp"
#include "ism/paradigm.hpp"
#include "ism/segment_function.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

// Rows [begin, begin + lo.size()) of an interval mask, in absolute positions:
// the window the layout constructor of block_mask classifies.
struct interval_window {
  std::vector<index_t> lo;
  std::vector<index_t> hi;
  index_t begin = 0;

  template <interval_source P>
  void fill(const layout& sequence, const P& paradigm, index_t q0, index_t q1) {
    lo.resize(static_cast<std::size_t>(q1 - q0));
    hi.resize(lo.size());
    begin = q0;
    fill_intervals(sequence, paradigm, q0, q1, lo, hi);
  }
  row_interval interval(index_t q) const noexcept {
    ISM_ASSERT(begin <= q && q - begin < static_cast<index_t>(lo.size()));
    return {lo[static_cast<std::size_t>(q - begin)], hi[static_cast<std::size_t>(q - begin)]};
  }
  bool visible(index_t q, index_t k) const noexcept {
    const row_interval r = interval(q);
    return r.lo <= k && k <= r.hi;
  }
};

// A layout's rows under a paradigm, each computed when asked, in O(log
// segments): for the few pairs a fingerprint samples, not for a build.
template <interval_source P>
struct rows_on_demand {
  const layout* sequence;
  const P* paradigm;

  index_t size() const noexcept { return sequence->size(); }
  bool visible(index_t q, index_t k) const {
    index_t lo = 0, hi = 0;
    fill_intervals(*sequence, *paradigm, q, q + 1, std::span(&lo, 1), std::span(&hi, 1));
    return lo <= k && k <= hi;
  }
};

}  // namespace detail

class block_mask {
 public:
  // Block indices are stored as int32, the engines' index type (docs/formats.md).
  using block_index = ism::block_index;

  // The block mask of chunk c of m; see make_block_mask.
  template <mask M, block_shape S>
  block_mask(const M& m, const chunk& c, const S& size) : grid_(c, size) {
    check_chunk(m, c);
    check_block_count(grid_);
    build_query_blocks(m, 0);
  }

  // The block mask of chunk c of the intervals `paradigm` gives `sequence`:
  // equal to the one of make_interval_mask(sequence, paradigm), but the rows
  // are computed a window of query blocks at a time into one reused buffer.
  // The N-row interval mask is never formed: at a million rows, the first
  // touch of its 16 MiB took as long as classifying the tiles.
  template <interval_source P, block_shape S>
  block_mask(const layout& sequence, const P& paradigm, const chunk& c, const S& size)
      : grid_(c, size) {
    const detail::rows_on_demand<P> rows{&sequence, &paradigm};
    check_chunk(rows, c);
    check_block_count(grid_);
    const index_t window = std::max(index_t{1}, window_rows / grid_.bq);  // query blocks
    detail::interval_window buffer;
    fingerprint_.has_rows = true;  // the windows are interval-backed
    for (index_t first = 0; first < grid_.query_blocks(); first += window) {
      const index_t end = std::min(first + window, grid_.query_blocks());
      buffer.fill(sequence, paradigm, grid_.tile(first, 0).q0, grid_.tile(end - 1, 0).q1);
      list_query_blocks(buffer, first, end);
    }
    finish(rows);
  }

  ism::block_size block_size() const noexcept { return {grid_.bq, grid_.bk}; }
  const chunk& range() const noexcept { return grid_.range; }
  const block_grid& grid() const noexcept { return grid_; }
  index_t query_blocks() const noexcept { return grid_.query_blocks(); }
  index_t key_blocks() const noexcept { return grid_.key_blocks(); }
  // Tile (qb, kb) in absolute positions, cut at the chunk's end.
  chunk tile(index_t qb, index_t kb) const noexcept { return grid_.tile(qb, kb); }

  // Key blocks of query block qb, ascending.
  std::span<const block_index> full_key_blocks(index_t qb) const noexcept {
    return full_keys_.list(qb);
  }
  std::span<const block_index> partial_key_blocks(index_t qb) const noexcept {
    return partial_keys_.list(qb);
  }
  // Query blocks of key block kb, ascending: the transposed lists.
  std::span<const block_index> full_query_blocks(index_t kb) const noexcept {
    return full_queries_.list(kb);
  }
  std::span<const block_index> partial_query_blocks(index_t kb) const noexcept {
    return partial_queries_.list(kb);
  }

  // In O(log listed blocks of qb).
  block_class classify(index_t qb, index_t kb) const noexcept {
    ISM_ASSERT(0 <= kb && kb < key_blocks());
    const auto listed = [kb](std::span<const block_index> list) {
      return std::binary_search(list.begin(), list.end(), static_cast<block_index>(kb));
    };
    if (listed(full_key_blocks(qb))) return block_class::full;
    return listed(partial_key_blocks(qb)) ? block_class::partial : block_class::empty;
  }

  index_t full_blocks() const noexcept { return static_cast<index_t>(full_keys_.indices.size()); }
  index_t partial_blocks() const noexcept {
    return static_cast<index_t>(partial_keys_.indices.size());
  }
  index_t listed_blocks() const noexcept { return full_blocks() + partial_blocks(); }

  // The lists as a kernel takes them; valid while this block mask lives and
  // is not changed.
  block_mask_view view() const noexcept {
    return {grid_, full_keys_.csr(), partial_keys_.csr(), full_queries_.csr(),
            partial_queries_.csr()};
  }

  // The fingerprint of the mask this block mask was built from, over range().
  const mask_fingerprint& fingerprint() const noexcept { return fingerprint_; }

  // Throws block_mask_mismatch, naming `who`, unless m over range() has the
  // fingerprint of the mask this block mask was built from (see
  // mask_fingerprint.hpp), and shape_error for a range that does not fit m.
  template <mask M>
  void check_built_from(const M& m, const char* who) const {
    check_chunk(m, grid_.range);
    if (!fingerprint_matches(fingerprint_, m, grid_.range))
      throw block_mask_mismatch(std::string(who) + ": the block mask of chunk " +
                                to_string(grid_.range) +
                                " was built from another mask than the one given");
  }

  friend bool operator==(const block_mask&, const block_mask&) = default;

 private:
  template <paradigm P>
  friend class incremental_block_mask;

  // Lists in CSR form, one per query block (or key block).
  struct lists {
    std::vector<index_t> offsets{0};  // (lists + 1,)
    std::vector<block_index> indices;

    std::span<const block_index> list(index_t i) const noexcept {
      const block_list l = csr()[i];
      return {l.begin(), static_cast<std::size_t>(l.size())};
    }
    block_csr csr() const noexcept {
      return {offsets.data(), indices.data(), static_cast<index_t>(offsets.size()) - 1};
    }
    // Keeps lists [0, n).
    void truncate(index_t n) {
      indices.resize(static_cast<std::size_t>(offsets[static_cast<std::size_t>(n)]));
      offsets.resize(static_cast<std::size_t>(n + 1));
    }
    friend bool operator==(const lists&, const lists&) = default;
  };

  // Rows a window of the layout constructor holds: 256 KiB of bounds, which
  // stay in cache while their blocks are classified.
  static constexpr index_t window_rows = 16384;

  // Lists query blocks [first, query_blocks()) of m after the ones already
  // listed, each once, in order, adding their rows to the fingerprint; then
  // the transposed lists, all of them, and the sampled fingerprint.
  template <mask M>
  void build_query_blocks(const M& m, index_t first) {
    fingerprint_.has_rows = interval_backed_mask<M>;
    list_query_blocks(m, first, grid_.query_blocks());
    finish(m);
  }

  // Lists query blocks [first, end) of m after the ones already listed,
  // adding the rows of an interval-backed m to the fingerprint.
  template <mask M>
  void list_query_blocks(const M& m, index_t first, index_t end) {
    if constexpr (interval_backed_mask<M>) {
      query_block_reach reach;
      std::vector<row_interval> scratch;
      scratch.reserve(static_cast<std::size_t>(std::min(grid_.bq, grid_.range.rows())));
      for (index_t qb = first; qb < end; ++qb) {
        reach_of_query_block(m, grid_, qb, reach, scratch);
        for_each_listed_block(reach, [&](index_t kb, block_class cls) { list(kb, cls); });
        close_query_block();
        fingerprint_.rows += reach.rows_fingerprint;
      }
    } else {
      for (index_t qb = first; qb < end; ++qb) {
        for (const block_run& run : candidate_runs(m, grid_, qb))
          for (index_t kb = run.first; kb < run.end; ++kb)
            if (const block_class cls = classify_tile(m, grid_, grid_.tile(qb, kb));
                cls != block_class::empty)
              list(kb, cls);
        close_query_block();
      }
    }
  }

  // Once every query block is listed: the transposed lists and the sampled
  // fingerprint of m.
  template <mask M>
  void finish(const M& m) {
    transpose(full_keys_, key_blocks(), full_queries_);
    transpose(partial_keys_, key_blocks(), partial_queries_);
    fingerprint_.sampled = detail::sampled_fingerprint(m, grid_.range);
  }

  void list(index_t kb, block_class cls) {
    (cls == block_class::full ? full_keys_ : partial_keys_)
        .indices.push_back(static_cast<block_index>(kb));
  }

  void close_query_block() {
    full_keys_.offsets.push_back(static_cast<index_t>(full_keys_.indices.size()));
    partial_keys_.offsets.push_back(static_cast<index_t>(partial_keys_.indices.size()));
  }

  // out = the transposed lists of `keys`: for each of the key_blocks key
  // blocks, the query blocks that list it, ascending. A counting pass sizes
  // the lists, a second pass fills them in query block order.
  static void transpose(const lists& keys, index_t key_blocks, lists& out) {
    const auto query_blocks = static_cast<index_t>(keys.offsets.size()) - 1;
    out.offsets.assign(static_cast<std::size_t>(key_blocks + 1), 0);
    for (const block_index kb : keys.indices) ++out.offsets[static_cast<std::size_t>(kb) + 1];
    for (index_t kb = 0; kb < key_blocks; ++kb)
      out.offsets[static_cast<std::size_t>(kb + 1)] += out.offsets[static_cast<std::size_t>(kb)];
    out.indices.resize(keys.indices.size());
    // offsets[kb] serves as kb's write position, which leaves it at kb's end,
    // the start of kb + 1: shifting by one restores the starts.
    for (index_t qb = 0; qb < query_blocks; ++qb)
      for (const block_index kb : keys.list(qb))
        out.indices[static_cast<std::size_t>(out.offsets[static_cast<std::size_t>(kb)]++)] =
            static_cast<block_index>(qb);
    for (index_t kb = key_blocks; kb > 0; --kb)
      out.offsets[static_cast<std::size_t>(kb)] = out.offsets[static_cast<std::size_t>(kb - 1)];
    out.offsets[0] = 0;
  }

  // Forgets query blocks [first, query_blocks()) of a whole-row mask whose rows
  // were `old`, and grows it to n rows and keys, so that
  // build_query_blocks(m, first) can list them again.
  void drop_query_blocks_from(index_t first, index_t n, const interval_view& old) {
    block_grid grown = grid_;
    grown.range = whole(n);
    check_block_count(grown);  // before anything changes
    const chunk& c = grid_.range;
    fingerprint_.rows -= detail::rows_fingerprint(old, c.q0 + first * grid_.bq, c.q1, c.k0, c.k1);
    full_keys_.truncate(first);
    partial_keys_.truncate(first);
    grid_ = grown;
  }

  static void check_block_count(const block_grid& g) {
    constexpr index_t limit = std::numeric_limits<block_index>::max();
    if (g.query_blocks() > limit || g.key_blocks() > limit)
      throw argument_error("chunk " + to_string(g.range) + " in blocks of " +
                           to_string(ism::block_size{g.bq, g.bk}) +
                           " has more blocks than int32 counts");
  }

  block_grid grid_;
  lists full_keys_;        // (QB,) lists of key blocks
  lists partial_keys_;     // (QB,) lists of key blocks
  lists full_queries_;     // (KB,) lists of query blocks
  lists partial_queries_;  // (KB,) lists of query blocks
  mask_fingerprint fingerprint_;
};

// The block mask of chunk c of m. Interval-backed masks are classified from
// their intervals; any other mask is evaluated pair by pair inside its
// candidate tiles (all tiles of a bare predicate, so O(rows x cols) for it).
// Throws shape_error for a chunk that does not fit m and argument_error for a
// bad block size.
// The block size has no default here, so that make_block_mask(m, {64, 64}) can
// only mean a block size.
template <mask M, block_shape S>
block_mask make_block_mask(const M& m, const chunk& c, const S& size) {
  return block_mask(m, c, size);
}

template <sized_mask M, block_shape S = block_size>
block_mask make_block_mask(const M& m, const S& size = {}) {
  return make_block_mask(m, whole(m.size()), size);
}

// The block mask of chunk c of make_interval_mask(sequence, paradigm), built
// without forming that N-row mask (see the constructor). Throws as
// make_interval_mask and make_block_mask do.
template <interval_source P, block_shape S>
block_mask make_block_mask(const layout& sequence, const P& paradigm, const chunk& c,
                           const S& size) {
  return block_mask(sequence, paradigm, c, size);
}

template <interval_source P, block_shape S = block_size>
block_mask make_block_mask(const layout& sequence, const P& paradigm, const S& size = {}) {
  return block_mask(sequence, paradigm, whole(sequence.size()), size);
}

}  // namespace v0
}  // namespace ism
