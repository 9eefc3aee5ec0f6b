// The GPU attention forward (include/ism/cuda/attention_forward.cuh) against
// the double-precision reference attention: random packed layouts under the
// four paradigms and a user paradigm, whole rows, prefill chunks and decode
// rows against a longer KV, grouped KV heads, head dims 64 and 128, bfloat16
// and float16, tiles planned from intervals and read from block masks (one of
// a mask without intervals). Inputs are fresh random values; output buffers
// are poisoned with NaN first, so an element the kernel forgets fails, and
// padding between rows must stay poisoned. The error checks run on the host
// first, GPU or not; the forward itself needs a GPU, and without one the
// program says so and exits 77, which ctest reports as skipped.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <ism/any_paradigm.hpp>
#include <ism/block_mask.hpp>
#include <ism/cuda/attention_forward.cuh>
#include <ism/interval_mask.hpp>
#include <ism/layout.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
// The reference bounds its sums in long double, on the host; under
// --expt-relaxed-constexpr nvcc also sees numeric_limits<long double> as device
// code and reports that long double is double there (#20208).
#pragma nv_diagnostic push
#pragma nv_diag_suppress 20208
#include <ism/reference_attention.hpp>
#pragma nv_diagnostic pop
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test_cases.hpp"

namespace {

// The shared cases and checks of test_cases.hpp.
using namespace cuda_tests;
using ism::index_t;
namespace ic = ism::cuda;

constexpr int skip_exit_code = 77;  // SKIP_RETURN_CODE in CMakeLists.txt
constexpr int random_cases = 120;
constexpr std::uint64_t seed = 0xf0'2408'0053'9ULL;

// The tolerance of docs/cuda.md#precision: the output may be off by
// 4 u max|V| + fp32_slack (1 + L), the log-sum-exp by fp32_slack (1 + L),
// where u is the unit roundoff of the input type and L the row's largest
// |logit|.
constexpr double fp32_slack = 2e-5;

// The element types, their names and their unit roundoff.
template <class T>
struct element;
template <>
struct element<__nv_bfloat16> {
  static constexpr const char* name = "bfloat16";
  static constexpr double roundoff = 1.0 / 256;  // 2^-8
  static __nv_bfloat16 from(float x) { return __float2bfloat16_rn(x); }
  static float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
};
template <>
struct element<__half> {
  static constexpr const char* name = "float16";
  static constexpr double roundoff = 1.0 / 2048;  // 2^-11
  static __half from(float x) { return __float2half_rn(x); }
  static float to_float(__half x) { return __half2float(x); }
};

// A (tokens, heads, dim) tensor: its values as the reference reads them
// (contiguous, already rounded to T) and on the device with a token stride
// padded by 8 elements of NaN, so strides are exercised and stray writes seen.
template <class T>
struct tensor_pair {
  index_t tokens, heads, dim;
  std::vector<double> values;  // (tokens, heads, dim)
  index_t token_stride;
  device_array<T> device;

  static std::vector<T> padded(const std::vector<double>& values, index_t tokens, index_t row) {
    const index_t stride = row + 8;
    std::vector<T> out(static_cast<std::size_t>(std::max<index_t>(tokens * stride, 1)),
                       element<T>::from(std::numeric_limits<float>::quiet_NaN()));
    for (index_t t = 0; t < tokens; ++t)
      for (index_t i = 0; i < row; ++i)
        out[static_cast<std::size_t>(t * stride + i)] =
            element<T>::from(static_cast<float>(values[static_cast<std::size_t>(t * row + i)]));
    return out;
  }

  tensor_pair(std::vector<double> v, index_t tokens, index_t heads, index_t dim)
      : tokens(tokens), heads(heads), dim(dim), values(std::move(v)),
        token_stride(heads * dim + 8), device(padded(values, tokens, heads * dim)) {}

