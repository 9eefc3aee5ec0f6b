// The block-sparse mask: for each query block, the ascending lists of its full
// and partial key blocks (CSR), and for each key block the transposed lists of
// query blocks that a backward pass walks. Built from any mask by
// make_block_mask; interval-backed masks cost O(rows + listed blocks) and never
// form an N x N intermediate (see block_classification.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "ism/block_classification.hpp"
#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

class block_mask {
 public:
  // Block indices are stored as int32, the engines' index type (FORMATS.md).
  using block_index = std::int32_t;

  // The block mask of chunk c of m; see make_block_mask.
  template <mask M, block_shape S>
  block_mask(const M& m, const chunk& c, const S& size) : grid_(c, size) {
    check_chunk(m, c);
    check_block_count(grid_);
    full_queries_.resize(static_cast<std::size_t>(grid_.key_blocks()));
    partial_queries_.resize(static_cast<std::size_t>(grid_.key_blocks()));
    build_query_blocks(m, 0);
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
    return row_list(full_offsets_, full_keys_, qb);
  }
  std::span<const block_index> partial_key_blocks(index_t qb) const noexcept {
    return row_list(partial_offsets_, partial_keys_, qb);
  }
  // Query blocks of key block kb, ascending: the transposed lists.
  std::span<const block_index> full_query_blocks(index_t kb) const noexcept {
    ISM_ASSERT(0 <= kb && kb < key_blocks());
    return full_queries_[static_cast<std::size_t>(kb)];
  }
  std::span<const block_index> partial_query_blocks(index_t kb) const noexcept {
    ISM_ASSERT(0 <= kb && kb < key_blocks());
    return partial_queries_[static_cast<std::size_t>(kb)];
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

  index_t full_blocks() const noexcept { return static_cast<index_t>(full_keys_.size()); }
  index_t partial_blocks() const noexcept { return static_cast<index_t>(partial_keys_.size()); }
  index_t listed_blocks() const noexcept { return full_blocks() + partial_blocks(); }

  friend bool operator==(const block_mask&, const block_mask&) = default;

 private:
  template <paradigm P>
  friend class incremental_block_mask;

  // Appends query blocks [first, query_blocks()) of m, each once, in order.
  template <mask M>
  void build_query_blocks(const M& m, index_t first) {
    if constexpr (interval_backed_mask<M>) {
      query_block_reach reach;
      std::vector<row_interval> scratch;
      scratch.reserve(static_cast<std::size_t>(std::min(grid_.bq, grid_.range.rows())));
      for (index_t qb = first; qb < grid_.query_blocks(); ++qb) {
        reach_of_query_block(m, grid_, qb, reach, scratch);
        for_each_listed_block(reach, [&](index_t kb, block_class cls) { list(qb, kb, cls); });
        close_query_block();
      }
    } else {
      for (index_t qb = first; qb < grid_.query_blocks(); ++qb) {
        for (const block_run& run : candidate_runs(m, grid_, qb))
          for (index_t kb = run.first; kb < run.end; ++kb)
            if (const block_class cls = classify_tile(m, grid_, grid_.tile(qb, kb));
                cls != block_class::empty)
              list(qb, kb, cls);
        close_query_block();
      }
    }
  }

  void list(index_t qb, index_t kb, block_class cls) {
    const bool full = cls == block_class::full;
    (full ? full_keys_ : partial_keys_).push_back(static_cast<block_index>(kb));
    (full ? full_queries_ : partial_queries_)[static_cast<std::size_t>(kb)].push_back(
        static_cast<block_index>(qb));
  }

  void close_query_block() {
    full_offsets_.push_back(static_cast<index_t>(full_keys_.size()));
    partial_offsets_.push_back(static_cast<index_t>(partial_keys_.size()));
  }

  // Forgets query blocks [first, query_blocks()) and grows a whole-row mask to
  // n rows and keys, so that build_query_blocks(m, first) can list them again.
  void drop_query_blocks_from(index_t first, index_t n) {
    block_grid grown = grid_;
    grown.range = whole(n);
    check_block_count(grown);  // before anything changes
    for (index_t qb = query_blocks_built() - 1; qb >= first; --qb) {
      pop_transposed(full_key_blocks(qb), full_queries_, qb);
      pop_transposed(partial_key_blocks(qb), partial_queries_, qb);
    }
    full_keys_.resize(static_cast<std::size_t>(full_offsets_[first]));
    partial_keys_.resize(static_cast<std::size_t>(partial_offsets_[first]));
    full_offsets_.resize(static_cast<std::size_t>(first + 1));
    partial_offsets_.resize(static_cast<std::size_t>(first + 1));
    grid_ = grown;
    full_queries_.resize(static_cast<std::size_t>(grid_.key_blocks()));
    partial_queries_.resize(static_cast<std::size_t>(grid_.key_blocks()));
  }

  index_t query_blocks_built() const noexcept {
    return static_cast<index_t>(full_offsets_.size()) - 1;
  }

  static std::span<const block_index> row_list(const std::vector<index_t>& offsets,
                                               const std::vector<block_index>& indices,
                                               index_t qb) noexcept {
    ISM_ASSERT(0 <= qb && qb + 1 < static_cast<index_t>(offsets.size()));
    return std::span<const block_index>(indices).subspan(
        static_cast<std::size_t>(offsets[qb]),
        static_cast<std::size_t>(offsets[qb + 1] - offsets[qb]));
  }

  static void pop_transposed(std::span<const block_index> keys,
                             std::vector<std::vector<block_index>>& transposed,
                             [[maybe_unused]] index_t qb) {
    // Lists are ascending and query blocks are dropped from the last one down,
    // so qb is always at the back.
    for (const block_index kb : keys) {
      ISM_ASSERT(transposed[static_cast<std::size_t>(kb)].back() == qb);
      transposed[static_cast<std::size_t>(kb)].pop_back();
    }
  }

  static void check_block_count(const block_grid& g) {
    constexpr index_t limit = std::numeric_limits<block_index>::max();
    if (g.query_blocks() > limit || g.key_blocks() > limit)
      throw argument_error("chunk " + to_string(g.range) + " in blocks of " +
                           to_string(ism::block_size{g.bq, g.bk}) +
                           " has more blocks than int32 counts");
  }

  block_grid grid_;
  std::vector<index_t> full_offsets_{0};     // (QB + 1,)
  std::vector<index_t> partial_offsets_{0};  // (QB + 1,)
  std::vector<block_index> full_keys_;
  std::vector<block_index> partial_keys_;
  std::vector<std::vector<block_index>> full_queries_;     // (KB,) lists
  std::vector<std::vector<block_index>> partial_queries_;  // (KB,) lists
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

}  // namespace v0
}  // namespace ism
