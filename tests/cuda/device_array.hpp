// Device memory for the CUDA tests: an array freed with its owner, copied to
// and from host vectors, a block mask's lists on the device, and the check
// that turns a failed runtime call into an exception naming the call.
#pragma once

#include <cuda_runtime.h>

#include <ism/block_mask_view.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace cuda_tests {

inline void require_success(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// n elements of device memory, freed with the object.
template <class T>
class device_array {
 public:
  explicit device_array(std::size_t n) : size_(n) {
    require_success(cudaMalloc(&data_, bytes() == 0 ? 1 : bytes()), "cudaMalloc");
  }
  explicit device_array(const std::vector<T>& host) : device_array(host.size()) {
    require_success(cudaMemcpy(data_, host.data(), bytes(), cudaMemcpyHostToDevice),
                    "cudaMemcpy to device");
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
  ~device_array() { cudaFree(data_); }

  T* data() const { return data_; }
  std::vector<T> to_host() const {
    std::vector<T> host(size_);
    require_success(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost),
                    "cudaMemcpy to host");
    return host;
  }

 private:
  std::size_t bytes() const { return size_ * sizeof(T); }
  T* data_ = nullptr;
  std::size_t size_;
};

// One direction of a block mask's lists, copied to the device.
struct device_csr {
  ism::index_t lists;
  device_array<ism::index_t> offsets;
  device_array<ism::block_index> indices;

  explicit device_csr(ism::block_csr host)
      : lists(host.lists),
        offsets(std::vector<ism::index_t>(host.offsets, host.offsets + host.lists + 1)),
        indices(std::vector<ism::block_index>(host.indices, host.indices + host.offsets[host.lists])) {}
  ism::block_csr view() const { return {offsets.data(), indices.data(), lists}; }
};

// A block mask's four lists copied to the device, and the view of them a
// kernel takes.
struct device_block_mask {
  ism::block_grid grid;
  device_csr full_keys, partial_keys, full_queries, partial_queries;

  explicit device_block_mask(const ism::block_mask_view& host)
      : grid(host.grid),
        full_keys(host.full_keys),
        partial_keys(host.partial_keys),
        full_queries(host.full_queries),
        partial_queries(host.partial_queries) {}
  ism::block_mask_view view() const {
    return {grid, full_keys.view(), partial_keys.view(), full_queries.view(),
            partial_queries.view()};
  }
};

}  // namespace cuda_tests