  ism::head_tensor<double> host() const { return {values, tokens, heads, dim}; }
  ic::device_heads<const T> on_device() const {
    return {device.data(), tokens, heads, dim, token_stride, dim};
  }
};

template <class T>
tensor_pair<T> random_tensor(std::mt19937_64& rng, index_t tokens, index_t heads, index_t dim) {
  std::normal_distribution<float> normal;
  std::vector<double> values(static_cast<std::size_t>(tokens * heads * dim));
  for (double& x : values) x = element<T>::to_float(element<T>::from(normal(rng)));
  return tensor_pair<T>(std::move(values), tokens, heads, dim);
}

// One random problem: a layout's mask, a chunk of it, and the heads.
struct forward_case {
  ism::layout sequence;
  std::string paradigm;
  ism::interval_mask intervals;
  ism::chunk range;
  index_t heads, kv_heads, dim;
  std::string describe() const {
    return paradigm + " on '" + ism::to_text(sequence) + "', chunk " + ism::to_string(range) +
           ", heads " + std::to_string(heads) + "/" + std::to_string(kv_heads) + ", dim " +
           std::to_string(dim);
  }
};

forward_case make_case(std::mt19937_64& rng) {
  // Up to 720 tokens: several 64-row tiles, and small enough for the
  // double-precision reference.
  ism::layout sequence = cuda_tests::random_layout(rng, 3, 5, 48);
  const index_t n = sequence.size();
  const index_t pick = uniform(rng, 0, 4);
  std::string paradigm;
  ism::interval_mask intervals;
  if (pick < 4) {
    const ism::any_paradigm kind = ism::paradigms().all()[static_cast<std::size_t>(pick)];
    paradigm = std::string(kind.name());
    intervals = ism::make_interval_mask(sequence, kind);
  } else {
    paradigm = std::string(tool_results_bidirectional::name);
    intervals = ism::make_interval_mask(sequence, tool_results_bidirectional{});
  }
  // Whole rows, prefill chunks against the KV so far, decode rows, and any chunk.
  ism::chunk range = ism::whole(n);
  switch (uniform(rng, 0, 3)) {
    case 0:
      break;
    case 1: {
      const index_t q0 = uniform(rng, 0, n - 1);
      range = {q0, uniform(rng, q0 + 1, n), 0, 0};
      range.k1 = range.q1;
      break;
    }
    case 2: {
      const index_t q = uniform(rng, 0, n - 1);
      range = {q, q + 1, 0, q + 1};
      break;
    }
    default: {
      const index_t q0 = uniform(rng, 0, n - 1), k0 = uniform(rng, 0, n - 1);
      range = {q0, uniform(rng, q0 + 1, n), k0, uniform(rng, k0, n)};
    }
  }
  static constexpr index_t head_pairs[][2] = {{1, 1}, {4, 4}, {4, 2}, {6, 1}};
  const auto& h = head_pairs[uniform(rng, 0, 3)];
  return {std::move(sequence), paradigm, std::move(intervals), range, h[0], h[1],
          uniform(rng, 0, 1) ? 128 : 64};
}

// The largest |scale q . k| of row r, head h over the keys it sees.
double largest_logit(const ism::head_tensor<double>& q, const ism::head_tensor<double>& k,
                     index_t r, index_t h, const std::function<bool(index_t)>& sees, double scale) {
  double largest = 0.0;
  const index_t kv = h / (q.heads / k.heads);
  for (index_t c = 0; c < k.tokens; ++c) {
    if (!sees(c)) continue;
    double dot = 0.0;
    for (index_t d = 0; d < q.dim; ++d) dot += q(r, h, d) * k(c, kv, d);
    largest = std::max(largest, std::fabs(scale * dot));
  }
  return largest;
}

// Runs `forward(args)` on poisoned outputs and compares with the reference of
// `host_mask` on the same inputs.
template <class T, class HostMask, class Forward>
void check_forward(const forward_case& c, const HostMask& host_mask, std::mt19937_64& rng,
                   comparison& compare, Forward&& forward) {
  const index_t lq = c.range.rows(), lk = c.range.cols();
  const tensor_pair<T> q = random_tensor<T>(rng, lq, c.heads, c.dim);
  const tensor_pair<T> k = random_tensor<T>(rng, lk, c.kv_heads, c.dim);
  const tensor_pair<T> v = random_tensor<T>(rng, lk, c.kv_heads, c.dim);
  const index_t out_stride = c.heads * c.dim + 8;
  const T poison = element<T>::from(std::numeric_limits<float>::quiet_NaN());
  device_array<T> out(std::vector<T>(static_cast<std::size_t>(lq * out_stride), poison));
  device_array<float> lse(std::vector<float>(static_cast<std::size_t>(lq * c.heads),
                                             std::numeric_limits<float>::quiet_NaN()));
  const ic::forward_args<T> args{q.on_device(),
                                 k.on_device(),
                                 v.on_device(),
                                 {{out.data(), lq, c.heads, c.dim, out_stride, c.dim},
                                  lse.data(),
                                  c.heads,
                                  1},
                                 c.range.q0,
                                 c.range.k0};
  forward(args);
  require_success(cudaDeviceSynchronize(), "the forward");

  const ism::attention_output want =
      ism::reference_attention(host_mask, q.host(), k.host(), v.host(), c.range.q0, c.range.k0);
  const std::vector<T> got = out.to_host();
  const std::vector<float> got_lse = lse.to_host();
  double largest_v = 0.0;
  for (const double x : v.values) largest_v = std::max(largest_v, std::fabs(x));
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.dim));
  for (index_t r = 0; r < lq; ++r) {
    for (index_t h = 0; h < c.heads; ++h) {
      const auto sees = [&](index_t col) {
        return host_mask.visible(c.range.q0 + r, c.range.k0 + col);
      };
      const double slack = fp32_slack * (1.0 + largest_logit(q.host(), k.host(), r, h, sees, scale));
      const double allowed = 4.0 * element<T>::roundoff * largest_v + slack;
      const std::string at = "row " + std::to_string(r) + " head " + std::to_string(h);
      const double want_lse = want.log_sum_exp(r, h);
      const double lse_here = got_lse[static_cast<std::size_t>(r * c.heads + h)];
      const bool lse_ok = std::isinf(want_lse) ? (std::isinf(lse_here) && lse_here < 0)
                                               : std::fabs(lse_here - want_lse) <= slack;
      if (!lse_ok)
        compare.fail("lse of " + at + ": " + std::to_string(lse_here) + ", reference " +
                     std::to_string(want_lse));
      for (index_t d = 0; d < c.dim; ++d) {
        const double o =
            element<T>::to_float(got[static_cast<std::size_t>(r * out_stride + h * c.dim + d)]);
        if (!(std::fabs(o - want.out(r, h, d)) <= allowed))  // NaN fails too
          compare.fail("output of " + at + " feature " + std::to_string(d) + ": " +
                       std::to_string(o) + ", reference " + std::to_string(want.out(r, h, d)));
      }
    }
    for (index_t pad = c.heads * c.dim; pad < out_stride; ++pad)
      if (!std::isnan(element<T>::to_float(got[static_cast<std::size_t>(r * out_stride + pad)])))
        compare.fail("the padding after row " + std::to_string(r) + " was written");
  }
}

