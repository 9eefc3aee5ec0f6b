// The interval mask and its on-the-fly view: construction errors, empty rows,
// pair counts, monotonicity, the view against the oracle, to_interval_mask.
#include <doctest/doctest.h>

#include <ism/interval_mask.hpp>
#include <ism/interval_view.hpp>
#include <ism/paradigms.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;

static_assert(std::is_trivially_copyable_v<ism::interval_view>,
              "kernels capture the view by value");
static_assert(std::is_trivially_copyable_v<ism::row_interval>);
static_assert(ism::mask<ism::interval_mask> && ism::interval_backed_mask<ism::interval_mask> &&
              ism::sized_mask<ism::interval_mask>);
static_assert(ism::mask<ism::interval_view> && ism::interval_backed_mask<ism::interval_view> &&
              ism::sized_mask<ism::interval_view>);
static_assert(!ism::mask<int>);
static_assert(ism::row_interval{2, 5}.contains(2) && ism::row_interval{2, 5}.contains(5) &&
              !ism::row_interval{2, 5}.contains(6) && !ism::row_interval{2, 5}.contains(1));
static_assert(ism::row_interval{3, 2}.empty() && !ism::row_interval{3, 3}.empty());

// A causal mask of n rows that records any question about a row it does not have.
struct probe_mask {
  index_t n;
  bool* strayed;
  index_t size() const { return n; }
  ism::row_interval interval(index_t q) const {
    if (q < 0 || q >= n) *strayed = true;
    return {0, q};
  }
  bool visible(index_t q, index_t k) const { return interval(q).contains(k); }
};
static_assert(ism::interval_backed_mask<probe_mask> && ism::sized_mask<probe_mask>);

}  // namespace

TEST_CASE("row_interval: clamp keeps the keys of a half-open range") {
  using ism::row_interval;
  static_assert(ism::clamp({3, 7}, 0, 10) == row_interval{3, 7});
  static_assert(ism::clamp({3, 7}, 5, 6) == row_interval{5, 5});
  static_assert(ism::clamp({-4, 2}, 0, 10) == row_interval{0, 2});
  // No keys in common, and a row that was already empty: the canonical empty row.
  static_assert(ism::clamp({3, 7}, 8, 10) == row_interval{10, 9});
  static_assert(ism::clamp({0, 2}, 3, 10) == row_interval{10, 9});
  static_assert(ism::clamp({6, 5}, 0, 10) == row_interval{10, 9});
  static_assert(ism::clamp({3, 7}, 4, 4) == row_interval{4, 3});
  static_assert(ism::clamp({0, 0}, 0, 0) == row_interval{0, -1});
  // Upper ends at the largest keys do not overflow.
  static_assert(ism::clamp({2, ism::unbounded_key}, 0, 10) == row_interval{2, 9});
  static_assert(ism::clamp({2, ism::max_index}, 0, ism::max_index) ==
                row_interval{2, ism::max_index - 1});
  static_assert(ism::clamp({ism::max_index, ism::max_index}, 0, ism::max_index).empty());
}

TEST_CASE("interval_mask: a hand-written mask") {
  // Row 1 is empty (lo > hi), however its bounds are spelled.
  const ism::interval_mask m({0, 7, 1, 0}, {1, -5, 3, 3});
  CHECK(m.size() == 4);
  CHECK(m.visible(0, 0));
  CHECK(m.visible(0, 1));
  CHECK_FALSE(m.visible(0, 2));
  for (index_t k = -10; k < 10; ++k) CHECK_FALSE(m.visible(1, k));
  CHECK(m.interval(1).empty());
  CHECK(m.interval(2) == ism::row_interval{1, 3});
  CHECK(m.visible_pairs() == 2 + 0 + 3 + 4);
  CHECK_FALSE(m.monotone());  // lo falls from 7 to 1, hi from 1 to -5
  CHECK(ism::interval_mask({0, 0, 1}, {0, 2, 2}).monotone());
  CHECK(ism::interval_mask().size() == 0);
  CHECK(ism::interval_mask().visible_pairs() == 0);
  CHECK(ism::interval_mask().monotone());
}

