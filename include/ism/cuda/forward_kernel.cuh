// The flash-attention forward on tensor cores, FlashAttention-2 style: one CTA
// per 64-row query tile and head, four warps of 16 rows each, K and V streamed
// through shared memory in tiles of 64 keys, the softmax kept online in float.
// Which key tiles a CTA visits, and which of them get an element mask, is the
// schedule's business (a key_tile_plan per query tile, or a block_mask_view);
// a tile the schedule calls full is computed with no mask work at all.
//
// The host entry points, with their checks, are in attention_forward.cuh.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ism/block_mask_view.hpp"
#include "ism/cuda/mma.cuh"
#include "ism/cuda/tile_plan.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

inline constexpr int forward_block_rows = 64;
inline constexpr int forward_block_keys = 64;
inline constexpr int forward_warps = forward_block_rows / mma_m;
inline constexpr int forward_threads = forward_warps * warp_lanes;

// Everything a launch needs, by value. Strides count elements; features are
// contiguous. lse is float, (tokens, heads) through its own strides.
template <class T, class M, class Schedule>
struct forward_params {
  M mask;
  Schedule schedule;
  const T* q;
  const T* k;
  const T* v;
  T* out;
  float* lse;
  index_t q_token_stride, q_head_stride;
  index_t k_token_stride, k_head_stride;
  index_t v_token_stride, v_head_stride;
  index_t out_token_stride, out_head_stride;
  index_t lse_token_stride, lse_head_stride;
  index_t query_tokens;
  index_t key_tokens;
  index_t q0;  // absolute position of query row 0
  index_t k0;  // absolute position of key row 0
  int heads_per_kv_head;
  float scale_log2;  // the scale times log2(e): the softmax runs in base 2
};

// Key tiles from a plan per query tile (from the rows' interval extremes).
struct plan_schedule {
  const key_tile_plan* plans;  // (query tiles,)

  template <class Cta>
  __device__ __forceinline__ void visit(index_t query_tile, Cta& cta) const {
    const key_tile_plan plan = plans[query_tile];
    for (index_t kb = plan.first; kb < plan.end; ++kb) {
      if (plan.full(kb))
        cta.template attend<false>(kb);
      else
        cta.template attend<true>(kb);
    }
  }
};

// Key tiles from a block mask's lists, whose grid is the kernel's.
struct block_schedule {
  block_mask_view blocks;

  template <class Cta>
  __device__ __forceinline__ void visit(index_t query_tile, Cta& cta) const {
    for (const block_index kb : blocks.partial_key_blocks(query_tile)) cta.template attend<true>(kb);
    for (const block_index kb : blocks.full_key_blocks(query_tile)) cta.template attend<false>(kb);
  }
};

// One CTA's state: the warp's queries as A fragments, its output accumulators,
// and for each of the lane's two rows (g and g + 8 of the warp's 16) the
// running maximum and sum of the base-2 softmax.
template <tensor_core_input T, int D, class M, class Schedule>
class forward_cta {
 public:
  // Rows of K and V in shared memory are padded by 8 elements so that the 8
  // rows a fragment load touches fall in 8 different groups of 4 banks.
  static constexpr int smem_stride = D + 8;
  static constexpr int key_tiles_per_block = forward_block_keys / mma_n;
  static constexpr int feature_steps = D / mma_k;
  static constexpr int feature_tiles = D / mma_n;

  __device__ __forceinline__ forward_cta(const forward_params<T, M, Schedule>& p,
                                         std::uint16_t* keys, std::uint16_t* values,
                                         index_t query_tile, index_t head)
      : p_(p), keys_(keys), values_(values), head_(head) {
    lane_ = static_cast<int>(threadIdx.x) % warp_lanes;
    warp_rows_ = query_tile * forward_block_rows + static_cast<int>(threadIdx.x) / warp_lanes * mma_m;
    const index_t kv_head = head / p.heads_per_kv_head;
    k_head_ = p.k + kv_head * p.k_head_stride;
    v_head_ = p.v + kv_head * p.v_head_stride;
    load_queries();
    ISM_UNROLL
    for (int r = 0; r < 2; ++r) {
      const index_t row = warp_rows_ + lane_group(lane_) + 8 * r;
      real_[r] = row < p.query_tokens;
      query_[r] = p.q0 + row;
      if constexpr (interval_backed_mask<M>) {
        const index_t k1 = p.k0 + p.key_tokens;
        seen_[r] = real_[r] ? clamp(p.mask.interval(query_[r]), p.k0, k1) : row_interval{k1, k1 - 1};
      }
      row_max_[r] = -INFINITY;
      row_sum_[r] = 0.0f;
    }
    ISM_UNROLL
    for (int f = 0; f < feature_tiles; ++f)
      ISM_UNROLL
      for (int i = 0; i < 4; ++i) out_[f][i] = 0.0f;
  }

