// A block mask that follows a conversation as it grows. Appending a turn
// recomputes the intervals of the last document and rebuilds only the query
// blocks from the first row whose interval changed; every other query block
// keeps its lists untouched. Under ISM and causal, appending segments changes
// no old row, so a turn costs the last document's intervals plus the tiles its
// own rows reach (lengthening a context segment changes the rows of that
// segment, which are rebuilt). The transposed lists are then rebuilt from the
// forward ones, in O(listed tiles) with no classification, and the fingerprint
// is updated in O(rebuilt rows). Other engines rebuild their block mask
// whenever the length changes.
#pragma once

#include <utility>
#include <vector>

#include "ism/block_mask.hpp"
#include "ism/reusable_prefix.hpp"
#include "ism/segment_function.hpp"

namespace ism {
inline namespace v0 {

// Appending leaves the rows of every document but the last one as they were:
// a paradigm sees only the token's own segment and document (token_context),
// so no interval can depend on another document.
template <paradigm P>
class incremental_block_mask {
 public:
  template <block_shape S = block_size>
  explicit incremental_block_mask(const layout& sequence, const S& size = {}, P policy = {})
      : incremental_block_mask(sequence, make_interval_mask(sequence, policy), size, policy) {}

  const layout& sequence() const noexcept { return sequence_; }
  interval_view intervals() const noexcept { return {lo_.data(), hi_.data(), sequence_.size()}; }
  const ism::block_mask& block_mask() const noexcept { return blocks_; }

  // Grows to `longer`. Throws layout_error unless it extends sequence() (see
  // check_extends), and paradigm_error for a paradigm that breaks its contract;
  // after either, nothing has changed.
  void append(const layout& longer) {
    check_extends(sequence_, longer);
    const index_t old_n = sequence_.size();
    const index_t n = longer.size();
    // Only the old last document can change, and the new rows follow it.
    const document_span& last = sequence_.documents().back();
    std::vector<index_t> lo(static_cast<std::size_t>(n - last.begin));
    std::vector<index_t> hi(lo.size());
    fill_intervals(longer, policy_, last.begin, n, lo, hi);

    index_t unchanged = last.begin;
    while (unchanged < old_n && lo[unchanged - last.begin] == lo_[unchanged] &&
           hi[unchanged - last.begin] == hi_[unchanged])
      ++unchanged;
    // A tile of old rows that now holds new keys stays as it was: old rows see
    // none of the new keys, so it was partial (or empty) and still is.
    const index_t first = unchanged / blocks_.grid().bq;

    blocks_.drop_query_blocks_from(first, n, intervals());  // while intervals() are the old rows
    lo_.resize(static_cast<std::size_t>(last.begin));
    hi_.resize(static_cast<std::size_t>(last.begin));
    lo_.insert(lo_.end(), lo.begin(), lo.end());
    hi_.insert(hi_.end(), hi.begin(), hi.end());
    sequence_ = longer;
    blocks_.build_query_blocks(intervals(), first);
  }

 private:
  template <block_shape S>
  incremental_block_mask(const layout& sequence, const interval_mask& m, const S& size, P policy)
      : sequence_(sequence),
        policy_(std::move(policy)),
        lo_(m.lo().begin(), m.lo().end()),
        hi_(m.hi().begin(), m.hi().end()),
        blocks_(intervals(), whole(sequence_.size()), size) {}

  layout sequence_;
  P policy_;
  std::vector<index_t> lo_;  // (N,)
  std::vector<index_t> hi_;  // (N,)
  ism::block_mask blocks_;
};

}  // namespace v0
}  // namespace ism
