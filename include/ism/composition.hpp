// Building masks outside the family from pieces: any callable (q, k) -> bool is
// a mask, and masks combine with and/or, the way FlexAttention's and_masks and
// or_masks combine mask_mods. An `and` of interval-backed masks is still
// interval-backed (the intersection of two intervals is an interval), so the
// fast dense path and interval exports keep working for, e.g., ISM under a
// sliding window.
#pragma once

#include <algorithm>
#include <concepts>
#include <string>
#include <type_traits>
#include <utility>

#include "ism/errors.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

// Wraps a callable (q, k) -> bool, e.g. a lambda, as a mask.
template <class F>
struct predicate_mask {
  F predicate;
  ISM_HOST_DEVICE bool visible(index_t q, index_t k) const { return predicate(q, k); }
};

template <class F>
predicate_mask(F) -> predicate_mask<F>;

// Keys at most `window - 1` positions behind the query; keys ahead of it are left
// to the mask it is combined with (ISM shows a query segment its later tokens),
// so its intervals end at unbounded_key.
class sliding_window {
 public:
  explicit sliding_window(index_t w) : window_(w) {
    if (w < 1)
      throw argument_error("sliding_window: window " + std::to_string(w) + " must be >= 1");
  }
  ISM_HOST_DEVICE index_t window() const noexcept { return window_; }
  ISM_HOST_DEVICE row_interval interval(index_t q) const noexcept {
    return {q - window_ + 1 < 0 ? 0 : q - window_ + 1, unbounded_key};
  }
  ISM_HOST_DEVICE bool visible(index_t q, index_t k) const noexcept { return k > q - window_; }

 private:
  index_t window_;  // >= 1, checked once so device code never has to
};

namespace detail {

template <class T>
auto as_mask(T m) {
  if constexpr (mask<T>)
    return m;
  else {
    static_assert(std::is_invocable_r_v<bool, const T&, index_t, index_t>,
                  "ism: and_masks/or_masks take masks (visible(q, k)) or callables (q, k) -> bool");
    return predicate_mask<T>{std::move(m)};
  }
}

template <class A, class B>
index_t common_size(const A& a, const B& b) {
  if constexpr (sized_mask<A> && sized_mask<B>)
    return std::min<index_t>(a.size(), b.size());
  else if constexpr (sized_mask<A>)
    return a.size();
  else
    return b.size();
}

}  // namespace detail

template <mask A, mask B>
struct and_mask {
  A a;
  B b;
  ISM_HOST_DEVICE bool visible(index_t q, index_t k) const {
    return a.visible(q, k) && b.visible(q, k);
  }
  ISM_HOST_DEVICE row_interval
  interval(index_t q) const requires interval_backed_mask<A> && interval_backed_mask<B> {
    const row_interval x = a.interval(q), y = b.interval(q);
    return {x.lo > y.lo ? x.lo : y.lo, x.hi < y.hi ? x.hi : y.hi};
  }
  index_t size() const requires sized_mask<A> || sized_mask<B> { return detail::common_size(a, b); }
};

template <mask A, mask B>
struct or_mask {
  A a;
  B b;
  ISM_HOST_DEVICE bool visible(index_t q, index_t k) const {
    return a.visible(q, k) || b.visible(q, k);
  }
  index_t size() const requires sized_mask<A> || sized_mask<B> { return detail::common_size(a, b); }
};

// and_masks(m1, m2, ...) sees (q, k) when every operand does; or_masks when any does.
template <class First, class... Rest>
auto and_masks(First first, Rest... rest) {
  if constexpr (sizeof...(Rest) == 0)
    return detail::as_mask(std::move(first));
  else {
    auto head = detail::as_mask(std::move(first));
    auto tail = and_masks(std::move(rest)...);
    return and_mask<decltype(head), decltype(tail)>{std::move(head), std::move(tail)};
  }
}

template <class First, class... Rest>
auto or_masks(First first, Rest... rest) {
  if constexpr (sizeof...(Rest) == 0)
    return detail::as_mask(std::move(first));
  else {
    auto head = detail::as_mask(std::move(first));
    auto tail = or_masks(std::move(rest)...);
    return or_mask<decltype(head), decltype(tail)>{std::move(head), std::move(tail)};
  }
}

}  // namespace v0
}  // namespace ism