  // Adds key tile kb (keys k0 + kb * 64 ...) to every row of the CTA. Masked
  // tiles hide the pairs the mask hides; others are visible whole.
  template <bool Masked>
  __device__ __forceinline__ void attend(index_t kb) {
    const index_t key_begin = kb * forward_block_keys;  // first key row of the tile
    __syncthreads();  // every warp is done with the previous tile
    load_tile(keys_, k_head_, p_.k_token_stride, key_begin);
    load_tile(values_, v_head_, p_.v_token_stride, key_begin);
    __syncthreads();

    float s[key_tiles_per_block][4];  // (16 rows, 64 keys) of logits, then weights
    ISM_UNROLL
    for (int j = 0; j < key_tiles_per_block; ++j) {
      ISM_UNROLL
      for (int i = 0; i < 4; ++i) s[j][i] = 0.0f;
      ISM_UNROLL
      for (int f = 0; f < feature_steps; ++f) {
        std::uint32_t b[2];
        ISM_UNROLL
        for (int r = 0; r < 2; ++r) {
          const fragment_position e = b_element(lane_, 2 * r);  // row: feature, col: key
          b[r] = shared_pair(keys_, (j * mma_n + e.col) * smem_stride + f * mma_k + e.row);
        }
        mma_16x8x16<T>(s[j], queries_[f], b);
      }
      ISM_UNROLL
      for (int i = 0; i < 4; ++i) {
        s[j][i] *= p_.scale_log2;
        if constexpr (Masked) {
          const fragment_position e = c_element(lane_, i);  // row g + 8 (i >> 1)
          if (!visible(i >> 1, p_.k0 + key_begin + j * mma_n + e.col)) s[j][i] = -INFINITY;
        }
      }
    }
    update_softmax(s);
    add_weighted_values(s);
  }

