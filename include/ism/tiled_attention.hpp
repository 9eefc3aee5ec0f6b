// Block-sparse attention on the CPU: O = softmax(scale Q K^T + M) V
// (docs/semantics.md#numerics-of-attention) computed tile by tile with an online softmax, accumulated in
// float. A block_mask says which tiles to visit: empty tiles are never
// touched, full tiles do no mask work, and only partial tiles ask the mask
// which pairs are visible (one column range per row for interval-backed
// masks). The cost is what the mask lets through, plus the hidden part of the
// partial tiles. Threads split (head, query block) items (a
// one-token decode step: KV heads, their query heads as rows); see
// docs/benchmarks.md for speed against a plain GEMM and a dense mask.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ism/attention_output.hpp"
#include "ism/block_mask.hpp"
#include "ism/detail/attention_bf16_products.hpp"
#include "ism/detail/attention_float_products.hpp"
#include "ism/detail/attention_tile.hpp"
#include "ism/detail/attention_work.hpp"
#include "ism/detail/eigen.hpp"
#include "ism/head_tensor.hpp"
#include "ism/reference_attention.hpp"

#if !EIGEN_VERSION_AT_LEAST(3, 4, 0)
#error "ism/tiled_attention.hpp needs Eigen 3.4 or newer (for Eigen::bfloat16)"
#endif

