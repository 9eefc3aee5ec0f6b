// The result of an attention: the output per token, head and feature, and the
// log-sum-exp per token and head, with which results over split keys merge.
#pragma once

#include <cstddef>
#include <vector>

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {

// An attention's result in the precision it was computed in: double for the
// reference, float for the tiled attention.
template <class T>
struct basic_attention_output {
  index_t tokens = 0;
  index_t heads = 0;
  index_t dim = 0;
  std::vector<T> output;  // (tokens, heads, dim)
  std::vector<T> lse;     // (tokens, heads): log-sum-exp of the scaled visible logits

  T out(index_t t, index_t h, index_t d) const {
    return output[static_cast<std::size_t>((t * heads + h) * dim + d)];
  }
  T log_sum_exp(index_t t, index_t h) const { return lse[static_cast<std::size_t>(t * heads + h)]; }
};

using attention_output = basic_attention_output<double>;

}  // namespace v0
}  // namespace ism