  // Writes the CTA's rows: the output normalized, zeros and -inf for a row
  // that saw no key.
  __device__ __forceinline__ void finish() {
    ISM_UNROLL
    for (int r = 0; r < 2; ++r) {
      float sum = row_sum_[r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      if (!real_[r]) continue;
      const index_t row = warp_rows_ + lane_group(lane_) + 8 * r;
      const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
      T* out = p_.out + row * p_.out_token_stride + head_ * p_.out_head_stride;
      ISM_UNROLL
      for (int f = 0; f < feature_tiles; ++f) {
        const fragment_position e = c_element(lane_, 2 * r);
        *reinterpret_cast<std::uint32_t*>(out + f * mma_n + e.col) =
            pack_pair<T>(out_[f][2 * r] * inverse, out_[f][2 * r + 1] * inverse);
      }
      if (lane_in_group(lane_) == 0) {
        constexpr float ln2 = 0.693147180559945309f;
        p_.lse[row * p_.lse_token_stride + head_ * p_.lse_head_stride] =
            sum > 0.0f ? row_max_[r] * ln2 + logf(sum) : -INFINITY;
      }
    }
  }

 private:
  static __device__ __forceinline__ std::uint32_t shared_pair(const std::uint16_t* smem, int at) {
    return *reinterpret_cast<const std::uint32_t*>(smem + at);
  }

  // Rows [warp_rows_, + 16) as A fragments, zeros past the last query.
  __device__ __forceinline__ void load_queries() {
    const T* q = p_.q + head_ * p_.q_head_stride;
    ISM_UNROLL
    for (int f = 0; f < feature_steps; ++f)
      ISM_UNROLL
      for (int reg = 0; reg < 4; ++reg) {
        const fragment_position e = a_element(lane_, 2 * reg);
        const index_t row = warp_rows_ + e.row;
        queries_[f][reg] =
            row < p_.query_tokens
                ? *reinterpret_cast<const std::uint32_t*>(q + row * p_.q_token_stride + f * mma_k + e.col)
                : 0u;
      }
  }

  // Key rows [key_begin, + 64) of one KV head into shared memory, 16 bytes per
  // load; rows past the last key are zeros, so a hidden pair's weight of 0
  // never meets a NaN.
  __device__ __forceinline__ void load_tile(std::uint16_t* smem, const T* head, index_t token_stride,
                                            index_t key_begin) const {
    constexpr int pieces_per_row = D / 8;
    for (int c = static_cast<int>(threadIdx.x); c < forward_block_keys * pieces_per_row;
         c += forward_threads) {
      const int row = c / pieces_per_row, piece = c % pieces_per_row;
      const index_t key = key_begin + row;
      uint4 bits = make_uint4(0u, 0u, 0u, 0u);
      if (key < p_.key_tokens)
        bits = *reinterpret_cast<const uint4*>(head + key * token_stride + piece * 8);
      *reinterpret_cast<uint4*>(smem + row * smem_stride + piece * 8) = bits;
    }
  }

  // Whether the lane's row r (0: g, 1: g + 8) sees absolute key `key`.
  __device__ __forceinline__ bool visible(int r, index_t key) const {
    if constexpr (interval_backed_mask<M>)
      return seen_[r].contains(key);
    else
      return real_[r] && key < p_.k0 + p_.key_tokens && p_.mask.visible(query_[r], key);
  }

  // The online softmax step: new row maxima over the tile, the old sums and
  // outputs rescaled to them, and the tile's logits turned into weights. A row
  // that has seen nothing yet keeps a maximum of -inf and uses 0 as its base,
  // so no -inf - -inf appears.
  __device__ __forceinline__ void update_softmax(float (&s)[key_tiles_per_block][4]) {
    ISM_UNROLL
    for (int r = 0; r < 2; ++r) {
      float tile_max = -INFINITY;
      ISM_UNROLL
      for (int j = 0; j < key_tiles_per_block; ++j)
        tile_max = fmaxf(tile_max, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
      const float new_max = fmaxf(row_max_[r], tile_max);
      const float base = new_max == -INFINITY ? 0.0f : new_max;
      const float rescale = exp2f(row_max_[r] - base);
      row_max_[r] = new_max;
      row_sum_[r] *= rescale;
      ISM_UNROLL
      for (int f = 0; f < feature_tiles; ++f) {
        out_[f][2 * r] *= rescale;
        out_[f][2 * r + 1] *= rescale;
      }
      ISM_UNROLL
      for (int j = 0; j < key_tiles_per_block; ++j)
        ISM_UNROLL
        for (int c = 2 * r; c < 2 * r + 2; ++c) {
          s[j][c] = exp2f(s[j][c] - base);
          row_sum_[r] += s[j][c];
        }
    }
  }

  // out += P V. The weights' accumulator tiles are the A fragments of P as
  // they stand (a_from_accumulators); V's B fragments pair two keys of one
  // feature, which are a row apart in shared memory.
  __device__ __forceinline__ void add_weighted_values(const float (&s)[key_tiles_per_block][4]) {
    ISM_UNROLL
    for (int k = 0; k < forward_block_keys / mma_k; ++k) {
      std::uint32_t a[4];
      ISM_UNROLL
      for (int reg = 0; reg < 4; ++reg) {
        const accumulator_slot low = a_from_accumulators(2 * reg);
        const accumulator_slot high = a_from_accumulators(2 * reg + 1);
        a[reg] = pack_pair<T>(s[2 * k + low.tile][low.element], s[2 * k + high.tile][high.element]);
      }
      ISM_UNROLL
      for (int f = 0; f < feature_tiles; ++f) {
        std::uint32_t b[2];
        ISM_UNROLL
        for (int r = 0; r < 2; ++r) {
          const fragment_position e = b_element(lane_, 2 * r);  // row: key, col: feature
          const int at = (k * mma_k + e.row) * smem_stride + f * mma_n + e.col;
          b[r] = pack_bits(values_[at], values_[at + smem_stride]);
        }
        mma_16x8x16<T>(out_[f], a, b);
      }
    }
  }

  const forward_params<T, M, Schedule>& p_;
  std::uint16_t* keys_;    // (64, smem_stride)
  std::uint16_t* values_;  // (64, smem_stride)
  index_t head_;
  int lane_;
  index_t warp_rows_;  // first query row of the warp
  const T* k_head_;
  const T* v_head_;
  std::uint32_t queries_[feature_steps][4];
  float out_[feature_tiles][4];  // (16 rows, D) of this warp
  float row_max_[2];
  float row_sum_[2];
  bool real_[2];      // the row is a query, not padding past the last one
  index_t query_[2];  // its absolute position
  row_interval seen_[2];
};

template <tensor_core_input T, int D, class M, class Schedule>
__global__ void __launch_bounds__(forward_threads)
    forward_kernel(const __grid_constant__ forward_params<T, M, Schedule> p) {
  using cta_type = forward_cta<T, D, M, Schedule>;
  __shared__ alignas(16) std::uint16_t keys[forward_block_keys * cta_type::smem_stride];
  __shared__ alignas(16) std::uint16_t values[forward_block_keys * cta_type::smem_stride];
  // The last query tiles see the most keys under every built-in paradigm, so
  // they start first and the short ones fill the tail.
  const index_t query_tile = gridDim.x - 1 - blockIdx.x;
  cta_type cta(p, keys, values, query_tile, blockIdx.y);
  p.schedule.visit(query_tile, cta);
  cta.finish();
}

// One thread per query tile: the plan from the tile's interval extremes.
template <interval_backed_mask M>
__global__ void plan_kernel(const M mask, index_t query_tiles, chunk range, key_tile_plan* plans) {
  const index_t tile = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (tile >= query_tiles) return;
  const index_t begin = range.q0 + tile * forward_block_rows;
  const index_t end = range.q1 - begin < forward_block_rows ? range.q1 : begin + forward_block_rows;
  plans[tile] = plan_key_tiles(query_tile_extremes(mask, begin, end, range.k0, range.k1), range.k0,
                               range.k1, forward_block_keys);
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
