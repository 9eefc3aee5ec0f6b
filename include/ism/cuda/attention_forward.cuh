// The GPU attention forward's host API: device pointers in, output and
// log-sum-exp out, on the caller's stream, with the caller's workspace. It
// allocates nothing and never synchronizes; every argument is checked on the
// host before anything is launched, and a bad one throws the ism error that
// names it. The numbers are those of docs/semantics.md#numerics-of-attention,
// in the precision docs/cuda.md states.
//
//   const std::size_t bytes = ism::cuda::forward_workspace_bytes(q.tokens);
//   ism::cuda::attention_forward(intervals_on_device, {q, k, v, out}, workspace, bytes, stream);
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "ism/chunk.hpp"
#include "ism/cuda/cuda_error.cuh"
#include "ism/cuda/forward_kernel.cuh"

namespace ism {
inline namespace v0 {
namespace cuda {

// A (tokens, heads, dim) tensor in device memory with contiguous features.
// Strides count elements; the forward loads 16 bytes at a time, so the data
// must be 16-byte aligned and both strides multiples of 8.
template <class T>
struct device_heads {
  T* data = nullptr;
  index_t tokens = 0;
  index_t heads = 0;
  index_t dim = 0;
  index_t token_stride = 0;
  index_t head_stride = 0;
};

// Where the forward writes: the output (tokens of Q, heads of Q, dim) in the
// inputs' type, and the natural log-sum-exp in float, (tokens, heads).
template <class T>
struct device_output {
  device_heads<T> out;
  float* lse = nullptr;
  index_t lse_token_stride = 0;
  index_t lse_head_stride = 0;
};

// One forward: Q against K and V, query row r at absolute position q0 + r and
// key row c at k0 + c (docs/semantics.md#chunks-and-absolute-positions). Query
// head h reads KV head h / (Q heads / KV heads). scale defaults to 1 / sqrt(dim).
template <class T>
struct forward_args {
  device_heads<const T> q;
  device_heads<const T> k;
  device_heads<const T> v;
  device_output<T> result;
  index_t q0 = 0;
  index_t k0 = 0;
  std::optional<double> scale = std::nullopt;
};

// Head dims with a compiled kernel.
inline constexpr index_t forward_head_dims[] = {64, 128};

// Bytes of workspace attention_forward needs with a plan from intervals: one
// key_tile_plan per 64 query rows.
inline std::size_t forward_workspace_bytes(index_t query_tokens) {
  if (query_tokens < 0)
    throw argument_error("forward_workspace_bytes: negative query count " +
                         std::to_string(query_tokens));
  return static_cast<std::size_t>(ceil_div(query_tokens, forward_block_rows)) *
         sizeof(key_tile_plan);
}

namespace detail {

template <class T>
void check_heads(const device_heads<T>& t, const char* name) {
  const std::string shape = std::string(name) + " (" + std::to_string(t.tokens) + ", " +
                            std::to_string(t.heads) + ", " + std::to_string(t.dim) + ")";
  if (t.tokens < 0 || t.heads < 1)
    throw shape_error(shape + ": tokens must be >= 0 and heads >= 1");
  if (t.dim != forward_head_dims[0] && t.dim != forward_head_dims[1])
    throw argument_error(shape + ": head dim " + std::to_string(t.dim) +
                         " has no kernel; the CUDA forward takes 64 or 128");
  if (t.tokens > 0 && t.data == nullptr) throw argument_error(shape + " has no data pointer");
  if (reinterpret_cast<std::uintptr_t>(t.data) % 16 != 0)
    throw argument_error(shape + ": data is not 16-byte aligned");
  if (t.token_stride < 0 || t.head_stride < 0 || t.token_stride % 8 != 0 || t.head_stride % 8 != 0)
    throw argument_error(shape + ": strides (" + std::to_string(t.token_stride) + ", " +
                         std::to_string(t.head_stride) +
                         ") must be non-negative multiples of 8 elements");
}

template <class T>
double check_args(const forward_args<T>& a) {
  check_heads(a.q, "Q");
  check_heads(a.k, "K");
  check_heads(a.v, "V");
  check_heads(a.result.out, "output");
  if (a.k.tokens != a.v.tokens || a.k.heads != a.v.heads || a.k.dim != a.v.dim)
    throw shape_error("K and V shapes differ");
  if (a.q.dim != a.k.dim)
    throw shape_error("Q head dim " + std::to_string(a.q.dim) + " differs from K's " +
                      std::to_string(a.k.dim));
  if (a.q.heads % a.k.heads != 0)
    throw shape_error("Q has " + std::to_string(a.q.heads) + " heads, not a multiple of the " +
                      std::to_string(a.k.heads) + " KV heads");
  if (a.q.heads > 65535)
    throw shape_error("Q has " + std::to_string(a.q.heads) + " heads; the grid takes at most 65535");
  const device_heads<T>& out = a.result.out;
  if (out.tokens != a.q.tokens || out.heads != a.q.heads || out.dim != a.q.dim)
    throw shape_error("the output's shape differs from Q's");
  if (a.q.tokens > 0 && a.result.lse == nullptr)
    throw argument_error("the log-sum-exp has no data pointer");
  if (a.result.lse_token_stride < 0 || a.result.lse_head_stride < 0)
    throw argument_error("the log-sum-exp's strides must be non-negative");
  if (a.q0 < 0 || a.k0 < 0 || a.q.tokens > max_index - a.q0 || a.k.tokens > max_index - a.k0)
    throw shape_error("queries from position " + std::to_string(a.q0) + " and keys from " +
                      std::to_string(a.k0) + " are not positions of index_t");
  const double scale = a.scale.value_or(1.0 / std::sqrt(static_cast<double>(a.q.dim)));
  if (!std::isfinite(scale) || !std::isfinite(static_cast<float>(scale)))
    throw argument_error("attention scale must be finite in float");
  return scale;
}

// The tensor cores' m16n8k16 with bf16 inputs needs sm_80.
inline void check_device() {
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess)
    throw cuda_error("attention_forward: no usable CUDA device");
  if (major < 8)
    throw cuda_error("attention_forward: device " + std::to_string(device) + " is sm_" +
                     std::to_string(major) + "x; the forward needs sm_80 or newer");
}

template <class T, class M, class Schedule>
forward_params<T, M, Schedule> make_params(const M& mask, const Schedule& schedule,
                                           const forward_args<T>& a, double scale) {
  const int group = static_cast<int>(a.q.heads / a.k.heads);
  return {mask,
          schedule,
          a.q.data,
          a.k.data,
          a.v.data,
          a.result.out.data,
          a.result.lse,
          a.q.token_stride,
          a.q.head_stride,
          a.k.token_stride,
          a.k.head_stride,
          a.v.token_stride,
          a.v.head_stride,
          a.result.out.token_stride,
          a.result.out.head_stride,
          a.result.lse_token_stride,
          a.result.lse_head_stride,
          a.q.tokens,
          a.k.tokens,
          a.q0,
          a.k0,
          group,
          static_cast<float>(scale * 1.4426950408889634)};
}

template <class T, class M, class Schedule>
void launch_forward(const forward_params<T, M, Schedule>& p, const forward_args<T>& a,
                    cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(ceil_div(a.q.tokens, forward_block_rows)),
                  static_cast<unsigned>(a.q.heads));
  if (a.q.dim == 64)
    forward_kernel<T, 64, M, Schedule><<<grid, forward_threads, 0, stream>>>(p);
  else
    forward_kernel<T, 128, M, Schedule><<<grid, forward_threads, 0, stream>>>(p);
  check_launch("attention_forward");
}

// The chunk the arguments cover, checked against a sized mask.
template <class T, mask M>
chunk forward_chunk(const M& m, const forward_args<T>& a) {
  const chunk range{a.q0, a.q0 + a.q.tokens, a.k0, a.k0 + a.k.tokens};
  check_chunk(m, range);
  return range;
}

template <class M>
void check_device_mask() {
  static_assert(std::is_trivially_copyable_v<M>,
                "ism::cuda: a kernel takes the mask by value, so it must be trivially copyable "
                "(an interval_view of device arrays, a composition of such views, ...)");
}

}  // namespace detail

// The forward with the key tiles planned from the mask's row intervals: a
// plan kernel finds each query tile's interval extremes in `workspace`, then
// the forward visits the tiles they allow and masks only those that some row
// sees in part. The mask's interval(q) must be callable on the device (an
// interval_view of device arrays, or an and_masks of such views and
// sliding_window). Throws shape_error or argument_error, naming the argument,
// for bad shapes, strides, alignment, positions, scale or workspace, and
// cuda_error when the device cannot run the kernel or a launch fails.
template <tensor_core_input T, interval_backed_mask M>
void attention_forward(const M& mask, const forward_args<T>& args, void* workspace,
                       std::size_t workspace_bytes, cudaStream_t stream) {
  detail::check_device_mask<M>();
  const double scale = detail::check_args(args);
  const chunk range = detail::forward_chunk(mask, args);
  const std::size_t needed = forward_workspace_bytes(args.q.tokens);
  if (workspace_bytes < needed)
    throw argument_error("attention_forward: the workspace has " + std::to_string(workspace_bytes) +
                         " bytes; forward_workspace_bytes(" + std::to_string(args.q.tokens) +
                         ") is " + std::to_string(needed));
  if (needed > 0 && (workspace == nullptr ||
                     reinterpret_cast<std::uintptr_t>(workspace) % alignof(key_tile_plan) != 0))
    throw argument_error("attention_forward: the workspace pointer is null or not " +
                         std::to_string(alignof(key_tile_plan)) + "-byte aligned");
  if (args.q.tokens == 0) return;
  detail::check_device();
  const index_t query_tiles = ceil_div(args.q.tokens, forward_block_rows);
  auto* plans = static_cast<key_tile_plan*>(workspace);
  constexpr unsigned plan_threads = 128;
  plan_kernel<M><<<static_cast<unsigned>(ceil_div(query_tiles, plan_threads)), plan_threads, 0,
                   stream>>>(mask, query_tiles, range, plans);
  check_launch("attention_forward's tile plan");
  detail::launch_forward(detail::make_params(mask, plan_schedule{plans}, args, scale), args, stream);
}

// The forward with the key tiles from a block mask built for this chunk in
// tiles of 64 x 64 (forward_block_rows x forward_block_keys), with its lists in
// device memory. Partial tiles are masked with `mask`, which may be any mask
// whose visible(q, k) runs on the device. Needs no workspace. Throws as the
// interval form does, and shape_error when the block mask's grid is not this
// chunk's in 64 x 64 tiles.
template <tensor_core_input T, mask M>
void attention_forward(const M& mask, const block_mask_view& blocks, const forward_args<T>& args,
                       cudaStream_t stream) {
  detail::check_device_mask<M>();
  const double scale = detail::check_args(args);
  const chunk range = detail::forward_chunk(mask, args);
  if (!(blocks.grid.range == range) || blocks.grid.bq != forward_block_rows ||
      blocks.grid.bk != forward_block_keys)
    throw shape_error("attention_forward: the block mask covers " + to_string(blocks.grid.range) +
                      " in tiles of " + std::to_string(blocks.grid.bq) + " x " +
                      std::to_string(blocks.grid.bk) + ", not the chunk " + to_string(range) +
                      " in tiles of 64 x 64");
  if (args.q.tokens == 0) return;
  detail::check_device();
  detail::launch_forward(detail::make_params(mask, block_schedule{blocks}, args, scale), args,
                         stream);
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
