// Block masks on the GPU, equal to make_block_mask and export_flex on the host.
// Two steps: classify_blocks writes every tile's class (exactly, by the rules
// of docs/semantics.md#block-classification) into a (query blocks, key blocks)
// byte matrix of the caller's; then build_block_csr turns it into the four CSR
// lists of a block_mask_view, and build_flex_arrays into FlexAttention's padded
// arrays (docs/formats.md#flex). Nothing is allocated: the caller sizes every
// array by the grid (an index array holds at most query blocks x key blocks
// entries) and owns it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "ism/block_mask_view.hpp"
#include "ism/cuda/cuda_error.cuh"
#include "ism/cuda/launch_shape.hpp"
#include "ism/exports/flex.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

// Bytes of the class matrix of grid g: one block_class per tile.
inline std::size_t block_classes_bytes(const block_grid& g) {
  return static_cast<std::size_t>(g.query_blocks() * g.key_blocks()) * sizeof(block_class);
}

// The four CSR lists of a block_mask_view in device memory. Each offsets array
// has lists + 1 entries; each indices array room for every tile.
struct device_block_csr {
  index_t* full_key_offsets;  // (query blocks + 1,)
  block_index* full_key_indices;
  index_t* partial_key_offsets;  // (query blocks + 1,)
  block_index* partial_key_indices;
  index_t* full_query_offsets;  // (key blocks + 1,)
  block_index* full_query_indices;
  index_t* partial_query_offsets;  // (key blocks + 1,)
  block_index* partial_query_indices;

  // The view a kernel takes, once build_block_csr has run on the stream.
  block_mask_view view(const block_grid& g) const {
    const index_t qb = g.query_blocks(), kb = g.key_blocks();
    return {g,
            {full_key_offsets, full_key_indices, qb},
            {partial_key_offsets, partial_key_indices, qb},
            {full_query_offsets, full_query_indices, kb},
            {partial_query_offsets, partial_query_indices, kb}};
  }
};

// FlexAttention's arrays (exports/flex.hpp's flex_export) in device memory,
// int32: counts (lists,) and padded index rows (lists, other blocks).
struct device_flex_arrays {
  std::int32_t* kv_num_blocks;       // (query blocks,)
  std::int32_t* kv_indices;          // (query blocks, key blocks)
  std::int32_t* full_kv_num_blocks;  // (query blocks,)
  std::int32_t* full_kv_indices;     // (query blocks, key blocks)
  std::int32_t* q_num_blocks;        // (key blocks,)
  std::int32_t* q_indices;           // (key blocks, query blocks)
  std::int32_t* full_q_num_blocks;   // (key blocks,)
  std::int32_t* full_q_indices;      // (key blocks, query blocks)
};

namespace detail {

// The class of tile (qb, kb), from each row's interval when the mask has
// them, pair by pair otherwise.
template <mask M>
ISM_DEVICE block_class classify_tile(const M& m, const block_grid& g, index_t qb, index_t kb) {
  const chunk t = g.tile(qb, kb);
  bool touched = false, full = !g.ragged(t);
  for (index_t q = t.q0; q < t.q1; ++q) {
    if constexpr (interval_backed_mask<M>) {
      const row_interval r = clamp(m.interval(q), t.k0, t.k1);
      touched = touched || !r.empty();
      full = full && r.lo == t.k0 && r.hi == t.k1 - 1;
    } else {
      for (index_t k = t.k0; k < t.k1; ++k) {
        const bool seen = m.visible(q, k);
        touched = touched || seen;
        full = full && seen;
      }
    }
  }
  return full && touched ? block_class::full : touched ? block_class::partial : block_class::empty;
}

template <mask M>
__global__ void classify_kernel(const M m, const block_grid g, block_class* classes) {
  const index_t key_blocks = g.key_blocks(), tiles = g.query_blocks() * key_blocks;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < tiles;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    classes[i] = classify_tile(m, g, i / key_blocks, i % key_blocks);
}

// One family of lists read from the class matrix: for each of `lists` lists
// (query blocks when by_query_block, key blocks otherwise), the blocks of the
// other axis whose tile has class `wanted`, ascending.
struct list_family {
  const block_class* classes;  // (query blocks, key blocks)
  index_t query_blocks;
  index_t key_blocks;
  bool by_query_block;
  block_class wanted;

  ISM_DEVICE index_t lists() const { return by_query_block ? query_blocks : key_blocks; }
  ISM_DEVICE index_t length() const { return by_query_block ? key_blocks : query_blocks; }
  ISM_DEVICE bool has(index_t list, index_t j) const {
    const index_t at = by_query_block ? list * key_blocks + j : j * key_blocks + list;
    return classes[at] == wanted;
  }
};

// Padded rows (FlexAttention) when `counts` is set: row i at indices + i *
// length, flex_padding after its count. Otherwise CSR: with `offsets` holding each
// list's start, or, when indices is null, the count pass that writes
// offsets[i + 1].
__global__ void lists_kernel(const list_family f, std::int32_t* counts, index_t* offsets,
                             block_index* indices) {
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < f.lists();
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    block_index* row = indices == nullptr ? nullptr
                       : counts != nullptr ? indices + i * f.length()
                                           : indices + offsets[i];
    index_t n = 0;
    for (index_t j = 0; j < f.length(); ++j)
      if (f.has(i, j)) {
        if (row != nullptr) row[n] = static_cast<block_index>(j);
        ++n;
      }
    if (counts != nullptr) {
      counts[i] = static_cast<std::int32_t>(n);
      for (index_t j = n; j < f.length(); ++j) row[j] = flex_padding;
    } else if (indices == nullptr) {
      offsets[i + 1] = n;
    }
  }
}

