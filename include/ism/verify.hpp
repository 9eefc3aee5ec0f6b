// Verification: does a file an engine (or a person) produced hold the mask the
// contract gives a layout under a paradigm? The format's decoder reads the
// arrays back into visible(q, k), exactly as the engine would, and every pair
// is compared with the paradigm's intervals, a row at a time in O(runs), never
// pair by pair. This is how an engine's own masks are unit-tested.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ism/any_paradigm.hpp"
#include "ism/format_registry.hpp"
#include "ism/run_mask.hpp"

namespace ism {
inline namespace v0 {

// A pair where the two sides disagree.
struct pair_difference {
  index_t query;
  index_t key;
  bool in_file;  // what the file says; the contract says the opposite
  friend bool operator==(const pair_difference&, const pair_difference&) = default;
};

struct verify_report {
  index_t queries = 0;  // rows compared (padding rows included)
  index_t keys = 0;
  index_t differing_pairs = 0;
  std::vector<pair_difference> first_differences;  // in row-major order
  bool equal() const noexcept { return differing_pairs == 0; }
};

// Compares every pair of `file` with `contract`; rows of `file` past the
// contract's are compared with rows that see nothing. Keeps up to `examples`
// differences. O(rows + runs). Throws shape_error when the key counts differ
// or `file` has fewer rows.
inline verify_report compare_masks(const run_mask& file, const interval_mask& contract,
                                   std::size_t examples = 5) {
  if (file.keys() != contract.size() || file.size() < contract.size())
    throw shape_error("compare_masks: the file has " + std::to_string(file.size()) + " rows of " +
                      std::to_string(file.keys()) + " keys but the contract has " +
                      std::to_string(contract.size()) + " of " + std::to_string(contract.size()));
  verify_report report{file.size(), file.keys(), 0, {}};
  for (index_t q = 0; q < file.size(); ++q) {
    key_run want{0, 0};
    if (q < contract.size() && !contract.interval(q).empty())
      want = {contract.lo()[q], contract.hi()[q] + 1};
    index_t seen_in_both = 0, seen_in_file = 0;
    for (const key_run& r : file.row(q)) {
      seen_in_file += r.end - r.begin;
      seen_in_both += std::max<index_t>(0, std::min(r.end, want.end) - std::max(r.begin, want.begin));
    }
    const index_t differing = seen_in_file + (want.end - want.begin) - 2 * seen_in_both;
    report.differing_pairs += differing;
    // Differences are few or the rows are short, so walking keys here costs
    // at most `examples` steps per difference kept plus one pass of the row.
    for (index_t k = 0; differing > 0 && report.first_differences.size() < examples && k < file.keys(); ++k) {
      const bool in_file = file.visible(q, k);
      if (in_file != (want.begin <= k && k < want.end))
        report.first_differences.push_back({q, k, in_file});
    }
  }
  return report;
}

// Decodes `arrays` as `format` and compares them with the paradigm's mask
// over `sequence`. Options the file cannot tell (cu_seqlens' causal flag) come
// from `options`. A single array whose name the format does not expect is
// read as the format's only array (a .npy saved under any name). Throws
// unknown_format_error, format_error for malformed arrays or a mask the format
// cannot express.
// `max_runs` bounds what decoding may hold (see run_mask): a small hostile
// file can describe rows cut into many runs.
inline verify_report verify(const layout& sequence, const any_paradigm& paradigm,
                            std::string_view format, std::span<const named_array> arrays,
                            const export_options& options = {}, std::size_t examples = 5,
                            index_t max_runs = unlimited_runs) {
  const export_format& f = format_from_name(format);
  const interval_mask contract = paradigm.intervals(sequence);
  std::vector<named_array> renamed(arrays.begin(), arrays.end());
  if (renamed.size() == 1 && f.arrays.size() == 1) renamed.front().name = f.arrays.front();
  const run_mask decoded = f.decode(renamed, decode_input{sequence, contract, options, max_runs});
  return compare_masks(decoded, contract, examples);
}

}  // namespace v0
}  // namespace ism
