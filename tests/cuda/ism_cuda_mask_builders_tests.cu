// The GPU mask builders against the host's: intervals from a layout's segments
// (four paradigms and a user paradigm), dense boolean and additive masks of
// random chunks, and block masks as CSR lists and FlexAttention arrays, for
// masks with intervals and without, on random layouts, chunks and block sizes.
// Outputs are poisoned first, so a forgotten element differs. The argument
// checks run on the host first, GPU or not; without a GPU the program says so
// and exits 77, which ctest reports as skipped.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ism/additive_mask.hpp>
#include <ism/any_paradigm.hpp>
#include <ism/block_mask.hpp>
#include <ism/cuda/block_mask_builder.cuh>
#include <ism/cuda/dense_builder.cuh>
#include <ism/cuda/interval_builder.cuh>
#include <ism/dense_mask.hpp>
#include <ism/exports/flex.hpp>
#include <ism/layout.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "test_cases.hpp"

namespace {

// The shared cases and checks of test_cases.hpp.
using namespace cuda_tests;
using ism::index_t;
namespace ic = ism::cuda;

constexpr int skip_exit_code = 77;  // SKIP_RETURN_CODE in CMakeLists.txt
constexpr int random_cases = 150;
constexpr std::uint64_t seed = 0xb1'2408'0053'9ULL;
constexpr std::uint8_t poison_byte = 0xA5;

template <class T>
std::vector<T> poisoned(std::size_t n) {
  std::vector<T> out(n);
  std::vector<std::uint8_t> bytes(n * sizeof(T), poison_byte);
  if (n > 0) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

template <class T>
std::vector<T> copy(std::span<const T> s) {
  return std::vector<T>(s.begin(), s.end());
}

// ---------------------------------------------------------------------------
// Checks.
// ---------------------------------------------------------------------------

template <class P>
void check_intervals(const ism::layout& sequence, const P& policy, comparison& compare) {
  const device_array<ism::segment_span> segments(copy(sequence.segments()));
  const device_array<ism::document_span> documents(copy(sequence.documents()));
  const index_t n = sequence.size();
  device_array<index_t> lo(poisoned<index_t>(static_cast<std::size_t>(n)));
  device_array<index_t> hi(poisoned<index_t>(static_cast<std::size_t>(n)));
  const ic::device_layout l{segments.data(), static_cast<index_t>(sequence.segments().size()),
                            documents.data(), n};
  ic::build_intervals(policy, l, lo.data(), hi.data(), nullptr);
  const ism::interval_mask want = ism::make_interval_mask(sequence, policy);
  compare.expect_equal("lo", lo.to_host(), copy(want.lo()));
  compare.expect_equal("hi", hi.to_host(), copy(want.hi()));
}

// Dense masks of chunk c, with rows 3 elements longer than the chunk; the
// padding must keep its poison.
template <class HostMask, class DeviceMask>
void check_dense(const HostMask& host, const DeviceMask& device, const ism::chunk& c,
                 comparison& compare) {
  const index_t stride = c.cols() + 3;
  const auto size = static_cast<std::size_t>(c.rows() * stride);
  device_array<std::uint8_t> bools(poisoned<std::uint8_t>(size));
  ic::build_dense_mask(device, c, reinterpret_cast<bool*>(bools.data()), stride, nullptr);
  device_array<float> floats(poisoned<float>(size));
  ic::build_additive_mask(device, c, floats.data(), stride, nullptr);
  device_array<__half> halves(poisoned<__half>(size));
  ic::build_additive_mask(device, c, halves.data(), stride, nullptr);
  device_array<__nv_bfloat16> bfloats(poisoned<__nv_bfloat16>(size));
  ic::build_additive_mask(device, c, bfloats.data(), stride, nullptr);

  const ism::dense_bool_mask want = ism::dense_mask(host, c);
  const ism::dense_additive_mask<float> additive = ism::additive_mask<float>(host, c);
  std::vector<std::uint8_t> want_bools = poisoned<std::uint8_t>(size);
  std::vector<float> want_floats = poisoned<float>(size);
  for (index_t r = 0; r < c.rows(); ++r)
    for (index_t k = 0; k < c.cols(); ++k) {
      want_bools[static_cast<std::size_t>(r * stride + k)] = want(r, k) ? 1 : 0;
      want_floats[static_cast<std::size_t>(r * stride + k)] = additive(r, k);
    }
  compare.expect_equal("dense bool", bools.to_host(), want_bools);
  compare.expect_equal("additive float", floats.to_host(), want_floats);
  std::vector<float> from_halves, from_bfloats;
  const std::vector<__half> h = halves.to_host();
  const std::vector<__nv_bfloat16> b = bfloats.to_host();
  // The written elements compare as floats, the padding by its poison bits.
  for (index_t r = 0; r < c.rows(); ++r)
    for (index_t k = 0; k < stride; ++k) {
      const auto i = static_cast<std::size_t>(r * stride + k);
      if (k < c.cols()) {
        from_halves.push_back(__half2float(h[i]));
        from_bfloats.push_back(__bfloat162float(b[i]));
      } else {
        std::uint16_t bits_h, bits_b;
        std::memcpy(&bits_h, &h[i], 2);
        std::memcpy(&bits_b, &b[i], 2);
        if (bits_h != 0xA5A5 || bits_b != 0xA5A5) compare.fail("additive 16-bit: padding written");
      }
    }
  std::vector<float> want_written;
  for (index_t r = 0; r < c.rows(); ++r)
    for (index_t k = 0; k < c.cols(); ++k) want_written.push_back(additive(r, k));
  compare.expect_equal("additive float16", from_halves, want_written);
  compare.expect_equal("additive bfloat16", from_bfloats, want_written);
}

std::vector<std::int8_t> classes_of(const std::vector<ism::block_class>& c) {
  std::vector<std::int8_t> out;
  for (const ism::block_class x : c) out.push_back(static_cast<std::int8_t>(x));
  return out;
}

// One CSR list family on the device against the host's.
void compare_csr(comparison& compare, const char* name, const device_array<index_t>& offsets,
                 const device_array<ism::block_index>& indices, ism::block_csr host) {
  const std::vector<index_t> want_offsets(host.offsets, host.offsets + host.lists + 1);
  const std::vector<index_t> got_offsets = offsets.to_host();
  compare.expect_equal(name, got_offsets, want_offsets);
  const std::vector<ism::block_index> got = indices.to_host();
  const std::vector<ism::block_index> want(host.indices, host.indices + host.offsets[host.lists]);
  compare.expect_equal(name, std::vector<ism::block_index>(got.begin(), got.begin() + want.size()),
                       want);
}

template <class HostMask, class DeviceMask>
void check_blocks(const HostMask& host, const DeviceMask& device, const ism::chunk& c,
                  const ism::block_size& size, comparison& compare) {
  const ism::block_grid g(c, size);
  const index_t qb = g.query_blocks(), kb = g.key_blocks();
  const auto tiles = static_cast<std::size_t>(qb * kb);
  device_array<ism::block_class> classes(poisoned<ism::block_class>(tiles));
  ic::classify_blocks(device, g, classes.data(), nullptr);

  const auto offsets = [](index_t lists) {
    return device_array<index_t>(poisoned<index_t>(static_cast<std::size_t>(lists + 1)));
  };
  const auto indices = [&] { return device_array<ism::block_index>(poisoned<ism::block_index>(tiles)); };
  device_array<index_t> fko = offsets(qb), pko = offsets(qb), fqo = offsets(kb), pqo = offsets(kb);
  device_array<ism::block_index> fki = indices(), pki = indices(), fqi = indices(), pqi = indices();
  ic::build_block_csr(classes.data(), g,
                      {fko.data(), fki.data(), pko.data(), pki.data(), fqo.data(), fqi.data(),
                       pqo.data(), pqi.data()},
                      nullptr);

  const auto counts = [](index_t lists) {
    return device_array<std::int32_t>(poisoned<std::int32_t>(static_cast<std::size_t>(lists)));
  };
  const auto rows = [&] { return device_array<std::int32_t>(poisoned<std::int32_t>(tiles)); };
  device_array<std::int32_t> kv_n = counts(qb), full_kv_n = counts(qb), q_n = counts(kb),
                             full_q_n = counts(kb);
  device_array<std::int32_t> kv_i = rows(), full_kv_i = rows(), q_i = rows(), full_q_i = rows();
  ic::build_flex_arrays(classes.data(), g,
                        {kv_n.data(), kv_i.data(), full_kv_n.data(), full_kv_i.data(), q_n.data(),
                         q_i.data(), full_q_n.data(), full_q_i.data()},
                        nullptr);

  const ism::block_mask want = ism::make_block_mask(host, c, size);
  std::vector<ism::block_class> want_classes;
  for (index_t i = 0; i < qb; ++i)
    for (index_t j = 0; j < kb; ++j) want_classes.push_back(want.classify(i, j));
  compare.expect_equal("classes", classes_of(classes.to_host()), classes_of(want_classes));
  const ism::block_mask_view v = want.view();
  compare_csr(compare, "full key lists", fko, fki, v.full_keys);
  compare_csr(compare, "partial key lists", pko, pki, v.partial_keys);
  compare_csr(compare, "full query lists", fqo, fqi, v.full_queries);
  compare_csr(compare, "partial query lists", pqo, pqi, v.partial_queries);

  const ism::flex_export flex = ism::export_flex(want);
  compare.expect_equal("kv_num_blocks", kv_n.to_host(), flex.kv_num_blocks);
  compare.expect_equal("kv_indices", kv_i.to_host(), flex.kv_indices);
  compare.expect_equal("full_kv_num_blocks", full_kv_n.to_host(), flex.full_kv_num_blocks);
  compare.expect_equal("full_kv_indices", full_kv_i.to_host(), flex.full_kv_indices);
  compare.expect_equal("q_num_blocks", q_n.to_host(), flex.q_num_blocks);
  compare.expect_equal("q_indices", q_i.to_host(), flex.q_indices);
  compare.expect_equal("full_q_num_blocks", full_q_n.to_host(), flex.full_q_num_blocks);
  compare.expect_equal("full_q_indices", full_q_i.to_host(), flex.full_q_indices);
}

ism::chunk random_chunk(std::mt19937_64& rng, index_t n) {
  const index_t q0 = uniform(rng, 0, n), k0 = uniform(rng, 0, n);
  return {q0, uniform(rng, q0, n), k0, uniform(rng, k0, n)};
}

// ---------------------------------------------------------------------------
// Argument checks, on the host before any launch.
// ---------------------------------------------------------------------------

int failed_error_checks() {
  const index_t lo[] = {0, 0, 0, 0}, hi[] = {0, 1, 2, 3};
  const ism::interval_view mask{lo, hi, 4};
  static bool bools[16];
  static ism::block_class classes[4];
  int failed = 0;
  const auto expect = [&](bool ok) { failed += ok ? 0 : 1; };
  using ism::argument_error;
  using ism::shape_error;
  expect(throws<argument_error>("negative tokens", "build_intervals: negative token count -2", [&] {
    ic::build_intervals(ism::causal{}, {nullptr, 0, nullptr, -2}, nullptr, nullptr, nullptr);
  }));
  expect(throws<argument_error>("no segments", "a layout of 5 tokens needs its segments", [&] {
    ic::build_intervals(ism::causal{}, {nullptr, 0, nullptr, 5}, nullptr, nullptr, nullptr);
  }));
  expect(throws<argument_error>("null lo", "build_intervals: lo or hi is null", [&] {
    const ism::segment_span s{};
    const ism::document_span d{};
    ic::build_intervals(ism::causal{}, {&s, 1, &d, 5}, nullptr, nullptr, nullptr);
  }));
  expect(throws<shape_error>("dense chunk", "leaves the mask's 4 positions", [&] {
    ic::build_dense_mask(mask, {0, 5, 0, 4}, bools, 4, nullptr);
  }));
  expect(throws<shape_error>("dense stride", "build_dense_mask: row stride 3 is shorter", [&] {
    ic::build_dense_mask(mask, ism::whole(4), bools, 3, nullptr);
  }));
  expect(throws<argument_error>("dense null", "build_additive_mask: the output is null", [&] {
    ic::build_additive_mask(mask, ism::whole(4), static_cast<float*>(nullptr), 4, nullptr);
  }));
  expect(throws<shape_error>("classify chunk", "leaves the mask's 4 positions", [&] {
    ic::classify_blocks(mask, ism::block_grid({0, 4, 0, 6}, ism::block_size{2, 2}), classes, nullptr);
  }));
  expect(throws<argument_error>("classify null", "classify_blocks: the class matrix is null", [&] {
    ic::classify_blocks(mask, ism::block_grid(ism::whole(4), ism::block_size{2, 2}), nullptr, nullptr);
  }));
  const ism::block_grid g(ism::whole(4), ism::block_size{2, 2});
  expect(throws<argument_error>("csr null", "build_block_csr: an offsets or indices array is null",
                                [&] { ic::build_block_csr(classes, g, {}, nullptr); }));
  expect(throws<argument_error>("csr classes", "build_block_csr: the class matrix is null",
                                [&] { ic::build_block_csr(nullptr, g, {}, nullptr); }));
  expect(throws<argument_error>("flex null", "build_flex_arrays: a count or index array is null",
                                [&] { ic::build_flex_arrays(classes, g, {}, nullptr); }));
  return failed;
}

}  // namespace

int main() {
  const int failed_errors = failed_error_checks();
  if (failed_errors > 0) {
    std::printf("FAILED: %d error checks\n", failed_errors);
    return 1;
  }
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf(
        "error checks passed; builders skipped: no CUDA device (%s; the device run is owed on a "
        "GPU machine)\n",
        status != cudaSuccess ? cudaGetErrorString(status) : "none found");
    return skip_exit_code;
  }
  std::mt19937_64 rng(seed);
  comparison compare;
  try {
    for (int i = 0; i < random_cases; ++i) {
      const ism::layout sequence = cuda_tests::random_layout(rng, 4, 6, 40);
      compare.start("intervals of '" + ism::to_text(sequence) + "'");
      check_intervals(sequence, ism::causal{}, compare);
      check_intervals(sequence, ism::prefix{}, compare);
      check_intervals(sequence, ism::intermittent{}, compare);
      check_intervals(sequence, ism::bidirectional{}, compare);
      check_intervals(sequence, tool_results_bidirectional{}, compare);

      const ism::any_paradigm kind = ism::paradigms().all()[static_cast<std::size_t>(uniform(rng, 0, 3))];
      const ism::interval_mask intervals = ism::make_interval_mask(sequence, kind);
      const device_intervals d(intervals);
      const ism::chunk c = random_chunk(rng, sequence.size());
      const ism::block_size size = uniform(rng, 0, 3) == 0
                                       ? ism::block_size{64, 64}
                                       : ism::block_size{uniform(rng, 1, 9), uniform(rng, 1, 9)};
      const std::string described = std::string(kind.name()) + " on '" + ism::to_text(sequence) +
                                    "', chunk " + ism::to_string(c) + ", blocks " +
                                    ism::to_string(size);
      compare.start("intervals: " + described);
      check_dense(intervals, d.view(), c, compare);
      check_blocks(intervals, d.view(), c, size, compare);
      compare.start("without intervals: " + described);
      const sparse_keys_mask host_sparse{intervals.view()}, device_sparse{d.view()};
      check_dense(host_sparse, device_sparse, c, compare);
      check_blocks(host_sparse, device_sparse, c, size, compare);
    }
    require_success(cudaDeviceSynchronize(), "the builders");
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  if (compare.mismatches() > 0) {
    std::printf("FAILED: %d device results differ from the host's\n", compare.mismatches());
    return 1;
  }
  std::printf("ok: the GPU mask builders equal the host's on %d random cases\n", random_cases);
  return 0;
}
