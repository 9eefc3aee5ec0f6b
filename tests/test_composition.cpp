// Composition: and_masks/or_masks of masks and callables, sliding windows, and the
// concept facts that decide which fast paths a composition keeps.
#include <doctest/doctest.h>

#include <ism/composition.hpp>
#include <ism/dense_mask.hpp>
#include <ism/paradigms.hpp>
#include <string>
#include <string_view>
#include <type_traits>

#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;

bool window_visible(index_t w, index_t q, index_t k) {
  return q - k < w;
}

// Every (q, k) of dense where dense(q - c.q0, k - c.k0) != expected(q, k).
template <class Expected>
std::string dense_mismatch(const ism::dense_bool_mask& dense, const ism::chunk& c,
                           Expected&& expected) {
  if (dense.rows() != c.rows() || dense.cols() != c.cols()) return "shape";
  std::string out;
  for (index_t q = c.q0; q < c.q1; ++q)
    for (index_t k = c.k0; k < c.k1; ++k)
      if (dense(q - c.q0, k - c.k0) != expected(q, k))
        out += "(" + std::to_string(q) + "," + std::to_string(k) + ") ";
  return out;
}

struct every_even_key {
  bool operator()(index_t, index_t k) const { return k % 2 == 0; }
};
using ism_and_window = decltype(ism::and_masks(ism::interval_mask{}, ism::sliding_window(1)));
using ism_or_window = decltype(ism::or_masks(ism::interval_mask{}, ism::sliding_window(1)));
using ism_and_lambda = decltype(ism::and_masks(ism::interval_mask{}, every_even_key{}));
using views_and = decltype(ism::and_masks(ism::interval_view{}, ism::interval_view{}));
using three_and =
    decltype(ism::and_masks(ism::interval_mask{}, ism::sliding_window(1), ism::interval_view{}));
using window_and_lambda = decltype(ism::and_masks(ism::sliding_window(1), every_even_key{}));

// and of interval-backed masks stays interval-backed; or, or any lambda, does not.
static_assert(ism::interval_backed_mask<ism_and_window>);
static_assert(ism::interval_backed_mask<views_and>);
static_assert(ism::interval_backed_mask<three_and>);
static_assert(ism::mask<ism_or_window> && !ism::interval_backed_mask<ism_or_window>);
static_assert(ism::mask<ism_and_lambda> && !ism::interval_backed_mask<ism_and_lambda>);
// A size comes from any sized operand; a window and a lambda have none.
static_assert(ism::sized_mask<ism_and_window> && ism::sized_mask<ism_or_window>);
static_assert(ism::sized_mask<three_and>);
static_assert(!ism::sized_mask<window_and_lambda>);
static_assert(!ism::sized_mask<ism::sliding_window> &&
              ism::interval_backed_mask<ism::sliding_window>);
static_assert(ism::mask<ism::predicate_mask<every_even_key>>);
static_assert(!ism::interval_backed_mask<ism::predicate_mask<every_even_key>>);
// A lone callable becomes a predicate mask; a lone mask is returned unchanged.
static_assert(std::is_same_v<decltype(ism::and_masks(every_even_key{})),
                             ism::predicate_mask<every_even_key>>);
static_assert(std::is_same_v<decltype(ism::or_masks(ism::interval_mask{})), ism::interval_mask>);

}  // namespace

TEST_CASE("composition: sliding_window") {
  const ism::sliding_window w(3);
  CHECK(w.visible(5, 3));
  CHECK_FALSE(w.visible(5, 2));
  CHECK(w.visible(5, 9));  // keys ahead are left to the other operand
  CHECK(w.interval(5) == ism::row_interval{3, ism::unbounded_key});
  CHECK(w.interval(1) == ism::row_interval{0, ism::unbounded_key});
  // The end of the same range, written half-open, still fits index_t.
  static_assert(ism::unbounded_key + 1 == ism::max_index);
  CHECK(ism::sliding_window(1).visible(4, 4));
  CHECK_FALSE(ism::sliding_window(1).visible(4, 3));
  CHECK_THROWS_AS(ism::sliding_window(0), ism::argument_error);
  CHECK_THROWS_AS(ism::sliding_window(-2), ism::argument_error);
  CHECK_THROWS_WITH(ism::sliding_window(0), doctest::Contains("window 0 must be >= 1"));
  CHECK(w.window() == 3);
}

