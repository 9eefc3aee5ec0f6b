// A block mask as a kernel takes it: the grid and raw pointers to the four CSR
// lists, trivially copyable, passed by value. It owns nothing: the arrays it
// points to (a block_mask's, or copies of them in device memory) must outlive
// it. Every lookup is ISM_HOST_DEVICE and costs two loads.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ism/block_classification.hpp"

namespace ism {
inline namespace v0 {

// Block indices are int32, the engines' index type (docs/formats.md).
using block_index = std::int32_t;

// One ascending list of block indices.
struct block_list {
  const block_index* first;
  index_t count;

  ISM_HOST_DEVICE constexpr const block_index* begin() const noexcept { return first; }
  ISM_HOST_DEVICE constexpr const block_index* end() const noexcept { return first + count; }
  ISM_HOST_DEVICE constexpr index_t size() const noexcept { return count; }
  ISM_HOST_DEVICE constexpr bool empty() const noexcept { return count == 0; }
  ISM_HOST_DEVICE constexpr block_index operator[](index_t i) const noexcept {
    ISM_ASSERT(0 <= i && i < count);
    return first[i];
  }
};

// Lists in CSR form: list i is indices[offsets[i], offsets[i + 1]).
struct block_csr {
  const index_t* offsets;      // (lists + 1,)
  const block_index* indices;  // (offsets[lists],)
  index_t lists;

  ISM_HOST_DEVICE constexpr block_list operator[](index_t i) const noexcept {
    ISM_ASSERT(0 <= i && i < lists);
    return {indices + offsets[i], offsets[i + 1] - offsets[i]};
  }
};

struct block_mask_view {
  block_grid grid;
  block_csr full_keys;        // (query blocks,) lists of key blocks
  block_csr partial_keys;     // (query blocks,) lists of key blocks
  block_csr full_queries;     // (key blocks,) lists of query blocks
  block_csr partial_queries;  // (key blocks,) lists of query blocks

  // grid.query_blocks() and grid.key_blocks(), without a division.
  ISM_HOST_DEVICE constexpr index_t query_blocks() const noexcept { return full_keys.lists; }
  ISM_HOST_DEVICE constexpr index_t key_blocks() const noexcept { return full_queries.lists; }
  // Tile (qb, kb) in absolute positions, cut at the chunk's end.
  ISM_HOST_DEVICE constexpr chunk tile(index_t qb, index_t kb) const noexcept {
    return grid.tile(qb, kb);
  }

  // Key blocks of query block qb, ascending.
  ISM_HOST_DEVICE constexpr block_list full_key_blocks(index_t qb) const noexcept {
    return full_keys[qb];
  }
  ISM_HOST_DEVICE constexpr block_list partial_key_blocks(index_t qb) const noexcept {
    return partial_keys[qb];
  }
  // Query blocks of key block kb, ascending: the transposed lists.
  ISM_HOST_DEVICE constexpr block_list full_query_blocks(index_t kb) const noexcept {
    return full_queries[kb];
  }
  ISM_HOST_DEVICE constexpr block_list partial_query_blocks(index_t kb) const noexcept {
    return partial_queries[kb];
  }
};

static_assert(std::is_trivially_copyable_v<block_mask_view>,
              "a kernel takes block_mask_view by value");

}  // namespace v0
}  // namespace ism
