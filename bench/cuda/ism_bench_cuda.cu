// The GPU attention forward (include/ism/cuda/attention_forward.cuh) against
// cuBLAS in the same run, on the multi-turn row of the CPU benchmark
// (bench/multi_turn_layout.hpp) (docs/benchmarks.md):
//
//   forward/<paradigm>/N:<n>/d:128  ism::cuda::attention_forward, bfloat16, the
//       tiles planned from the paradigm's intervals (plan included in the time).
//   cublas_gemm/N:<n>/d:128  the two bfloat16 GEMMs of attention over every
//       pair, per head: S = Q K^T (N x N x d) and O = P V (N x d x N), float
//       accumulation, no softmax: the tensor cores' speed on these shapes.
//
// 32 query heads over 8 KV heads (Llama-3-8B's grouping). Counters: useful_flops
// = 4 x visible pairs x dim x heads per second (for cuBLAS every pair is
// useful); density = visible pairs / N^2. Times are CUDA-event times of the
// stream (manual time). Without a GPU the program says so and exits 77.
//
// --dump_intervals=<dir> writes each row's intervals as <dir>/<paradigm>-<n>.npy,
// int64 (2, n), lo then hi, for bench/cuda/flex_vs_ism.py.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ism/any_paradigm.hpp>
#include <ism/cuda/attention_forward.cuh>
#include <ism/layout.hpp>
#include <ism/npy.hpp>
#include <ism/paradigms.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../multi_turn_layout.hpp"

namespace {

using ism::index_t;
using bf16 = __nv_bfloat16;

constexpr int skip_exit_code = 77;
constexpr index_t query_heads = 32;
constexpr index_t kv_heads = 8;
constexpr index_t dim = 128;
constexpr index_t sizes[] = {1024, 2048, 4096, 8192, 16384, 32768};
// cuBLAS multiplies a batch of heads at once, up to this many bytes of S.
constexpr std::size_t gemm_scores_bytes = std::size_t{1} << 31;

void require(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}
void require(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(status));
}

