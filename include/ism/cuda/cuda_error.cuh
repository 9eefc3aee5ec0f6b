// The error for what only the CUDA runtime can report: a launch it refused.
// Everything the host can check before a launch is an argument_error or a
// shape_error instead; device code reports nothing.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "ism/errors.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

class cuda_error : public ism::detail::basic_error<std::runtime_error> {
 public:
  using basic_error::basic_error;
};

// Throws cuda_error naming `what` when the launch just made failed. Reads the
// launch's own error only: no synchronization.
inline void check_launch(const char* what) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw cuda_error(std::string(what) + ": launch failed: " + cudaGetErrorString(status));
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
