// fa4_block_sparse (docs/formats.md#fa4_block_sparse): FlashAttention-4's (the
// CuTe DSL kernels of flash_attn/cute) block-sparse tensors over the whole
// packed sequence as one batch of one head, all int32. M = ceil(N / Bq) query
// blocks, K = ceil(N / Bk) key blocks:
//   mask_block_cnt [1, 1, M]      partial key blocks of each query block
//   mask_block_idx [1, 1, M, K]   those key blocks, ascending, then padding
//   full_block_cnt [1, 1, M]      full key blocks of each query block
//   full_block_idx [1, 1, M, K]   those key blocks, ascending, then padding
//   block_size [2]                (Bq, Bk), BlockSparseTensorsTorch.block_size
// Tiles are classified as for `flex` (docs/semantics.md#block-classification);
// the kernel skips unlisted tiles, attends to full tiles whole and applies its
// mask_mod inside partial ones, so a loader must pass a mask_mod that computes
// the mask (from the `intervals` export). Positions are absolute: batch 1 and
// seqlen_q = seqlen_k = N, so the mask_mod's q_idx and kv_idx are tokens.
//
// Block sizes: the kernel needs the key block a multiple of its tile_n and the
// query block a multiple of q_stage x tile_m, tiles that depend on the GPU and
// head dimension (128 x 128 on SM90 and SM100 for head dimensions up to 128,
// q_stage 2 on SM100 for long sequences). ism requires both sides to be
// multiples of 128, the default tile, which rules out blocks no default kernel
// takes; a kernel with other tiles (192 on SM90 for some head dimensions, 256
// query rows on SM100 with two stages) checks its own rule when it is called.
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
#include "ism/exports/flex.hpp"