// offsets[0] = 0 and the running sum of the counts in offsets[1..lists]: a
// single thread, since there is one list per block of 64 or more tokens.
__global__ void offsets_kernel(index_t* offsets, index_t lists) {
  offsets[0] = 0;
  for (index_t i = 1; i <= lists; ++i) offsets[i] += offsets[i - 1];
}

inline void check_classes(const char* what, const block_class* classes) {
  if (classes == nullptr) throw argument_error(std::string(what) + ": the class matrix is null");
}

}  // namespace detail

// Writes the class of every tile of grid g, row-major (query block, key
// block), into `classes` (block_classes_bytes(g)). Throws shape_error for a
// grid outside a sized mask, argument_error for a null output, cuda_error when
// the launch fails.
template <mask M>
void classify_blocks(const M& m, const block_grid& g, block_class* classes, cudaStream_t stream) {
  static_assert(std::is_trivially_copyable_v<M>, "ism::cuda: a kernel takes the mask by value");
  check_chunk(m, g.range);
  const index_t tiles = g.query_blocks() * g.key_blocks();
  if (tiles == 0) return;
  detail::check_classes("classify_blocks", classes);
  detail::classify_kernel<M><<<builder_blocks(tiles), builder_threads, 0, stream>>>(m, g, classes);
  check_launch("classify_blocks");
}

// The four CSR lists of the classes, ascending, as make_block_mask's view
// holds them. Throws argument_error for a null array, cuda_error when a launch
// fails.
inline void build_block_csr(const block_class* classes, const block_grid& g,
                            const device_block_csr& out, cudaStream_t stream) {
  const index_t qb = g.query_blocks(), kb = g.key_blocks();
  detail::check_classes("build_block_csr", classes);
  const struct {
    index_t* offsets;
    block_index* indices;
    bool by_query_block;
    block_class wanted;
  } families[] = {{out.full_key_offsets, out.full_key_indices, true, block_class::full},
                  {out.partial_key_offsets, out.partial_key_indices, true, block_class::partial},
                  {out.full_query_offsets, out.full_query_indices, false, block_class::full},
                  {out.partial_query_offsets, out.partial_query_indices, false, block_class::partial}};
  for (const auto& f : families) {
    if (f.offsets == nullptr || f.indices == nullptr)
      throw argument_error("build_block_csr: an offsets or indices array is null");
    const detail::list_family family{classes, qb, kb, f.by_query_block, f.wanted};
    const index_t lists = f.by_query_block ? qb : kb;
    const unsigned blocks = builder_blocks(lists == 0 ? 1 : lists);
    detail::lists_kernel<<<blocks, builder_threads, 0, stream>>>(family, nullptr, f.offsets, nullptr);
    detail::offsets_kernel<<<1, 1, 0, stream>>>(f.offsets, lists);
    detail::lists_kernel<<<blocks, builder_threads, 0, stream>>>(family, nullptr, f.offsets,
                                                                 f.indices);
    check_launch("build_block_csr");
  }
}

// FlexAttention's eight arrays of the classes. Throws argument_error for a
// null array, cuda_error when a launch fails.
inline void build_flex_arrays(const block_class* classes, const block_grid& g,
                              const device_flex_arrays& out, cudaStream_t stream) {
  const index_t qb = g.query_blocks(), kb = g.key_blocks();
  detail::check_classes("build_flex_arrays", classes);
  const struct {
    std::int32_t* counts;
    std::int32_t* indices;
    bool by_query_block;
    block_class wanted;
  } families[] = {{out.kv_num_blocks, out.kv_indices, true, block_class::partial},
                  {out.full_kv_num_blocks, out.full_kv_indices, true, block_class::full},
                  {out.q_num_blocks, out.q_indices, false, block_class::partial},
                  {out.full_q_num_blocks, out.full_q_indices, false, block_class::full}};
  for (const auto& f : families) {
    if (f.counts == nullptr || f.indices == nullptr)
      throw argument_error("build_flex_arrays: a count or index array is null");
    const index_t lists = f.by_query_block ? qb : kb;
    if (lists == 0) continue;
    detail::lists_kernel<<<builder_blocks(lists), builder_threads, 0, stream>>>(
        detail::list_family{classes, qb, kb, f.by_query_block, f.wanted}, f.counts, nullptr,
        f.indices);
    check_launch("build_flex_arrays");
  }
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
