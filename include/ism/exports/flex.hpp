// flex (docs/formats.md#flex): a block_mask as the arrays of PyTorch FlexAttention's
// BlockMask, all int32:
//   kv_num_blocks [QB], kv_indices [QB, KB]            partial key blocks of each query block
//   full_kv_num_blocks [QB], full_kv_indices [QB, KB]  full key blocks of each query block
//   q_num_blocks [KB], q_indices [KB, QB]              partial query blocks of each key block
//   full_q_num_blocks [KB], full_q_indices [KB, QB]    full query blocks of each key block
//   block_size [2] (Bq, Bk), seq_lengths [2] (Lq, Lk)
// Row i of an index array lists its num_blocks[i] blocks ascending first; the
// entries past the count are flex_padding (0, a valid block index; the
// engine's own builder also leaves valid indices there). A loader adds the leading
// batch and head dimensions of size 1 and must attach a real mask_mod for the
// partial blocks (a trivial mask_mod can make the engine ignore the
// sparsity: docs/formats.md#flex).
//
// Alignment: FlexAttention numbers the queries and keys of a call from 0.
// Block (qb, kb) of a block_mask of chunk {q0, q1, k0, k1} covers queries
// q0 + qb * Bq .. and keys k0 + kb * Bk .., so the mask_mod must add q0 and k0
// to reach the absolute positions of
// docs/semantics.md#chunks-and-absolute-positions; a whole-row mask has
// q0 = k0 = 0. seq_lengths is the chunk's (q1 - q0, k1 - k0).
//
// Built from the block_mask's lists in O(QB x KB) for the padded arrays; the
// mask itself is never visited.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "ism/block_mask.hpp"
#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"