template <class T>
void check_planned(const forward_case& c, std::mt19937_64& rng, comparison& compare) {
  compare.start(std::string(element<T>::name) + ", tiles from intervals: " + c.describe());
  const device_intervals d(c.intervals);
  const std::size_t bytes = ic::forward_workspace_bytes(c.range.rows());
  device_array<std::uint8_t> workspace(bytes);
  check_forward<T>(c, c.intervals, rng, compare, [&](const ic::forward_args<T>& args) {
    ic::attention_forward(d.view(), args, workspace.data(), bytes, nullptr);
  });
}

template <class T>
void check_block_mask(const forward_case& c, std::mt19937_64& rng, comparison& compare) {
  compare.start(std::string(element<T>::name) + ", tiles from a block mask: " + c.describe());
  const device_intervals d(c.intervals);
  const ism::block_mask blocks = ism::make_block_mask(c.intervals, c.range, ism::block_size{64, 64});
  const device_block_mask on_device(blocks.view());
  check_forward<T>(c, c.intervals, rng, compare, [&](const ic::forward_args<T>& args) {
    ic::attention_forward(d.view(), on_device.view(), args, nullptr);
  });
}

void check_mask_without_intervals(const forward_case& c, std::mt19937_64& rng,
                                  comparison& compare) {
  compare.start("bfloat16, a mask without intervals from its block mask: " + c.describe());
  const device_intervals d(c.intervals);
  const sparse_keys_mask host_mask{c.intervals.view()};
  const ism::block_mask blocks = ism::make_block_mask(host_mask, c.range, ism::block_size{64, 64});
  const device_block_mask on_device(blocks.view());
  check_forward<__nv_bfloat16>(
      c, host_mask, rng, compare, [&](const ic::forward_args<__nv_bfloat16>& args) {
        ic::attention_forward(sparse_keys_mask{d.view()}, on_device.view(), args, nullptr);
      });
}