// Device memory freed with its owner.
template <class T>
class device_buffer {
 public:
  explicit device_buffer(std::size_t n) { require(cudaMalloc(&data_, std::max<std::size_t>(n, 1) * sizeof(T)), "cudaMalloc"); }
  device_buffer(device_buffer&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer() { cudaFree(data_); }
  T* data() const { return data_; }

 private:
  T* data_ = nullptr;
};

// Random bfloat16 values of order 1, never zeros.
device_buffer<bf16> random_device(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<bf16> host(n);
  for (bf16& x : host) x = __float2bfloat16_rn(normal(rng));
  device_buffer<bf16> out(n);
  require(cudaMemcpy(out.data(), host.data(), n * sizeof(bf16), cudaMemcpyHostToDevice), "upload");
  return out;
}

// Times `body` over the benchmark's iterations with CUDA events on `stream`.
template <class Body>
void time_on_stream(benchmark::State& state, cudaStream_t stream, Body&& body) {
  body();  // warm-up
  cudaEvent_t start, stop;
  require(cudaEventCreate(&start), "cudaEventCreate");
  require(cudaEventCreate(&stop), "cudaEventCreate");
  for (auto _ : state) {
    require(cudaEventRecord(start, stream), "cudaEventRecord");
    body();
    require(cudaEventRecord(stop, stream), "cudaEventRecord");
    require(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    require(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(static_cast<double>(ms) / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

void set_counters(benchmark::State& state, index_t n, index_t visible_pairs) {
  state.counters["useful_flops"] = benchmark::Counter(
      4.0 * static_cast<double>(visible_pairs) * dim * query_heads, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["density"] = static_cast<double>(visible_pairs) / (static_cast<double>(n) * n);
}

void forward(benchmark::State& state, const ism::any_paradigm& kind, index_t n) {
  const ism::interval_mask intervals = ism::make_interval_mask(multi_turn_layout(n), kind);
  device_buffer<index_t> lo(static_cast<std::size_t>(n)), hi(static_cast<std::size_t>(n));
  require(cudaMemcpy(lo.data(), intervals.lo().data(), n * sizeof(index_t), cudaMemcpyHostToDevice), "upload");
  require(cudaMemcpy(hi.data(), intervals.hi().data(), n * sizeof(index_t), cudaMemcpyHostToDevice), "upload");
  const auto q = random_device(static_cast<std::size_t>(n * query_heads * dim), 1);
  const auto k = random_device(static_cast<std::size_t>(n * kv_heads * dim), 2);
  const auto v = random_device(static_cast<std::size_t>(n * kv_heads * dim), 3);
  device_buffer<bf16> out(static_cast<std::size_t>(n * query_heads * dim));
  device_buffer<float> lse(static_cast<std::size_t>(n * query_heads));
  const std::size_t bytes = ism::cuda::forward_workspace_bytes(n);
  device_buffer<std::uint8_t> workspace(bytes);
  const ism::cuda::forward_args<bf16> args{
      {q.data(), n, query_heads, dim, query_heads * dim, dim},
      {k.data(), n, kv_heads, dim, kv_heads * dim, dim},
      {v.data(), n, kv_heads, dim, kv_heads * dim, dim},
      {{out.data(), n, query_heads, dim, query_heads * dim, dim}, lse.data(), query_heads, 1}};
  const ism::interval_view mask{lo.data(), hi.data(), n};
  cudaStream_t stream;
  require(cudaStreamCreate(&stream), "cudaStreamCreate");
  time_on_stream(state, stream, [&] {
    ism::cuda::attention_forward(mask, args, workspace.data(), bytes, stream);
  });
  require(cudaStreamDestroy(stream), "cudaStreamDestroy");
  set_counters(state, n, intervals.visible_pairs());
}

void cublas_gemm(benchmark::State& state, index_t n) {
  // One batch of heads at a time; Q (n, dim), K (n, dim), S (n, n), V (n, dim)
  // per head, column-major as cuBLAS sees them.
  const index_t batch = std::clamp<index_t>(
      static_cast<index_t>(gemm_scores_bytes / (static_cast<std::size_t>(n * n) * sizeof(bf16))), 1,
      query_heads);
  const auto q = random_device(static_cast<std::size_t>(batch * n * dim), 1);
  const auto k = random_device(static_cast<std::size_t>(batch * n * dim), 2);
  const auto v = random_device(static_cast<std::size_t>(batch * n * dim), 3);
  device_buffer<bf16> s(static_cast<std::size_t>(batch * n * n));
  device_buffer<bf16> o(static_cast<std::size_t>(batch * n * dim));
  cublasHandle_t handle;
  require(cublasCreate(&handle), "cublasCreate");
  cudaStream_t stream;
  require(cudaStreamCreate(&stream), "cudaStreamCreate");
  require(cublasSetStream(handle, stream), "cublasSetStream");
  const float one = 1.0f, zero = 0.0f;
  const int ni = static_cast<int>(n), di = static_cast<int>(dim);
  const auto gemm = [&](cublasOperation_t ta, cublasOperation_t tb, int m, int cols, int inner,
                        const bf16* a, int lda, long long sa, const bf16* b, int ldb, long long sb,
                        bf16* c, int ldc, long long sc) {
    require(cublasGemmStridedBatchedEx(handle, ta, tb, m, cols, inner, &one, a, CUDA_R_16BF, lda, sa, b,
                                       CUDA_R_16BF, ldb, sb, &zero, c, CUDA_R_16BF, ldc, sc,
                                       static_cast<int>(batch), CUBLAS_COMPUTE_32F,
                                       CUBLAS_GEMM_DEFAULT),
            "cublasGemmStridedBatchedEx");
  };
  time_on_stream(state, stream, [&] {
    for (index_t done = 0; done < query_heads; done += batch) {
      // S^T (n x n) = K (n x d) Q^T (d x n), column-major: one n x n x d product.
      gemm(CUBLAS_OP_T, CUBLAS_OP_N, ni, ni, di, k.data(), di, n * dim, q.data(), di, n * dim,
           s.data(), ni, n * n);
      // O^T (d x n) = V^T (d x n) P^T (n x n): one n x d x n product.
      gemm(CUBLAS_OP_N, CUBLAS_OP_N, di, ni, ni, v.data(), di, n * dim, s.data(), ni, n * n,
           o.data(), di, n * dim);
    }
  });
  require(cudaStreamDestroy(stream), "cudaStreamDestroy");
  require(cublasDestroy(handle), "cublasDestroy");
  set_counters(state, n, n * n);
}

// Writes <dir>/<paradigm>-<n>.npy for every paradigm and size.
void dump_intervals(const std::string& dir) {
  for (const ism::any_paradigm& kind : ism::paradigms().all())
    for (const index_t n : sizes) {
      const ism::interval_mask m = ism::make_interval_mask(multi_turn_layout(n), kind);
      std::vector<index_t> both(m.lo().begin(), m.lo().end());
      both.insert(both.end(), m.hi().begin(), m.hi().end());
      const std::string path = dir + "/" + std::string(kind.name()) + "-" + std::to_string(n) + ".npy";
      std::ofstream file(path, std::ios::binary);
      ism::write_npy(file, ism::make_npy_array<index_t>(both, {2, n}));
      if (!file) throw std::runtime_error("cannot write " + path);
    }
}

void register_all() {
  for (const ism::any_paradigm& kind : ism::paradigms().all())
    for (const index_t n : sizes)
      benchmark::RegisterBenchmark(
          ("forward/" + std::string(kind.name()) + "/N:" + std::to_string(n) + "/d:128").c_str(),
          [kind, n](benchmark::State& state) { forward(state, kind, n); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  for (const index_t n : sizes)
    benchmark::RegisterBenchmark(("cublas_gemm/N:" + std::to_string(n) + "/d:128").c_str(),
                                 [n](benchmark::State& state) { cublas_gemm(state, n); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  constexpr std::string_view dump_flag = "--dump_intervals=";
  std::vector<char*> rest;
  try {
    for (int i = 0; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg.starts_with(dump_flag))
        dump_intervals(std::string(arg.substr(dump_flag.size())));
      else
        rest.push_back(argv[i]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ism_bench_cuda: %s\n", e.what());
    return 1;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("skipped: no CUDA device; ism_bench_cuda measures nothing without one\n");
    return skip_exit_code;
  }
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(count, rest.data())) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
