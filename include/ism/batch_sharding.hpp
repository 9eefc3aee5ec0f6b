// A batch sharding: B rows of N tokens each dealt to the same R ranks, in the
// form PyTorch's context parallelism takes (B, N) rearrange indices in: each
// row is gathered by its own permutation and the sequence dimension is then cut
// into R equal slices, so rank r holds the same positions of every row. Each
// row is a sharding of its own; the ranks' work is summed over the rows, since
// a rank computes its slice of every row. A plan's rows always share their
// slices (same_slices()); a baseline's need not, when its chunks round
// differently in rows of different documents, and it is then a yardstick only.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/errors.hpp"
#include "ism/sharding.hpp"

namespace ism {
inline namespace v0 {

class batch_sharding {
 public:
  // Throws argument_error for an empty batch or rows measured in different
  // blocks, and shape_error for rows of different lengths or rank counts.
  explicit batch_sharding(std::vector<sharding> rows) : rows_(std::move(rows)) {
    if (rows_.empty()) throw argument_error("batch sharding: the batch has no rows");
    const sharding& first = rows_.front();
    work_.assign(first.work().begin(), first.work().end());
    for (std::size_t b = 1; b < rows_.size(); ++b) {
      const sharding& row = rows_[b];
      const std::string which = "batch sharding: row " + std::to_string(b);
      if (row.size() != first.size())
        throw shape_error(which + " has " + std::to_string(row.size()) + " tokens but row 0 has " +
                          std::to_string(first.size()));
      if (row.block() != first.block())
        throw argument_error(which + " is measured in blocks of " + std::to_string(row.block()) +
                             " but row 0 in blocks of " + std::to_string(first.block()));
      if (row.ranks() != first.ranks())
        throw shape_error(which + " is dealt to " + std::to_string(row.ranks()) +
                          " ranks but row 0 to " + std::to_string(first.ranks()));
      same_slices_ = same_slices_ && std::ranges::equal(row.offsets(), first.offsets());
      for (std::size_t r = 0; r < work_.size(); ++r) {
        work_[r].tokens += row.work()[r].tokens;
        work_[r].pairs += row.work()[r].pairs;
        work_[r].tiles += row.work()[r].tiles;
      }
    }
  }

  // (B,): row b's sharding, its own rearrange, restore, tokens and work.
  std::span<const sharding> rows() const noexcept { return rows_; }
  const sharding& row(index_t b) const noexcept {
    ISM_ASSERT(0 <= b && b < static_cast<index_t>(rows_.size()));
    return rows_[static_cast<std::size_t>(b)];
  }
  index_t ranks() const noexcept { return rows_.front().ranks(); }
  // N: the tokens of each row.
  index_t size() const noexcept { return rows_.front().size(); }
  index_t block() const noexcept { return rows_.front().block(); }
  // Whether rank r holds the same positions of every row's rearrange
  // (row(b).offsets() alike), as PyTorch's equal cut of the batch needs.
  bool same_slices() const noexcept { return same_slices_; }

  // (R,): each rank's work summed over the rows.
  std::span<const rank_work> work() const noexcept { return work_; }
  // max / mean visible pairs over the ranks, of the batch's totals.
  double imbalance() const noexcept { return detail::pairs_imbalance(work_); }
  double tile_imbalance() const noexcept { return detail::tiles_imbalance(work_); }

  friend bool operator==(const batch_sharding&, const batch_sharding&) = default;

 private:
  std::vector<sharding> rows_;   // (B,)
  std::vector<rank_work> work_;  // (R,)
  bool same_slices_ = true;
};

}  // namespace v0
}  // namespace ism
