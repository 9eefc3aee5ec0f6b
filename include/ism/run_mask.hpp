// The run mask: for each query row, its visible keys as sorted, disjoint,
// half-open runs [begin, end). Any mask has this form, which is what makes it
// the common result of every format's decoder: a well-formed file of the ism
// family decodes to one run a row, in O(N), while a malformed one still
// decodes exactly, to as many runs as it needs.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "ism/chunk.hpp"
#include "ism/errors.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

struct key_run {
  index_t begin;
  index_t end;
  friend bool operator==(const key_run&, const key_run&) = default;
};

// No bound on the runs a run_mask holds.
inline constexpr index_t unlimited_runs = max_index;

class run_mask {
 public:
  // Rows are added one at a time, top to bottom; keys are [0, keys). A
  // decoder of untrusted arrays passes `max_runs`: a small file can describe
  // rows cut into many runs, and past the budget add_row throws
  // format_error rather than exhaust memory.
  explicit run_mask(index_t keys, index_t max_runs = unlimited_runs)
      : keys_(keys), max_runs_(max_runs) {}

  // Adds the next row from runs in any order, overlapping or touching; empty
  // runs are dropped. Throws argument_error for a run outside [0, keys), and
  // then adds nothing.
  void add_row(std::vector<key_run> runs) {
    std::sort(runs.begin(), runs.end(),
              [](const key_run& a, const key_run& b) { return a.begin < b.begin; });
    for (const key_run& r : runs)
      if (r.begin < r.end && (r.begin < 0 || r.end > keys_))
        throw argument_error("run_mask: row " + std::to_string(size()) + " has keys [" +
                             std::to_string(r.begin) + ", " + std::to_string(r.end) +
                             ") outside [0, " + std::to_string(keys_) + ")");
    for (const key_run& r : runs) {
      if (r.begin >= r.end) continue;
      if (runs_.size() > static_cast<std::size_t>(offsets_.back()) && r.begin <= runs_.back().end)
        runs_.back().end = std::max(runs_.back().end, r.end);
      else
        runs_.push_back(r);
    }
    if (static_cast<index_t>(runs_.size()) > max_runs_)
      throw format_error("the file's mask needs more than " + std::to_string(max_runs_) +
                         " runs of visible keys by row " + std::to_string(size()) +
                         ", past the memory allowed for decoding it; a mask of the ism family "
                         "needs about one a row");
    offsets_.push_back(static_cast<index_t>(runs_.size()));
  }

  // Rows.
  index_t size() const noexcept { return static_cast<index_t>(offsets_.size()) - 1; }
  index_t keys() const noexcept { return keys_; }

  std::span<const key_run> row(index_t q) const noexcept {
    ISM_ASSERT(0 <= q && q < size());
    return std::span<const key_run>(runs_).subspan(
        static_cast<std::size_t>(offsets_[q]),
        static_cast<std::size_t>(offsets_[q + 1] - offsets_[q]));
  }

  bool visible(index_t q, index_t k) const noexcept {
    const auto r = row(q);
    const auto after = std::upper_bound(r.begin(), r.end(), k,
                                        [](index_t key, const key_run& x) { return key < x.begin; });
    return after != r.begin() && k < std::prev(after)->end;
  }

 private:
  index_t keys_;
  index_t max_runs_;
  std::vector<index_t> offsets_{0};  // (rows + 1,)
  std::vector<key_run> runs_;
};

}  // namespace v0
}  // namespace ism