TEST_CASE("composition: and_masks with a sliding window equals the oracle AND the window") {
  random_layouts::for_random_layouts(
      10000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row o = oracle::describe(d);
        const index_t w = random_layouts::uniform(rng, 1, 8);
        CAPTURE(w);
        random_layouts::for_each_paradigm(
            [&](auto policy, std::string_view name, const ism::any_paradigm&) {
              CAPTURE(name);
              const ism::interval_mask m = ism::make_interval_mask(l, policy);
              const auto both = ism::and_masks(m, ism::sliding_window(w));
              const oracle::mask om = oracle::mask_of(name, o);
              const auto expected = [&](index_t q, index_t k) {
                return om.visible(q, k) && window_visible(w, q, k);
              };
              CHECK(both.size() == o.size());
              // visible() element by element and interval() row by row.
              std::string mismatch;
              for (index_t q = 0; q < o.size(); ++q) {
                const ism::row_interval r = both.interval(q);
                for (index_t k = 0; k < o.size(); ++k) {
                  if (both.visible(q, k) != expected(q, k) || r.contains(k) != expected(q, k))
                    mismatch += "(" + std::to_string(q) + "," + std::to_string(k) + ") ";
                }
              }
              CHECK(mismatch == "");
              // The dense fast path (interval-backed), whole and chunked.
              CHECK(dense_mismatch(ism::dense_mask(both), ism::whole(o.size()), expected) == "");
              const ism::chunk c = random_layouts::random_chunk(rng, o.size());
              CAPTURE(ism::to_string(c));
              CHECK(dense_mismatch(ism::dense_mask(both, c), c, expected) == "");
              // Materialized as intervals, it is the same mask.
              const ism::interval_mask materialized = ism::to_interval_mask(both, o.size());
              CHECK(ism::dense_mask(materialized) == ism::dense_mask(both));
              CHECK(materialized.monotone());
            });
      });
}

TEST_CASE("composition: or_masks with a lambda") {
  random_layouts::for_random_layouts(
      11000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row o = oracle::describe(d);
        const index_t stride = random_layouts::uniform(rng, 2, 5);
        // A "global token" pattern: every stride-th key is seen by everyone.
        const auto global = [stride](index_t, index_t k) { return k % stride == 0; };
        random_layouts::for_each_paradigm(
            [&](auto policy, std::string_view name, const ism::any_paradigm&) {
              CAPTURE(name);
              const auto either = ism::or_masks(ism::make_interval_mask(l, policy), global);
              const oracle::mask om = oracle::mask_of(name, o);
              const auto expected = [&](index_t q, index_t k) {
                return om.visible(q, k) || global(q, k);
              };
              CHECK(either.size() == o.size());
              CHECK(dense_mismatch(ism::dense_mask(either), ism::whole(o.size()), expected) == "");
              const ism::chunk c = random_layouts::random_chunk(rng, o.size());
              CAPTURE(ism::to_string(c));
              CHECK(dense_mismatch(ism::dense_mask(either, c), c, expected) == "");
            });
      });
}

TEST_CASE("composition: three operands and mixed callables") {
  const ism::layout l = ism::layout_builder{}.system(3).user(4).assistant(5).build();
  const oracle::row o = oracle::describe(l);
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  const auto no_diagonal = [](index_t q, index_t k) { return q != k; };
  const auto all = ism::and_masks(m, ism::sliding_window(4), no_diagonal);
  const auto any = ism::or_masks(ism::sliding_window(1), no_diagonal, m);
  for (index_t q = 0; q < o.size(); ++q)
    for (index_t k = 0; k < o.size(); ++k) {
      CAPTURE(q);
      CAPTURE(k);
      CHECK(all.visible(q, k) == (oracle::visible("ism", o, q, k) && q - k < 4 && q != k));
      CHECK(any.visible(q, k) == (q <= k || oracle::visible("ism", o, q, k)));
    }
  CHECK(all.size() == 12);
  CHECK(any.size() == 12);
}

TEST_CASE("composition: and of two interval masks of different sizes takes the smaller") {
  const ism::interval_mask small({0, 0}, {0, 1});
  const ism::interval_mask big({0, 0, 1}, {0, 1, 2});
  const auto both = ism::and_masks(small, big);
  CHECK(both.size() == 2);
  CHECK(ism::to_interval_mask(both, 2) == small);
  CHECK_THROWS_AS(ism::dense_mask(both, ism::chunk{0, 3, 0, 3}), ism::shape_error);
}

TEST_CASE("composition: an unsized composition accepts any non-negative chunk") {
  const auto m =
      ism::and_masks(ism::sliding_window(2), [](index_t q, index_t k) { return k <= q; });
  const ism::dense_bool_mask d = ism::dense_mask(m, ism::chunk{100, 103, 99, 103});
  // (3, 4): queries 100..102 against keys 99..102
  for (index_t q = 100; q < 103; ++q)
    for (index_t k = 99; k < 103; ++k) CHECK(d(q - 100, k - 99) == (k <= q && q - k < 2));
  CHECK_THROWS_AS(ism::dense_mask(m, ism::chunk{-1, 2, 0, 2}), ism::shape_error);
}