// ---------------------------------------------------------------------------
// Errors, checked on the host before anything is launched.
// ---------------------------------------------------------------------------

int failed_error_checks(bool have_device) {
  using bf16 = __nv_bfloat16;
  // Stand-in pointers: the checks read addresses, never the memory behind them.
  alignas(16) static bf16 storage[64];
  alignas(16) static float lse_storage[16];
  alignas(16) static ic::key_tile_plan plans[4];
  const index_t lo[] = {0, 0, 0, 0}, hi[] = {0, 1, 2, 3};
  const ism::interval_view mask{lo, hi, 4};
  const auto heads = [&](index_t tokens, index_t h, index_t dim) {
    return ic::device_heads<const bf16>{storage, tokens, h, dim, h * dim, dim};
  };
  const auto valid = [&] {
    return ic::forward_args<bf16>{heads(4, 2, 64), heads(4, 1, 64), heads(4, 1, 64),
                                  {{storage, 4, 2, 64, 128, 64}, lse_storage, 2, 1}};
  };
  const auto run = [&](const ic::forward_args<bf16>& a) {
    ic::attention_forward(mask, a, plans, sizeof plans, nullptr);
  };
  int failed = 0;
  const auto expect = [&](bool ok) { failed += ok ? 0 : 1; };
  using ism::argument_error;
  using ism::shape_error;

  expect(throws<argument_error>("head dim", "head dim 96 has no kernel", [&] {
    auto a = valid();
    a.q.dim = a.k.dim = a.v.dim = a.result.out.dim = 96;
    run(a);
  }));
  expect(throws<shape_error>("Q dim", "Q head dim 128 differs from K's 64", [&] {
    auto a = valid();
    a.q.dim = a.result.out.dim = 128;
    run(a);
  }));
  expect(throws<shape_error>("grouped heads", "3 heads, not a multiple of the 2 KV heads", [&] {
    auto a = valid();
    a.q.heads = a.result.out.heads = 3;
    a.k.heads = a.v.heads = 2;
    run(a);
  }));
  expect(throws<shape_error>("too many heads", "at most 65535", [&] {
    auto a = valid();
    a.q.heads = a.result.out.heads = 65536;
    run(a);
  }));
  expect(throws<shape_error>("K and V", "K and V shapes differ", [&] {
    auto a = valid();
    a.v.tokens = 3;
    run(a);
  }));
  expect(throws<shape_error>("negative tokens", "K (-1, 1, 64): tokens must be >= 0", [&] {
    auto a = valid();
    a.k.tokens = -1;
    run(a);
  }));
  expect(throws<argument_error>("alignment", "V (4, 1, 64): data is not 16-byte aligned", [&] {
    auto a = valid();
    a.v.data = storage + 1;
    run(a);
  }));
  expect(throws<argument_error>("strides", "Q (4, 2, 64): strides (130, 64) must be", [&] {
    auto a = valid();
    a.q.token_stride = 130;
    run(a);
  }));
  expect(throws<argument_error>("null data", "K (4, 1, 64) has no data pointer", [&] {
    auto a = valid();
    a.k.data = nullptr;
    run(a);
  }));
  expect(throws<shape_error>("output shape", "the output's shape differs from Q's", [&] {
    auto a = valid();
    a.result.out.tokens = 3;
    run(a);
  }));
  expect(throws<argument_error>("lse", "the log-sum-exp has no data pointer", [&] {
    auto a = valid();
    a.result.lse = nullptr;
    run(a);
  }));
  expect(throws<argument_error>("lse strides", "the log-sum-exp's strides", [&] {
    auto a = valid();
    a.result.lse_head_stride = -1;
    run(a);
  }));
  expect(throws<shape_error>("positions", "queries from position -1", [&] {
    auto a = valid();
    a.q0 = -1;
    run(a);
  }));
  expect(throws<shape_error>("chunk", "leaves the mask's 4 positions", [&] {
    auto a = valid();
    a.k0 = 1;
    run(a);
  }));
  expect(throws<argument_error>("scale", "attention scale must be finite in float", [&] {
    auto a = valid();
    a.scale = 1e300;
    run(a);
  }));
  expect(throws<argument_error>("workspace size", "forward_workspace_bytes(4) is 32", [&] {
    ic::attention_forward(mask, valid(), plans, 8, nullptr);
  }));
  expect(throws<argument_error>("workspace pointer", "the workspace pointer is null", [&] {
    ic::attention_forward(mask, valid(), nullptr, sizeof plans, nullptr);
  }));
  expect(throws<argument_error>("negative queries", "negative query count -1",
                                [&] { (void)ic::forward_workspace_bytes(-1); }));
  const ism::interval_mask host_mask({0, 0, 0, 0}, {0, 1, 2, 3});
  const ism::block_mask wrong_tiles = ism::make_block_mask(host_mask, ism::whole(4), ism::block_size{2, 2});
  expect(throws<shape_error>("block mask grid", "in tiles of 2 x 2, not the chunk", [&] {
    ic::attention_forward(mask, wrong_tiles.view(), valid(), nullptr);
  }));
  if (!have_device)
    expect(throws<ic::cuda_error>("no device", "attention_forward: no usable CUDA device",
                                  [&] { run(valid()); }));
  return failed;
}

}  // namespace