namespace ism {
inline namespace v0 {

// Tiles of 128 queries x 128 keys: of the sizes from 64 to 256 each way, it
// was within a few percent of the fastest for float and bfloat16, head dims 64
// and 128, on AVX-512. Any block size gives the same results up to rounding.
inline constexpr block_size attention_block_size{128, 128};

// The input element types. bfloat16 inputs are multiplied with AVX-512 BF16
// dot products where the CPU has them (the softmax weights are then rounded to
// bfloat16 before they meet the values) and widened to float elsewhere;
// everything else, accumulation included, is float.
template <class T>
concept attention_element = std::same_as<T, float> || std::same_as<T, Eigen::bfloat16>;

struct attention_settings {
  std::optional<double> scale;  // 1 / sqrt(dim) when empty
  // Threads that split the (head, query block) work items; the result does
  // not depend on it, bit for bit. One by default: a library call starts no
  // threads unless asked.
  index_t threads = 1;
};

using tiled_attention_output = basic_attention_output<float>;

namespace detail {

template <class T>
bool fits_its_shape(const head_tensor<T>& t) {
  return t.tokens >= 0 && t.heads >= 1 && t.dim >= 1 && t.heads <= max_index / t.dim &&
         (t.tokens == 0 || t.heads * t.dim <= max_index / t.tokens) &&
         static_cast<index_t>(t.data.size()) == t.tokens * t.heads * t.dim;
}

// IEEE 754 magnitudes order like their bit patterns with the sign cleared,
// and inf and NaN come last: one integer max (which compilers vectorize, in
// lanes of a cache line) gives both the largest |x| and whether all are finite.
template <class T>
struct magnitude_bits;
template <>
struct magnitude_bits<float> {
  using type = std::uint32_t;
  static constexpr type magnitude = 0x7fff'ffff;
  static constexpr type infinity = 0x7f80'0000;
};
template <>
struct magnitude_bits<Eigen::bfloat16> {
  using type = std::uint16_t;
  static constexpr type magnitude = 0x7fff;
  static constexpr type infinity = 0x7f80;
};

template <class T>
typename magnitude_bits<T>::type largest_magnitude_bits(std::span<const T> x) {
  using bits = magnitude_bits<T>;
  using word = typename bits::type;
  constexpr std::size_t lanes = 64 / sizeof(word);
  const auto magnitude = [](T e) {
    return static_cast<word>(std::bit_cast<word>(e) & bits::magnitude);
  };
  word lane[lanes] = {};
  std::size_t i = 0;
  for (; i + lanes <= x.size(); i += lanes)
    for (std::size_t j = 0; j < lanes; ++j) lane[j] = std::max(lane[j], magnitude(x[i + j]));
  word top = 0;
  for (; i < x.size(); ++i) top = std::max(top, magnitude(x[i]));
  for (const word e : lane) top = std::max(top, e);
  return top;
}

// The largest magnitude in t. Bad input is left to reference_attention's
// check, for the same messages.
template <class T>
double checked_largest_magnitude(const head_tensor<T>& t, const char* name) {
  const auto top = largest_magnitude_bits(t.data);
  if (!fits_its_shape(t) || top >= magnitude_bits<T>::infinity) check_head_tensor(t, name);
  return static_cast<double>(static_cast<float>(std::bit_cast<T>(top)));
}

// What the checks of the inputs leave for the computation to know.
struct checked_inputs {
  float scale;
  // The AVX-512 BF16 dot products sum q.k before the scale, in float, and
  // read subnormal inputs as zero: safe when the unscaled sums fit float and
  // flushing a subnormal moves no logit by more than float's own rounding.
  bool bf16_dot_products_exact;
};

// reference_attention's checks, with the same messages but float's range in
// place of double's, and the thread count.
template <class T>
checked_inputs check_attention_inputs(const head_tensor<T>& q, const head_tensor<T>& k,
                                      const head_tensor<T>& v, const attention_settings& settings) {
  const double q_largest = checked_largest_magnitude(q, "Q");
  const double k_largest = checked_largest_magnitude(k, "K");
  const double v_largest = checked_largest_magnitude(v, "V");
  check_attention_shapes(q, k, v);
  if (settings.threads < 1)
    throw argument_error("attention threads " + std::to_string(settings.threads) + " must be >= 1");
  const double scale = attention_scale(settings.scale, q.dim);
  check_attention_range<float>(scale, {q_largest, k_largest, v_largest}, q.dim, k.tokens);
  const auto dim = static_cast<double>(q.dim);
  constexpr double float_max = std::numeric_limits<float>::max();
  constexpr double float_min = std::numeric_limits<float>::min();
  constexpr double negligible = 1e-7;
  const bool exact =
      q_largest * k_largest * dim <= float_max &&
      std::fabs(scale) * float_min * std::max(q_largest, k_largest) * dim < negligible;
  return {static_cast<float>(scale), exact};
}

// Calls visit(kb, block_class) for the listed key blocks of one query block
// in ascending order, so every row adds its tiles in the same order.
template <class Visit>
void for_each_tile(std::span<const block_mask::block_index> full,
                   std::span<const block_mask::block_index> partial, Visit&& visit) {
  auto f = full.begin();
  auto p = partial.begin();
  while (f != full.end() || p != partial.end()) {
    if (p == partial.end() || (f != full.end() && *f < *p))
      visit(static_cast<index_t>(*f++), block_class::full);
    else
      visit(static_cast<index_t>(*p++), block_class::partial);
  }
}

// The block mask's grid with blocks larger than the chunk cut at its end:
// sizing the buffers from the cut tile keeps them within the tensors' own
// sizes, whatever block size the mask was built with.
inline block_grid attended_grid(const block_mask& blocks) {
  block_grid grid = blocks.grid();
  grid.bq = std::min(grid.bq, std::max<index_t>(grid.range.rows(), 1));
  grid.bk = std::min(grid.bk, std::max<index_t>(grid.range.cols(), 1));
  return grid;
}

// The attention itself on checked queries, with keys and values already
// packed in `products`.
template <class Products, mask M>
tiled_attention_output attend_packed(const block_mask& blocks, const M& m,
                                     const head_tensor<typename Products::input>& q,
                                     index_t kv_heads, const Products& products, float scale,
                                     index_t threads) {
  tiled_attention_output result{
      q.tokens, q.heads, q.dim,
      std::vector<float>(static_cast<std::size_t>(q.tokens * q.heads * q.dim)),
      std::vector<float>(static_cast<std::size_t>(q.tokens * q.heads))};
  const block_grid grid = attended_grid(blocks);
  const index_t heads = q.heads;
  const index_t dim = q.dim;
  const index_t group = q.heads / kv_heads;

  // A one-token decode step is one item per KV head whose rows are its query
  // heads, all at the token's position: the heads share each key and value
  // the kernels load, so the step reads the keys and values once, not once
  // per query head. Otherwise (query block, head) items, the query blocks
  // with the most tiles first, so the items drawn last are cheap and the
  // threads finish together.
  const bool heads_as_rows = q.tokens == 1 && group > 1;
  std::vector<index_t> order(static_cast<std::size_t>(grid.query_blocks()));
  std::iota(order.begin(), order.end(), index_t{0});
  const auto tiles = [&](index_t qb) {
    return blocks.full_key_blocks(qb).size() + blocks.partial_key_blocks(qb).size();
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](index_t a, index_t b) { return tiles(a) > tiles(b); });
  const index_t items = heads_as_rows ? kv_heads : grid.query_blocks() * heads;
  const index_t workers = std::min(threads, items);
  const index_t block_rows = heads_as_rows ? group : grid.bq;
  std::vector<query_block_softmax<Products>> state;  // one per worker, made before threads start
  state.reserve(static_cast<std::size_t>(workers));
  for (index_t w = 0; w < workers; ++w) state.emplace_back(products, block_rows, grid.bk, dim);

  run_work_items(items, workers, [&](index_t item, index_t worker) {
    const index_t qb = heads_as_rows ? 0 : order[static_cast<std::size_t>(item / heads)];
    const index_t kv_head = heads_as_rows ? item : item % heads / group;
    query_block_softmax<Products>& block = state[static_cast<std::size_t>(worker)];
    // The first row's output, the stride between rows, and the same for the
    // log-sum-exp.
    index_t first, row_stride, lse_first, lse_stride;
    if (heads_as_rows) {
      first = kv_head * group * dim;
      row_stride = dim;
      lse_first = kv_head * group;
      lse_stride = 1;
      block.start(q.data.data() + first, group, row_stride, scale, group);
    } else {
      const chunk rows = grid.tile(qb, 0);
      const index_t first_row = rows.q0 - grid.range.q0;
      const index_t h = item % heads;
      first = (first_row * heads + h) * dim;
      row_stride = heads * dim;
      lse_first = first_row * heads + h;
      lse_stride = heads;
      block.start(q.data.data() + first, rows.rows(), row_stride, scale);
    }
    for_each_tile(blocks.full_key_blocks(qb), blocks.partial_key_blocks(qb),
                  [&](index_t kb, block_class cls) {
                    const chunk tile = grid.tile(qb, kb);
                    if (cls == block_class::full)
                      block.template add_tile<block_class::full>(m, tile, kv_head, kb);
                    else
                      block.template add_tile<block_class::partial>(m, tile, kv_head, kb);
                  });
    block.finish(result.output.data() + first, row_stride, result.lse.data() + lse_first,
                 lse_stride);
  });
  return result;
}

// The attention on inputs already checked: each listed key block of each KV
// head packed once, then the tiles.
template <class Products, mask M, class T>
tiled_attention_output attend_listed_tiles(const block_mask& blocks, const M& m,
                                           const head_tensor<T>& q, const head_tensor<T>& k,
                                           const head_tensor<T>& v, float scale, index_t threads) {
  const block_grid grid = attended_grid(blocks);
  Products products(k, v, grid);
  std::vector<index_t> used_key_blocks;
  for (index_t kb = 0; kb < grid.key_blocks(); ++kb)
    if (!blocks.full_query_blocks(kb).empty() || !blocks.partial_query_blocks(kb).empty())
      used_key_blocks.push_back(kb);
  const auto packs = static_cast<index_t>(used_key_blocks.size()) * k.heads;
  run_work_items(packs, std::min(threads, packs), [&](index_t item, index_t) {
    products.pack(item % k.heads, used_key_blocks[static_cast<std::size_t>(item / k.heads)]);
  });
  return attend_packed(blocks, m, q, k.heads, products, scale, threads);
}

// Picks the tile products for T on this CPU.
template <mask M, class T>
tiled_attention_output attend(const block_mask& blocks, const M& m, const head_tensor<T>& q,
                              const head_tensor<T>& k, const head_tensor<T>& v,
                              const checked_inputs& checked, index_t threads) {
#if defined(ISM_ATTENTION_BF16_KERNELS)
  if constexpr (std::is_same_v<T, Eigen::bfloat16>)
    if (checked.bf16_dot_products_exact && bf16_dot_products_available())
      return attend_listed_tiles<bf16_products>(blocks, m, q, k, v, checked.scale, threads);
#endif
  return attend_listed_tiles<float_products<T>>(blocks, m, q, k, v, checked.scale, threads);
}

}  // namespace detail

// Attention of the queries and keys of blocks.range() under mask m, visiting
// the tiles that `blocks` lists; build it once with make_block_mask(m, chunk,
// size) and reuse it across heads and layers. `blocks` must be a block mask of
// m: its lists decide which pairs are computed at all. Query token r is the
// absolute position blocks.range().q0 + r, key token c is range().k0 + c; query
// head h reads KV head h / (q.heads / k.heads). A row that sees no key gives
// zeros and log-sum-exp -inf. Throws block_mask_mismatch when `blocks` was
// built from another mask (checked by fingerprint: for a mask without
// intervals, by sampled pairs, which can miss a difference), shape_error for inconsistent shapes or
// tensors that do not match the block mask's chunk, argument_error for a
// non-finite scale or input value, inputs whose logits could overflow float,
// or fewer than one thread.
template <attention_element T, mask M>
tiled_attention_output tiled_attention(const block_mask& blocks, const M& m, head_tensor<T> q,
                                       head_tensor<T> k, head_tensor<T> v,
                                       const attention_settings& settings = {}) {
  blocks.check_built_from(m, "tiled_attention");
  const detail::checked_inputs checked = detail::check_attention_inputs(q, k, v, settings);
  const chunk& c = blocks.range();
  if (q.tokens != c.rows() || k.tokens != c.cols())
    throw shape_error("Q and K have " + std::to_string(q.tokens) + " and " +
                      std::to_string(k.tokens) + " tokens but the block mask covers " +
                      to_string(c));
  check_chunk(m, c);
  return detail::attend(blocks, m, q, k, v, checked, settings.threads);
}

// The same for queries at positions [q0, q0 + q.tokens) against keys
// [k0, k0 + k.tokens), the arguments of reference_attention: a chunk of queries
// against a KV cache, the one-row decode step included. Builds the block mask
// in tiles of attention_block_size.
template <attention_element T, mask M>
tiled_attention_output tiled_attention(const M& m, head_tensor<T> q, head_tensor<T> k,
                                       head_tensor<T> v, index_t q0 = 0, index_t k0 = 0,
                                       const attention_settings& settings = {}) {
  const detail::checked_inputs checked = detail::check_attention_inputs(q, k, v, settings);
  detail::check_attention_positions(q, k, q0, k0);
  const block_mask blocks =
      make_block_mask(m, chunk{q0, q0 + q.tokens, k0, k0 + k.tokens}, attention_block_size);
  return detail::attend(blocks, m, q, k, v, checked, settings.threads);
}

}  // namespace v0
}  // namespace ism
