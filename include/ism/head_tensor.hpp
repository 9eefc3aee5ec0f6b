// The input tensor view of an attention: Q, K or V of one layer, every head,
// borrowed from the caller's buffer.
#pragma once

#include <cstddef>
#include <span>

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {

// A contiguous row-major tensor of shape (tokens, heads, dim): token, head,
// feature. "Row" is kept for a mask's query rows; a token of K is a column.
template <class T>
struct head_tensor {
  std::span<const T> data;
  index_t tokens = 0;
  index_t heads = 0;
  index_t dim = 0;

  const T& operator()(index_t t, index_t h, index_t d) const noexcept {
    return data[static_cast<std::size_t>((t * heads + h) * dim + d)];
  }
};

}  // namespace v0
}  // namespace ism
