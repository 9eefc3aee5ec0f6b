// The device side of ism's ISM_HOST_DEVICE pieces: each kernel below runs one
// of them on the GPU over random layouts and masks, and every result is compared
// with the same computation on the host. Building this file is a check of its
// own: the pieces compile as device code, under nvcc's warnings as errors, with
// all of ism included. Running it needs a GPU; without one it says how many
// kernels it compiled and exits 77, which ctest reports as skipped.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <ism/ism.hpp>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_cases.hpp"

namespace {

using cuda_tests::device_array;
using cuda_tests::device_block_mask;
using cuda_tests::device_intervals;
using cuda_tests::require_success;
using cuda_tests::uniform;

using ism::index_t;

constexpr int skip_exit_code = 77;  // SKIP_RETURN_CODE in CMakeLists.txt
constexpr unsigned threads_per_block = 128;
constexpr int random_cases = 200;
constexpr std::uint64_t seed = 0xc0da'2408'0053'9ULL;
constexpr int mismatches_printed = 20;

// ---------------------------------------------------------------------------
// Kernels: one thread per element of the output.
// ---------------------------------------------------------------------------

ISM_DEVICE index_t element() {
  return static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

template <class Mask>
__global__ void intervals_kernel(Mask m, index_t rows, ism::row_interval* out) {  // (rows,)
  const index_t q = element();
  if (q < rows) out[q] = m.interval(q);
}

template <class Mask>
__global__ void visible_kernel(Mask m, index_t n, std::uint8_t* out) {  // (n, n)
  const index_t i = element();
  if (i < n * n) out[i] = m.visible(i / n, i % n);
}

// Keys [begin, end) to clamp a row to.
struct key_range {
  index_t begin;
  index_t end;
};

__global__ void clamp_kernel(const ism::row_interval* rows, const key_range* keys, index_t n,
                             ism::row_interval* out) {  // (n,)
  const index_t i = element();
  if (i < n) out[i] = ism::clamp(rows[i], keys[i].begin, keys[i].end);
}

__global__ void ceil_div_kernel(const index_t* a, const index_t* b, index_t n,
                                index_t* out) {  // (n,)
  const index_t i = element();
  if (i < n) out[i] = ism::ceil_div(a[i], b[i]);
}

__global__ void tiles_kernel(ism::block_grid g, ism::chunk* out) {  // (query blocks, key blocks)
  const index_t i = element(), key_blocks = g.key_blocks();
  if (i < g.query_blocks() * key_blocks) out[i] = g.tile(i / key_blocks, i % key_blocks);
}

template <class Mask>
__global__ void visible_columns_kernel(Mask m, ism::block_grid g,
                                       ism::detail::column_range* out) {  // (rows, key blocks)
  const index_t i = element(), key_blocks = g.key_blocks();
  if (i >= g.range.rows() * key_blocks) return;
  const index_t row = i / key_blocks;
  out[i] = ism::detail::visible_columns(m, g.range.q0 + row, g.tile(row / g.bq, i % key_blocks));
}

ISM_DEVICE ism::block_class class_in(ism::block_list full, ism::block_list partial, index_t b) {
  for (const ism::block_index x : full)
    if (x == b) return ism::block_class::full;
  for (const ism::block_index x : partial)
    if (x == b) return ism::block_class::partial;
  return ism::block_class::empty;
}

// Each tile's class read from the forward lists and from the transposed ones.
__global__ void block_lookups_kernel(ism::block_mask_view v, ism::block_class* by_keys,
                                     ism::block_class* by_queries) {  // (query blocks, key blocks)
  const index_t i = element();
  if (i >= v.query_blocks() * v.key_blocks()) return;
  const index_t qb = i / v.key_blocks(), kb = i % v.key_blocks();
  by_keys[i] = class_in(v.full_key_blocks(qb), v.partial_key_blocks(qb), kb);
  by_queries[i] = class_in(v.full_query_blocks(kb), v.partial_query_blocks(kb), qb);
}

template <class Policy>
__global__ void paradigm_kernel(Policy policy, const ism::token_context* tokens, index_t n,
                                ism::row_interval* out) {  // (n,)
  const index_t i = element();
  if (i < n) out[i] = policy.interval(tokens[i]);
}

// ---------------------------------------------------------------------------
// Host side: device memory, launches, comparisons.
// ---------------------------------------------------------------------------

template <class Kernel, class... Args>
void launch(Kernel kernel, index_t threads, Args... args) {
  if (threads == 0) return;
  const auto blocks = static_cast<unsigned>(ism::ceil_div(threads, threads_per_block));
  kernel<<<blocks, threads_per_block>>>(args...);
  require_success(cudaGetLastError(), "kernel launch");
  require_success(cudaDeviceSynchronize(), "kernel run");
}

std::string show(index_t x) { return std::to_string(x); }
std::string show(std::uint8_t x) { return x ? "visible" : "hidden"; }
std::string show(const ism::row_interval& r) {
  return "[" + std::to_string(r.lo) + ", " + std::to_string(r.hi) + "]";
}
std::string show(const ism::chunk& c) { return ism::to_string(c); }
std::string show(const ism::detail::column_range& r) {
  return "[" + std::to_string(r.begin) + ", " + std::to_string(r.end) + ")";
}
std::string show(ism::block_class c) {
  return c == ism::block_class::full ? "full" : c == ism::block_class::partial ? "partial" : "empty";
}

// Counts the elements where the device and the host disagree, printing the first.
class comparison {
 public:
  // What the next comparisons are about: the check and the random case.
  void start(std::string what) { what_ = std::move(what); }

  template <class T>
  void expect_equal(const char* result, const std::vector<T>& device, const std::vector<T>& host) {
    for (std::size_t i = 0; i < host.size(); ++i) {
      if (device[i] == host[i]) continue;
      if (++mismatches_ <= mismatches_printed)
        std::printf("mismatch: %s, %s[%zu]: device %s, host %s\n", what_.c_str(), result, i,
                    show(device[i]).c_str(), show(host[i]).c_str());
    }
  }
  int mismatches() const { return mismatches_; }

 private:
  std::string what_;
  int mismatches_ = 0;
};

// ---------------------------------------------------------------------------
// Random cases.
// ---------------------------------------------------------------------------

struct random_case {
  ism::layout sequence;
  ism::any_paradigm kind;
  ism::interval_mask intervals;  // of sequence under kind
  index_t window;
  ism::chunk range;  // of the sequence
  ism::block_size size;
  std::uint64_t seed;  // for the checks that draw inputs of their own

  std::string describe() const {
    return "layout '" + ism::to_text(sequence) + "', " + std::string(kind.name()) +
           ", window " + std::to_string(window) + ", chunk " + ism::to_string(range) +
           ", blocks " + ism::to_string(size);
  }
};

random_case make_case(std::mt19937_64& rng) {
  ism::layout sequence = cuda_tests::random_layout(rng, 3, 5, 12);
  const ism::any_paradigm kind = ism::paradigms().all()[static_cast<std::size_t>(uniform(rng, 0, 3))];
  const index_t n = sequence.size();
  const index_t q0 = uniform(rng, 0, n), k0 = uniform(rng, 0, n);
  const ism::chunk range{q0, uniform(rng, q0, n), k0, uniform(rng, k0, n)};
  ism::interval_mask intervals = ism::make_interval_mask(sequence, kind);
  return {std::move(sequence), kind,
          std::move(intervals), uniform(rng, 1, n + 1),
          range, ism::block_size{uniform(rng, 1, 9), uniform(rng, 1, 9)},
          rng()};
}

// The two masks a kernel gets: a case's intervals alone, and under its window.
enum class mask_kind { intervals, windowed };

template <mask_kind K>
auto mask_of(ism::interval_view v, const random_case& c) {
  if constexpr (K == mask_kind::intervals)
    return v;
  else
    return ism::and_masks(v, ism::sliding_window(c.window));
}

// ---------------------------------------------------------------------------
// Checks: each launches one kernel and compares its output with the host's.
// ---------------------------------------------------------------------------

template <mask_kind K>
void check_intervals(const random_case& c, comparison& compare) {
  const device_intervals d(c.intervals);
  const index_t n = d.rows;
  device_array<ism::row_interval> out(static_cast<std::size_t>(n));
  launch(intervals_kernel<decltype(mask_of<K>(d.view(), c))>, n, mask_of<K>(d.view(), c), n,
         out.data());
  const auto m = mask_of<K>(c.intervals.view(), c);
  std::vector<ism::row_interval> host;
  for (index_t q = 0; q < n; ++q) host.push_back(m.interval(q));
  compare.expect_equal("interval", out.to_host(), host);
}

template <mask_kind K>
void check_visible(const random_case& c, comparison& compare) {
  const device_intervals d(c.intervals);
  const index_t n = d.rows;
  device_array<std::uint8_t> out(static_cast<std::size_t>(n * n));
  launch(visible_kernel<decltype(mask_of<K>(d.view(), c))>, n * n, mask_of<K>(d.view(), c), n,
         out.data());
  const auto m = mask_of<K>(c.intervals.view(), c);
  std::vector<std::uint8_t> host;
  for (index_t q = 0; q < n; ++q)
    for (index_t k = 0; k < n; ++k) host.push_back(m.visible(q, k));
  compare.expect_equal("visible", out.to_host(), host);
}

// Rows and key ranges of every kind clamp meets: inside, across, outside,
// empty, and upper ends at the largest keys.
void check_clamp(const random_case& c, comparison& compare) {
  std::mt19937_64 rng(c.seed);
  const index_t upper_ends[] = {ism::unbounded_key, ism::max_index};
  std::vector<ism::row_interval> rows;
  std::vector<key_range> keys;
  for (int i = 0; i < 256; ++i) {
    const index_t lo = uniform(rng, -5, 40);
    const index_t hi = i % 8 == 0 ? upper_ends[i / 8 % 2] : uniform(rng, lo - 2, 60);
    const index_t begin = uniform(rng, 0, 50);
    const index_t end = i % 16 == 1 ? ism::max_index : uniform(rng, begin, 55);
    rows.push_back({lo, hi});
    keys.push_back({begin, end});
  }
  const auto n = static_cast<index_t>(rows.size());
  const device_array<ism::row_interval> rows_d(rows);
  const device_array<key_range> keys_d(keys);
  device_array<ism::row_interval> out(rows.size());
  launch(clamp_kernel, n, rows_d.data(), keys_d.data(), n, out.data());
  std::vector<ism::row_interval> host;
  for (index_t i = 0; i < n; ++i) host.push_back(ism::clamp(rows[i], keys[i].begin, keys[i].end));
  compare.expect_equal("clamp", out.to_host(), host);
}

void check_ceil_div(const random_case& c, comparison& compare) {
  std::mt19937_64 rng(c.seed);
  std::vector<index_t> a{0, 1, ism::max_index, ism::max_index, ism::max_index - 1};
  std::vector<index_t> b{1, ism::max_index, 1, ism::max_index, 2};
  for (int i = 0; i < 256; ++i) {
    a.push_back(uniform(rng, 0, i % 2 ? ism::max_index : 1000));
    b.push_back(uniform(rng, 1, i % 3 ? 64 : ism::max_index));
  }
  const auto n = static_cast<index_t>(a.size());
  const device_array<index_t> a_d(a), b_d(b);
  device_array<index_t> out(a.size());
  launch(ceil_div_kernel, n, a_d.data(), b_d.data(), n, out.data());
  std::vector<index_t> host;
  for (index_t i = 0; i < n; ++i) host.push_back(ism::ceil_div(a[i], b[i]));
  compare.expect_equal("ceil_div", out.to_host(), host);
}

void check_tiles(const random_case& c, comparison& compare) {
  const ism::block_grid g(c.range, c.size);
  const index_t tiles = g.query_blocks() * g.key_blocks();
  device_array<ism::chunk> out(static_cast<std::size_t>(tiles));
  launch(tiles_kernel, tiles, g, out.data());
  std::vector<ism::chunk> host;
  for (index_t qb = 0; qb < g.query_blocks(); ++qb)
    for (index_t kb = 0; kb < g.key_blocks(); ++kb) host.push_back(g.tile(qb, kb));
  compare.expect_equal("tile", out.to_host(), host);
}

template <mask_kind K>
void check_visible_columns(const random_case& c, comparison& compare) {
  const device_intervals d(c.intervals);
  const ism::block_grid g(c.range, c.size);
  const index_t count = g.range.rows() * g.key_blocks();
  device_array<ism::detail::column_range> out(static_cast<std::size_t>(count));
  launch(visible_columns_kernel<decltype(mask_of<K>(d.view(), c))>, count,
         mask_of<K>(d.view(), c), g, out.data());
  const auto m = mask_of<K>(c.intervals.view(), c);
  std::vector<ism::detail::column_range> host;
  for (index_t row = 0; row < g.range.rows(); ++row)
    for (index_t kb = 0; kb < g.key_blocks(); ++kb)
      host.push_back(ism::detail::visible_columns(m, g.range.q0 + row, g.tile(row / g.bq, kb)));
  compare.expect_equal("visible_columns", out.to_host(), host);
}

void check_block_lookups(const random_case& c, comparison& compare) {
  const ism::block_mask blocks = ism::make_block_mask(c.intervals, c.range, c.size);
  const ism::block_mask_view host_view = blocks.view();
  const device_block_mask on_device(host_view);
  const ism::block_mask_view device_view = on_device.view();
  const index_t tiles = blocks.query_blocks() * blocks.key_blocks();
  device_array<ism::block_class> by_keys(static_cast<std::size_t>(tiles));
  device_array<ism::block_class> by_queries(static_cast<std::size_t>(tiles));
  launch(block_lookups_kernel, tiles, device_view, by_keys.data(), by_queries.data());
  std::vector<ism::block_class> host;
  for (index_t qb = 0; qb < blocks.query_blocks(); ++qb)
    for (index_t kb = 0; kb < blocks.key_blocks(); ++kb) host.push_back(blocks.classify(qb, kb));
  compare.expect_equal("class from the key lists", by_keys.to_host(), host);
  compare.expect_equal("class from the query lists", by_queries.to_host(), host);
}

std::vector<ism::token_context> token_contexts(const ism::layout& l) {
  std::vector<ism::token_context> out;
  for (const ism::document_span& d : l.documents())
    for (index_t s = d.first_segment; s < d.end_segment; ++s) {
      const ism::segment_span& segment = l.segments()[static_cast<std::size_t>(s)];
      for (index_t p = segment.begin; p < segment.end; ++p) out.push_back({p, segment, d});
    }
  return out;
}

template <ism::paradigm P>
void check_policy(const random_case& c, comparison& compare, const P& policy) {
  const std::vector<ism::token_context> tokens = token_contexts(c.sequence);
  const auto n = static_cast<index_t>(tokens.size());
  const device_array<ism::token_context> tokens_d(tokens);
  device_array<ism::row_interval> out(tokens.size());
  launch(paradigm_kernel<P>, n, policy, tokens_d.data(), n, out.data());
  const ism::interval_mask m = ism::make_interval_mask(c.sequence, policy);
  std::vector<ism::row_interval> host;
  for (index_t q = 0; q < n; ++q) host.push_back(m.interval(q));
  compare.expect_equal("interval", out.to_host(), host);
}

template <ism::paradigm P>
void check_paradigm(const random_case& c, comparison& compare) {
  check_policy(c, compare, P{});
}

// The data-driven paradigm carries its roles into the kernel by value.
void check_tool_roles(const random_case& c, comparison& compare) {
  check_policy(c, compare, ism::bidirectional_roles{ism::role::tool});
}

struct device_check {
  const char* name;
  void (*run)(const random_case&, comparison&);
};

// One entry per kernel instantiation, so that the count is what was compiled.
constexpr device_check checks[] = {
    {"interval_view::interval", check_intervals<mask_kind::intervals>},
    {"and_mask with sliding_window: interval", check_intervals<mask_kind::windowed>},
    {"interval_view::visible", check_visible<mask_kind::intervals>},
    {"and_mask with sliding_window: visible", check_visible<mask_kind::windowed>},
    {"clamp", check_clamp},
    {"ceil_div", check_ceil_div},
    {"block_grid::tile", check_tiles},
    {"visible_columns of interval_view", check_visible_columns<mask_kind::intervals>},
    {"visible_columns of and_mask with sliding_window", check_visible_columns<mask_kind::windowed>},
    {"block_mask_view lookups", check_block_lookups},
    {"causal::interval", check_paradigm<ism::causal>},
    {"prefix::interval", check_paradigm<ism::prefix>},
    {"intermittent::interval", check_paradigm<ism::intermittent>},
    {"bidirectional::interval", check_paradigm<ism::bidirectional>},
    {"bidirectional_roles{tool}::interval", check_tool_roles},
};

}  // namespace

int main() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf(
        "skipped: no CUDA device (%s; compiled %zu device kernels; the device run is owed on a "
        "GPU machine)\n",
        status != cudaSuccess ? cudaGetErrorString(status) : "none found", std::size(checks));
    return skip_exit_code;
  }
  std::mt19937_64 rng(seed);
  comparison compare;
  try {
    for (int i = 0; i < random_cases; ++i) {
      const random_case c = make_case(rng);
      for (const device_check& check : checks) {
        compare.start(std::string(check.name) + " on " + c.describe());
        check.run(c, compare);
      }
    }
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  if (compare.mismatches() > 0) {
    std::printf("FAILED: %d device results differ from the host's\n", compare.mismatches());
    return 1;
  }
  std::printf("ok: %zu device kernels agree with the host on %d random cases\n", std::size(checks),
              random_cases);
  return 0;
}