namespace ism {
inline namespace v0 {

// Both block sides are multiples of this many tokens.
inline constexpr index_t fa4_block_multiple = 128;

struct fa4_block_sparse_export {
  index_t query_blocks = 0;                  // M
  index_t key_blocks = 0;                    // K
  std::vector<std::int32_t> mask_block_cnt;  // (1, 1, M)
  std::vector<std::int32_t> mask_block_idx;  // (1, 1, M, K)
  std::vector<std::int32_t> full_block_cnt;  // (1, 1, M)
  std::vector<std::int32_t> full_block_idx;  // (1, 1, M, K)
  std::array<std::int32_t, 2> block_size{};  // (Bq, Bk)
};

// The arrays' names, dtypes and shapes with no data, in the order written:
// enough for npz_bytes to size the file before the export is built.
inline std::vector<named_array> fa4_block_sparse_shapes(index_t query_blocks, index_t key_blocks) {
  const auto int32 = [](std::vector<index_t> shape) {
    return npy_array{npy_dtype::int32, std::move(shape), {}};
  };
  return {{"mask_block_cnt", int32({1, 1, query_blocks})},
          {"mask_block_idx", int32({1, 1, query_blocks, key_blocks})},
          {"full_block_cnt", int32({1, 1, query_blocks})},
          {"full_block_idx", int32({1, 1, query_blocks, key_blocks})},
          {"block_size", int32({2})}};
}

namespace detail {

// Why a block size breaks the rule above, or empty when it keeps it.
inline std::string fa4_block_problem(index_t bq, index_t bk) {
  if (bq % fa4_block_multiple == 0 && bk % fa4_block_multiple == 0 && bq > 0 && bk > 0 &&
      bq <= std::numeric_limits<std::int32_t>::max() &&
      bk <= std::numeric_limits<std::int32_t>::max())
    return {};
  return "block size " + std::to_string(bq) + "x" + std::to_string(bk) +
         " is not a multiple of " + std::to_string(fa4_block_multiple) +
         " each way, which FlashAttention-4's tiles need";
}

}  // namespace detail

// Throws argument_error for a block size that breaks the rule above.
inline void check_fa4_block_size(const block_size& size) {
  if (const std::string problem = detail::fa4_block_problem(size.q, size.k); !problem.empty())
    throw argument_error("fa4_block_sparse: " + problem);
}

// Throws argument_error for a block size that breaks the rule above. Indices
// fit int32 because a layout stays below 2^31 tokens.
inline fa4_block_sparse_export export_fa4_block_sparse(const block_mask& b) {
  const block_size size = b.block_size();
  check_fa4_block_size(size);
  fa4_block_sparse_export out;
  out.query_blocks = b.query_blocks();
  out.key_blocks = b.key_blocks();
  detail::write_padded_lists(
      out.query_blocks, out.key_blocks, [&](index_t i) { return b.partial_key_blocks(i); },
      out.mask_block_cnt, out.mask_block_idx);
  detail::write_padded_lists(
      out.query_blocks, out.key_blocks, [&](index_t i) { return b.full_key_blocks(i); },
      out.full_block_cnt, out.full_block_idx);
  out.block_size = {static_cast<std::int32_t>(size.q), static_cast<std::int32_t>(size.k)};
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const fa4_block_sparse_export& x) {
  std::vector<named_array> out = fa4_block_sparse_shapes(x.query_blocks, x.key_blocks);
  const std::array<std::span<const std::int32_t>, 5> data{
      x.mask_block_cnt, x.mask_block_idx, x.full_block_cnt, x.full_block_idx, x.block_size};
  for (std::size_t i = 0; i < out.size(); ++i) out[i].array.data = std::as_bytes(data[i]);
  return out;
}

// The mask FlashAttention-4 computes from the tensors with mask_mod inside
// partial tiles (detail::decode_tiles). The index arrays may be narrower than
// K, as the engine allows: it reads only the first count entries of a row.
// Throws format_error for wrong dtypes or shapes, a block size that breaks the
// rule above, counts or indices out of range or unsorted, or a tile listed
// both full and partial.
template <interval_backed_mask M>
run_mask decode_fa4_block_sparse(std::span<const named_array> arrays, const layout& sequence,
                                 const M& mask_mod, index_t max_runs = unlimited_runs) {
  const detail::format_arrays file(
      "fa4_block_sparse", arrays,
      {"mask_block_cnt", "mask_block_idx", "full_block_cnt", "full_block_idx", "block_size"});
  file.check("block_size", {npy_dtype::int32}, {2});
  const auto size = file.values<std::int32_t>("block_size");
  if (const std::string problem = detail::fa4_block_problem(size[0], size[1]); !problem.empty())
    file.fail("block_size: " + problem);
  const block_grid grid(whole(sequence.size()), block_size{size[0], size[1]});
  const index_t qbs = grid.query_blocks(), kbs = grid.key_blocks();
  const auto lists = [&](const char* counts, const char* indices) {
    file.check(counts, {npy_dtype::int32}, {1, 1, qbs});
    file.check(indices, {npy_dtype::int32}, {1, 1, qbs, detail::any_extent});
    const index_t width = file.extent(indices, 3);
    if (width > kbs)
      file.fail(std::string(indices) + " lists " + std::to_string(width) + " blocks a row, more "
                "than the " + std::to_string(kbs) + " key blocks");
    return detail::padded_lists(file, counts, indices, qbs, width, kbs);
  };
  const auto partial = lists("mask_block_cnt", "mask_block_idx");
  const auto full = lists("full_block_cnt", "full_block_idx");
  return detail::decode_tiles(file, grid, partial, full, mask_mod, max_runs);
}

inline export_format fa4_block_sparse_format() {
  export_format f;
  f.name = "fa4_block_sparse";
  f.arrays = {"mask_block_cnt", "mask_block_idx", "full_block_cnt", "full_block_idx",
              "block_size"};
  f.summary = ".npz int32 FlashAttention-4 block-sparse tensors: mask_block_cnt [1, 1, M], "
              "mask_block_idx [1, 1, M, K], full_block_cnt, full_block_idx, block_size [2] "
              "(multiples of 128)";
  f.takes_block = true;
  f.quadratic = true;
  f.shapes = [](const layout& s, const mask_source&, const export_options& o) {
    check_fa4_block_size(o.block);
    const block_grid grid(whole(s.size()), o.block);
    return fa4_block_sparse_shapes(grid.query_blocks(), grid.key_blocks());
  };
  f.working_bytes = [](const layout& s, const export_options& o) {
    return detail::block_list_working_bytes(s, o, 2);
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options& o) {
    return own_arrays(export_fa4_block_sparse(make_block_mask(m, o.block)));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_fa4_block_sparse(arrays, in.sequence, in.mask_mod, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