namespace ism {
inline namespace v0 {

struct flex_export {
  index_t query_blocks = 0;                      // QB
  index_t key_blocks = 0;                        // KB
  std::vector<std::int32_t> kv_num_blocks;       // (QB,)
  std::vector<std::int32_t> kv_indices;          // (QB, KB)
  std::vector<std::int32_t> full_kv_num_blocks;  // (QB,)
  std::vector<std::int32_t> full_kv_indices;     // (QB, KB)
  std::vector<std::int32_t> q_num_blocks;        // (KB,)
  std::vector<std::int32_t> q_indices;           // (KB, QB)
  std::vector<std::int32_t> full_q_num_blocks;   // (KB,)
  std::vector<std::int32_t> full_q_indices;      // (KB, QB)
  std::array<std::int32_t, 2> block_size{};      // (Bq, Bk)
  std::array<std::int32_t, 2> seq_lengths{};     // (Lq, Lk)
};

// What the index arrays hold past each row's count.
inline constexpr std::int32_t flex_padding = 0;

// The arrays' names, dtypes and shapes with no data, in the order written:
// enough for npz_bytes to size the file before the export is built.
inline std::vector<named_array> flex_shapes(index_t query_blocks, index_t key_blocks) {
  const auto int32 = [](std::vector<index_t> shape) {
    return npy_array{npy_dtype::int32, std::move(shape), {}};
  };
  return {{"kv_num_blocks", int32({query_blocks})},
          {"kv_indices", int32({query_blocks, key_blocks})},
          {"full_kv_num_blocks", int32({query_blocks})},
          {"full_kv_indices", int32({query_blocks, key_blocks})},
          {"q_num_blocks", int32({key_blocks})},
          {"q_indices", int32({key_blocks, query_blocks})},
          {"full_q_num_blocks", int32({key_blocks})},
          {"full_q_indices", int32({key_blocks, query_blocks})},
          {"block_size", int32({2})},
          {"seq_lengths", int32({2})}};
}

namespace detail {

// Writes `rows` lists, list(i) for row i, as counts and zero-padded rows of
// `width` entries.
template <class List>
void write_padded_lists(index_t rows, index_t width, List&& list, std::vector<std::int32_t>& counts,
                        std::vector<std::int32_t>& indices) {
  counts.assign(static_cast<std::size_t>(rows), 0);
  indices.assign(static_cast<std::size_t>(rows * width), flex_padding);
  for (index_t i = 0; i < rows; ++i) {
    const std::span<const block_mask::block_index> blocks = list(i);
    counts[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(blocks.size());
    std::copy(blocks.begin(), blocks.end(),
              indices.begin() + static_cast<std::ptrdiff_t>(i * width));
  }
}

}  // namespace detail

// Throws argument_error for a block side, and shape_error for a chunk side, of
// 2^31 or more (block_size and seq_lengths are int32).
inline flex_export export_flex(const block_mask& b) {
  constexpr index_t int32_max = std::numeric_limits<std::int32_t>::max();
  const block_size size = b.block_size();
  if (size.q > int32_max || size.k > int32_max)
    throw argument_error("flex: block size " + to_string(size) +
                         " does not fit FlexAttention's int32 block_size");
  if (b.range().rows() > int32_max || b.range().cols() > int32_max)
    throw shape_error("flex: chunk " + to_string(b.range()) +
                      " does not fit FlexAttention's int32 seq_lengths");
  flex_export out;
  out.query_blocks = b.query_blocks();
  out.key_blocks = b.key_blocks();
  const index_t qb = out.query_blocks;
  const index_t kb = out.key_blocks;
  detail::write_padded_lists(
      qb, kb, [&](index_t i) { return b.partial_key_blocks(i); }, out.kv_num_blocks,
      out.kv_indices);
  detail::write_padded_lists(
      qb, kb, [&](index_t i) { return b.full_key_blocks(i); }, out.full_kv_num_blocks,
      out.full_kv_indices);
  detail::write_padded_lists(
      kb, qb, [&](index_t i) { return b.partial_query_blocks(i); }, out.q_num_blocks,
      out.q_indices);
  detail::write_padded_lists(
      kb, qb, [&](index_t i) { return b.full_query_blocks(i); }, out.full_q_num_blocks,
      out.full_q_indices);
  out.block_size = {static_cast<std::int32_t>(size.q), static_cast<std::int32_t>(size.k)};
  out.seq_lengths = {static_cast<std::int32_t>(b.range().rows()),
                     static_cast<std::int32_t>(b.range().cols())};
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const flex_export& x) {
  std::vector<named_array> out = flex_shapes(x.query_blocks, x.key_blocks);
  const std::array<std::span<const std::int32_t>, 10> data{
      x.kv_num_blocks, x.kv_indices,        x.full_kv_num_blocks, x.full_kv_indices, x.q_num_blocks,
      x.q_indices,     x.full_q_num_blocks, x.full_q_indices,     x.block_size,      x.seq_lengths};
  for (std::size_t i = 0; i < out.size(); ++i) out[i].array.data = std::as_bytes(data[i]);
  return out;
}

namespace detail {

// Reads the lists of `rows` rows, counts[i] ascending entries of row i of
// `indices` (rows of `width` entries), each a block below `blocks`; the
// entries past a count are free. Throws format_error naming the arrays.
inline std::vector<std::vector<index_t>> padded_lists(const format_arrays& file,
                                                      std::string_view counts_name,
                                                      std::string_view indices_name,
                                                      index_t rows, index_t width,
                                                      index_t blocks) {
  const auto counts = file.values<std::int32_t>(counts_name);
  const auto indices = file.values<std::int32_t>(indices_name);
  std::vector<std::vector<index_t>> out(static_cast<std::size_t>(rows));
  for (index_t i = 0; i < rows; ++i) {
    if (counts[i] < 0 || counts[i] > width)
      file.fail(std::string(counts_name) + "[" + std::to_string(i) + "] is " +
                std::to_string(counts[i]) + ", outside [0, " + std::to_string(width) + "]");
    for (index_t j = 0; j < counts[i]; ++j) {
      const index_t block = indices[static_cast<std::size_t>(i * width + j)];
      if (block < 0 || block >= blocks || (j > 0 && block <= out[i].back()))
        file.fail(std::string(indices_name) + "[" + std::to_string(i) + ", " + std::to_string(j) +
                  "] is " + std::to_string(block) + "; a row lists blocks ascending, each in [0, " +
                  std::to_string(blocks) + ")");
      out[i].push_back(block);
    }
  }
  return out;
}

// Checks the lists of `rows` rows as arrays [rows] and [rows, width] and
// reads them (padded_lists).
inline std::vector<std::vector<index_t>> read_padded_lists(const format_arrays& file,
                                                           std::string_view counts_name,
                                                           std::string_view indices_name,
                                                           index_t rows, index_t width) {
  file.check(counts_name, {npy_dtype::int32}, {rows});
  file.check(indices_name, {npy_dtype::int32}, {rows, width});
  return padded_lists(file, counts_name, indices_name, rows, width, width);
}

// The lists of `forward` turned the other way: row j lists the i with j in forward[i].
inline std::vector<std::vector<index_t>> transposed(const std::vector<std::vector<index_t>>& forward,
                                                    index_t width) {
  std::vector<std::vector<index_t>> out(static_cast<std::size_t>(width));
  for (std::size_t i = 0; i < forward.size(); ++i)
    for (const index_t j : forward[i]) out[static_cast<std::size_t>(j)].push_back(static_cast<index_t>(i));
  return out;
}

// Bytes held while a block-list format is written: the block mask lists at
// most every tile, twice (both directions), with offsets per block row and
// column, besides the mask's intervals; the file's `padded_arrays` int32
// arrays of [QB, KB] (or [KB, QB]) come on top.
inline std::uint64_t block_list_working_bytes(const layout& s, const export_options& o,
                                              int padded_arrays) {
  const block_grid grid(whole(s.size()), o.block);
  const double qbs = static_cast<double>(grid.query_blocks());
  const double kbs = static_cast<double>(grid.key_blocks());
  const double bytes =
      qbs * kbs *
          (2 * sizeof(block_mask::block_index) + padded_arrays * sizeof(std::int32_t)) +
      (qbs + kbs) * 4 * sizeof(index_t) + static_cast<double>(s.size()) * sizeof(row_interval);
  return saturated_bytes(bytes);
}

// The mask a block-sparse kernel computes from its forward lists over `grid`:
// the tiles listed full are visible, mask_mod decides the pairs inside those
// listed partial, and the others are hidden. Throws format_error for a tile
// listed both full and partial.
template <interval_backed_mask M>
run_mask decode_tiles(const format_arrays& file, const block_grid& grid,
                      const std::vector<std::vector<index_t>>& partial,
                      const std::vector<std::vector<index_t>>& full, const M& mask_mod,
                      index_t max_runs) {
  run_mask out(grid.range.cols(), max_runs);
  for (index_t qb = 0; qb < grid.query_blocks(); ++qb) {
    std::vector<key_run> whole_tiles;
    for (const index_t kb : full[static_cast<std::size_t>(qb)]) {
      if (std::binary_search(partial[qb].begin(), partial[qb].end(), kb))
        file.fail("key block " + std::to_string(kb) + " of query block " + std::to_string(qb) +
                  " is listed both full and partial");
      const chunk tile = grid.tile(qb, kb);
      whole_tiles.push_back({tile.k0, tile.k1});
    }
    const chunk rows = grid.tile(qb, 0);
    for (index_t q = rows.q0; q < rows.q1; ++q) {
      std::vector<key_run> runs = whole_tiles;
      for (const index_t kb : partial[static_cast<std::size_t>(qb)]) {
        const chunk tile = grid.tile(qb, kb);
        const row_interval r = clamp(mask_mod.interval(q), tile.k0, tile.k1);
        if (!r.empty()) runs.push_back({r.lo, r.hi + 1});
      }
      out.add_row(std::move(runs));
    }
  }
  return out;
}

}  // namespace detail

// The mask FlexAttention computes from the arrays, with mask_mod applied inside
// partial blocks: full blocks are visible, unlisted ones hidden. Throws
// format_error for wrong dtypes or shapes, a block size below 1, seq_lengths
// other than the layout's, counts or indices out of range or unsorted, a block
// listed both full and partial, or transposed lists that are not the
// transpose of the forward ones (the backward pass reads those).
template <interval_backed_mask M>
run_mask decode_flex(std::span<const named_array> arrays, const layout& sequence, const M& mask_mod,
                     index_t max_runs = unlimited_runs) {
  const detail::format_arrays file(
      "flex", arrays,
      {"kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
       "q_indices", "full_q_num_blocks", "full_q_indices", "block_size", "seq_lengths"});
  const index_t n = sequence.size();
  file.check("block_size", {npy_dtype::int32}, {2});
  file.check("seq_lengths", {npy_dtype::int32}, {2});
  const auto size = file.values<std::int32_t>("block_size");
  const auto lengths = file.values<std::int32_t>("seq_lengths");
  if (size[0] < 1 || size[1] < 1)
    file.fail("block_size is [" + std::to_string(size[0]) + ", " + std::to_string(size[1]) +
              "]; blocks hold at least one token each way");
  if (lengths[0] != n || lengths[1] != n)
    file.fail("seq_lengths is [" + std::to_string(lengths[0]) + ", " + std::to_string(lengths[1]) +
              "] but the layout has " + std::to_string(n) + " tokens");
  const block_grid grid(whole(n), block_size{size[0], size[1]});
  const index_t qbs = grid.query_blocks(), kbs = grid.key_blocks();
  const auto partial = detail::read_padded_lists(file, "kv_num_blocks", "kv_indices", qbs, kbs);
  const auto full = detail::read_padded_lists(file, "full_kv_num_blocks", "full_kv_indices", qbs, kbs);
  const auto partial_t = detail::read_padded_lists(file, "q_num_blocks", "q_indices", kbs, qbs);
  const auto full_t = detail::read_padded_lists(file, "full_q_num_blocks", "full_q_indices", kbs, qbs);
  if (detail::transposed(partial, kbs) != partial_t || detail::transposed(full, kbs) != full_t)
    file.fail("the q_* lists are not the transpose of the kv_* lists");

  return detail::decode_tiles(file, grid, partial, full, mask_mod, max_runs);
}

inline export_format flex_format() {
  export_format f;
  f.name = "flex";
  f.arrays = {"kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices", "block_size", "seq_lengths"};
  f.summary = ".npz int32 FlexAttention BlockMask: kv_num_blocks [QB], kv_indices [QB, KB], "
              "full_kv_num_blocks, full_kv_indices, the transposes q_num_blocks [KB], q_indices "
              "[KB, QB], full_q_num_blocks, full_q_indices, and block_size [2], seq_lengths [2]";
  f.takes_block = true;
  f.quadratic = true;
  f.shapes = [](const layout& s, const mask_source&, const export_options& o) {
    const block_grid grid(whole(s.size()), o.block);
    return flex_shapes(grid.query_blocks(), grid.key_blocks());
  };
  f.working_bytes = [](const layout& s, const export_options& o) {
    return detail::block_list_working_bytes(s, o, 4);
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options& o) {
    return own_arrays(export_flex(make_block_mask(m, o.block)));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_flex(arrays, in.sequence, in.mask_mod, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