int main() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  const bool have_device = status == cudaSuccess && devices > 0;
  const int failed_errors = failed_error_checks(have_device);
  if (failed_errors > 0) {
    std::printf("FAILED: %d error checks\n", failed_errors);
    return 1;
  }
  if (!have_device) {
    std::printf(
        "error checks passed; forward skipped: no CUDA device (%s; the device run is owed on a GPU "
        "machine)\n",
        status != cudaSuccess ? cudaGetErrorString(status) : "none found");
    return skip_exit_code;
  }
  std::mt19937_64 rng(seed);
  comparison compare;
  try {
    for (int i = 0; i < random_cases; ++i) {
      const forward_case c = make_case(rng);
      check_planned<__nv_bfloat16>(c, rng, compare);
      check_planned<__half>(c, rng, compare);
      if (i % 4 == 0) {
        check_block_mask<__nv_bfloat16>(c, rng, compare);
        check_block_mask<__half>(c, rng, compare);
        check_mask_without_intervals(c, rng, compare);
      }
    }
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  if (compare.mismatches() > 0) {
    std::printf("FAILED: %d results differ from the reference beyond the tolerance\n",
                compare.mismatches());
    return 1;
  }
  std::printf("ok: the forward agrees with the reference on %d random cases\n", random_cases);
  return 0;
}
