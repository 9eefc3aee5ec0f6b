// The mask concepts. A mask is any small value answering visible(q, k) for
// absolute positions q (query) and k (key). Representations (dense, on-the-fly,
// block-sparse) accept any mask; the ones that also know each row's interval
// get fast paths that skip element-wise work.
#pragma once

#include <concepts>

#include "ism/config.hpp"
#include "ism/row_interval.hpp"

namespace ism {
inline namespace v0 {

template <class M>
concept mask = std::copy_constructible<M> && requires(const M& m, index_t q, index_t k) {
  { m.visible(q, k) } -> std::convertible_to<bool>;
};

// Row q sees exactly the keys in interval(q).
template <class M>
concept interval_backed_mask = mask<M> && requires(const M& m, index_t q) {
  { m.interval(q) } -> std::same_as<row_interval>;
};

// Defined for rows [0, size()); the dense and attention routines check chunks
// against it. Predicate masks without a size accept any position.
template <class M>
concept sized_mask = mask<M> && requires(const M& m) {
  { m.size() } -> std::convertible_to<index_t>;
};

}  // namespace v0
}  // namespace ism