TEST_CASE("interval_mask: constructor errors") {
  CHECK_THROWS_AS(ism::interval_mask({0, 0}, {0}), ism::shape_error);
  CHECK_THROWS_WITH(ism::interval_mask({0, 0}, {0}),
                    doctest::Contains("lo has 2 rows but hi has 1"));
  CHECK_THROWS_AS(ism::interval_mask({0, -1}, {0, 1}), ism::argument_error);
  CHECK_THROWS_WITH(ism::interval_mask({0, -1}, {0, 1}), doctest::Contains("row 1"));
  CHECK_THROWS_AS(ism::interval_mask({0, 0}, {0, 2}), ism::argument_error);
  CHECK_THROWS_WITH(ism::interval_mask({0, 0}, {0, 2}),
                    doctest::Contains("outside the keys [0, 2)"));
  // An empty row may carry any bounds.
  CHECK_NOTHROW(ism::interval_mask({5, 100}, {4, -100}));
}

TEST_CASE("interval_mask: the view answers like the oracle") {
  random_layouts::for_random_layouts(8000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm([&](auto policy, std::string_view name, const ism::any_paradigm&) {
      CAPTURE(name);
      const ism::interval_mask m = ism::make_interval_mask(l, policy);
      const ism::interval_view v = m.view();  // copied by value, like a kernel argument
      const oracle::mask om = oracle::mask_of(name, o);
      CHECK(v.size() == o.size());
      CHECK(v.lo == m.lo().data());
      std::string mismatch;
      for (index_t q = 0; q < o.size(); ++q) {
        if (v.interval(q) != m.interval(q)) mismatch += "interval " + std::to_string(q) + "; ";
        for (index_t k = -1; k <= o.size(); ++k)  // one key beyond each end
          if (v.visible(q, k) != (k >= 0 && k < o.size() && om.visible(q, k)))
            mismatch += "(" + std::to_string(q) + "," + std::to_string(k) + ") ";
      }
      CHECK(mismatch == "");
    });
  });
}

TEST_CASE("interval_mask: to_interval_mask copies, clamps and canonicalizes") {
  const ism::interval_mask m({0, 7, 1, 0}, {1, -5, 3, 3});
  SUBCASE("an interval mask round-trips except for the spelling of empty rows") {
    const ism::interval_mask copy = ism::to_interval_mask(m, m.size());
    CHECK(copy.interval(0) == m.interval(0));
    CHECK(copy.interval(1) == ism::row_interval{4, 3});  // the canonical empty row
    CHECK(copy.interval(2) == m.interval(2));
    CHECK(copy.interval(3) == m.interval(3));
  }
  SUBCASE("fewer rows clamp the keys too") {
    const ism::interval_mask top = ism::to_interval_mask(m, 3);
    CHECK(top.size() == 3);
    CHECK(top.interval(2) == ism::row_interval{1, 2});
  }
  SUBCASE("zero rows") {
    CHECK(ism::to_interval_mask(m, 0).size() == 0);
  }
  SUBCASE("negative rows") {
    CHECK_THROWS_AS(ism::to_interval_mask(m, -1), ism::argument_error);
    CHECK_THROWS_WITH(ism::to_interval_mask(m, -1), doctest::Contains("-1"));
  }
  SUBCASE("random paradigm masks are fixed points") {
    random_layouts::for_random_layouts(9000, 200, [](auto&, const oracle::declared_layout& d) {
      const ism::layout l(d);
      for (const ism::any_paradigm& kind : ism::paradigms().all()) {
        const ism::interval_mask p = ism::make_interval_mask(l, kind);
        CHECK(ism::to_interval_mask(p, p.size()) == p);
        CHECK(ism::to_interval_mask(p.view(), p.size()) == p);
      }
    });
  }
}

TEST_CASE("interval_mask: to_interval_mask of a sized mask over more rows than it has") {
  // dense_mask rejects a chunk past a sized mask's rows with shape_error;
  // to_interval_mask(m, n) with n > m.size() asks m for rows it does not have
  // (for an interval_mask: an out-of-bounds read once NDEBUG drops ISM_ASSERT).
  bool strayed = false;
  const probe_mask m{3, &strayed};
  CHECK_NOTHROW(ism::to_interval_mask(m, 3));
  CHECK_FALSE(strayed);
  CHECK_THROWS_AS(ism::to_interval_mask(m, 5), ism::shape_error);
  CHECK_FALSE(strayed);
}
