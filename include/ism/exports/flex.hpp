// flex (FORMATS.md): a block_mask as the arrays of PyTorch FlexAttention's
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
// partial blocks (FORMATS.md: a trivial mask_mod can make the engine ignore
// the sparsity).
//
// Alignment: FlexAttention numbers the queries and keys of a call from 0.
// Block (qb, kb) of a block_mask of chunk {q0, q1, k0, k1} covers queries
// q0 + qb * Bq .. and keys k0 + kb * Bk .., so the mask_mod must add q0 and k0
// to reach the absolute positions of SPEC.md section 4; a whole-row mask has
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
#include "ism/npy.hpp"

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

}  // namespace v0
}  // namespace ism
