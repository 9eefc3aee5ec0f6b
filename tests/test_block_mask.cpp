// Block masks: every tile's class against brute force over all its pairs, for the
// four paradigms on random layouts, chunks, ragged tails, block sizes, custom
// interval masks that are not monotone, and predicate masks; the transposed lists
// and the view's lookups; incremental appends against fresh builds; the
// fingerprint that tells the mask a block mask was built from; errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <ism/block_mask.hpp>
#include <ism/any_paradigm.hpp>
#include <ism/block_mask_view.hpp>
#include <ism/composition.hpp>
#include <ism/incremental_block_mask.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <ism/segment_function.hpp>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::block_class;
using ism::index_t;

// The class of tile [t.q0, t.q1) x [t.k0, t.k1) by visiting every pair of a full
// bq x bk tile: positions outside the chunk count as hidden (docs/semantics.md#block-classification).
template <class Visible>
block_class brute_force_class(Visible&& visible, const ism::chunk& c, index_t q0, index_t k0,
                              index_t bq, index_t bk) {
  bool any = false, all = true;
  for (index_t q = q0; q < q0 + bq; ++q)
    for (index_t k = k0; k < k0 + bk; ++k) {
      const bool v = q < c.q1 && k < c.k1 && visible(q, k);
      any = any || v;
      all = all && v;
    }
  return all ? block_class::full : any ? block_class::partial : block_class::empty;
}

std::string show(block_class c) {
  return c == block_class::full ? "full" : c == block_class::partial ? "partial" : "empty";
}

static_assert(std::is_trivially_copyable_v<ism::block_mask_view>);

std::vector<index_t> as_vector(std::span<const ism::block_index> list) {
  return {list.begin(), list.end()};
}
std::vector<index_t> as_vector(ism::block_list list) {
  return {list.begin(), list.end()};
}

// The view's lookups give what the block mask's own accessors give.
void check_view(const ism::block_mask& b) {
  const ism::block_mask_view v = b.view();
  REQUIRE(v.query_blocks() == b.query_blocks());
  REQUIRE(v.key_blocks() == b.key_blocks());
  for (index_t qb = 0; qb < b.query_blocks(); ++qb) {
    CHECK(as_vector(v.full_key_blocks(qb)) == as_vector(b.full_key_blocks(qb)));
    CHECK(as_vector(v.partial_key_blocks(qb)) == as_vector(b.partial_key_blocks(qb)));
    for (index_t kb = 0; kb < b.key_blocks(); ++kb) CHECK(v.tile(qb, kb) == b.tile(qb, kb));
  }
  for (index_t kb = 0; kb < b.key_blocks(); ++kb) {
    CHECK(as_vector(v.full_query_blocks(kb)) == as_vector(b.full_query_blocks(kb)));
    CHECK(as_vector(v.partial_query_blocks(kb)) == as_vector(b.partial_query_blocks(kb)));
  }
}

// Compares b with brute force tile by tile and checks the lists' invariants.
template <class Visible>
void check_against_brute_force(const ism::block_mask& b, Visible&& visible) {
  const ism::chunk& c = b.range();
  const index_t bq = b.block_size().q, bk = b.block_size().k;
  REQUIRE(b.query_blocks() == (c.rows() + bq - 1) / bq);
  REQUIRE(b.key_blocks() == (c.cols() + bk - 1) / bk);
  index_t full = 0, partial = 0;
  std::vector<std::vector<index_t>> full_t(static_cast<std::size_t>(b.key_blocks()));
  std::vector<std::vector<index_t>> partial_t(full_t.size());
  for (index_t qb = 0; qb < b.query_blocks(); ++qb) {
    std::vector<index_t> expected_full, expected_partial;
    for (index_t kb = 0; kb < b.key_blocks(); ++kb) {
      const block_class expected =
          brute_force_class(visible, c, c.q0 + qb * bq, c.k0 + kb * bk, bq, bk);
      CAPTURE(qb);
      CAPTURE(kb);
      REQUIRE(show(b.classify(qb, kb)) == show(expected));
      if (expected == block_class::full) expected_full.push_back(kb), full_t[kb].push_back(qb);
      if (expected == block_class::partial)
        expected_partial.push_back(kb), partial_t[kb].push_back(qb);
    }
    const auto f = b.full_key_blocks(qb), p = b.partial_key_blocks(qb);
    CHECK(std::vector<index_t>(f.begin(), f.end()) == expected_full);
    CHECK(std::vector<index_t>(p.begin(), p.end()) == expected_partial);
    full += static_cast<index_t>(expected_full.size());
    partial += static_cast<index_t>(expected_partial.size());
  }
  for (index_t kb = 0; kb < b.key_blocks(); ++kb) {
    const auto f = b.full_query_blocks(kb), p = b.partial_query_blocks(kb);
    CHECK(std::vector<index_t>(f.begin(), f.end()) == full_t[kb]);
    CHECK(std::vector<index_t>(p.begin(), p.end()) == partial_t[kb]);
  }
  CHECK(b.full_blocks() == full);
  CHECK(b.partial_blocks() == partial);
  CHECK(b.listed_blocks() == full + partial);
  check_view(b);
}

// Breaks its contract once a document holds a tool segment: it reaches one
// token past the document's end.
struct breaks_on_tool {
  static constexpr std::string_view name = "breaks-on-tool";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, t.segment.kind == ism::role::tool ? t.document.end : t.position};
  }
};

static_assert(ism::ceil_div(0, 4) == 0 && ism::ceil_div(8, 4) == 2 && ism::ceil_div(9, 4) == 3);
static_assert(ism::ceil_div(ism::max_index, ism::max_index) == 1);

// Rows [0, n) with random intervals of keys [0, n), each empty with chance `empty`.
struct random_rows {
  std::vector<index_t> lo, hi;
};
random_rows random_intervals(std::mt19937_64& rng, index_t n, double empty) {
  random_rows rows{std::vector<index_t>(static_cast<std::size_t>(n)),
                   std::vector<index_t>(static_cast<std::size_t>(n))};
  for (index_t q = 0; q < n; ++q) {
    rows.lo[q] = random_layouts::uniform(rng, 0, n - 1);
    rows.hi[q] = random_layouts::chance(rng, empty)
                     ? rows.lo[q] - 1
                     : random_layouts::uniform(rng, rows.lo[q], n - 1);
  }
  return rows;
}

// A paradigm that breaks its contract: every token sees one key past its document.
struct sees_next_document {
  static constexpr std::string_view name = "sees-next-document";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, t.document.end};
  }
};

ism::block_size random_block_size(std::mt19937_64& rng) {
  return {random_layouts::uniform(rng, 1, 9), random_layouts::uniform(rng, 1, 9)};
}

}  // namespace

TEST_CASE("a hand-drawn ISM block mask") {
  // Two documents: s:2,u:2,a:4 (tokens 0-7) and u:3,a:1 (tokens 8-11), blocks of 4.
  const auto m = ism::make_interval_mask<ism::intermittent>(
      ism::parse_layout("system:2,user:2,assistant:4|user:3,assistant:1"));
  const ism::block_mask b = ism::make_block_mask(m, ism::block_size{4, 4});
  // Query block 0 (system and user) sees key block 0 partly: system rows miss the
  // user's keys. Block 1 (the answer) sees block 0 whole and itself causally.
  // Block 2 (the second document) sees only itself, and its user rows miss key 11.
  CHECK(b.classify(0, 0) == block_class::partial);
  CHECK(b.classify(1, 0) == block_class::full);
  CHECK(b.classify(1, 1) == block_class::partial);
  CHECK(b.classify(2, 2) == block_class::partial);
  CHECK(b.classify(0, 1) == block_class::empty);
  CHECK(b.classify(2, 0) == block_class::empty);
  CHECK(b.listed_blocks() == 4);
  CHECK(b.full_query_blocks(0).size() == 1);
  CHECK(b.partial_query_blocks(0).size() == 1);
}

TEST_CASE("block masks of the four paradigms match brute force on random layouts and chunks") {
  random_layouts::for_random_layouts(
      0xb10c, 400, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout row(d);
        const oracle::row o = oracle::describe(d);
        random_layouts::for_each_paradigm([&](auto policy, const char* name, auto) {
          CAPTURE(name);
          const auto m = ism::make_interval_mask<decltype(policy)>(row);
          const auto visible = [&](index_t q, index_t k) { return oracle::visible(name, o, q, k); };
          const ism::block_size size = random_block_size(rng);
          CAPTURE(size.q);
          CAPTURE(size.k);
          check_against_brute_force(ism::make_block_mask(m, size), visible);
          const ism::chunk c = random_layouts::random_chunk(rng, row.size());
          CAPTURE(ism::to_string(c));
          check_against_brute_force(ism::make_block_mask(m, c, size), visible);
        });
      });
}

TEST_CASE("a block mask built from a layout equals the one built from its intervals") {
  random_layouts::for_random_layouts(
      0x1a70, 200, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout row(d);
        const ism::block_size size = random_block_size(rng);
        const ism::chunk c = random_layouts::random_chunk(rng, row.size());
        CAPTURE(ism::to_string(c));
        random_layouts::for_each_paradigm([&](auto policy, const char* name, const auto& kind) {
          CAPTURE(name);
          const auto m = ism::make_interval_mask(row, policy);
          CHECK(ism::make_block_mask(row, policy, size) == ism::make_block_mask(m, size));
          CHECK(ism::make_block_mask(row, kind, size) == ism::make_block_mask(m, size));
          CHECK(ism::make_block_mask(row, kind, c, size) == ism::make_block_mask(m, c, size));
        });
        const ism::any_paradigm tool = ism::paradigm_from_name("bidirectional-roles:tool");
        CHECK(ism::make_block_mask(row, tool, c, size) ==
              ism::make_block_mask(tool.intervals(row), c, size));
      });
  // Rows come a window at a time (16,384 rows of bounds): blocks that split a
  // window, blocks larger than one, chunks that start inside a window.
  std::string text;
  for (int conversation = 0; conversation < 12; ++conversation)
    text += std::string(conversation ? " | " : "") +
            "system:300,user:1700,assistant:900,user:37,assistant:2011,tool:5,assistant:17";
  const ism::layout row = ism::parse_layout(text);
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(row);
  for (const ism::block_size size : {ism::block_size{1, 1}, ism::block_size{7, 128},
                                     ism::block_size{128, 64}, ism::block_size{20000, 3}}) {
    CAPTURE(ism::to_string(size));
    CHECK(ism::make_block_mask(row, ism::intermittent{}, size) == ism::make_block_mask(m, size));
    const ism::chunk c{5000, 41000, 0, 39000};
    CHECK(ism::make_block_mask(row, ism::paradigm_from_name("ism"), c, size) ==
          ism::make_block_mask(m, c, size));
  }
  // Attention accepts a block mask built from a layout with the layout's intervals.
  ism::make_block_mask(row, ism::intermittent{}).check_built_from(m, "test");
}

TEST_CASE("compile-time block sizes give the same mask as run-time ones") {
  const auto m = ism::make_interval_mask<ism::intermittent>(
      ism::parse_layout("system:6,user:5,assistant:7,user:3,assistant:4|user:4,assistant:2"));
  CHECK(ism::make_block_mask(m, ism::fixed_block_size<4, 3>{}) ==
        ism::make_block_mask(m, ism::block_size{4, 3}));
  static_assert(ism::fixed_block_size<64>::k == 64);
  static_assert(ism::block_shape<ism::fixed_block_size<8, 16>>);
  CHECK(ism::block_size{} == ism::block_size{128, 128});
}

TEST_CASE("interval masks that are not monotone classify exactly") {
  // Rows see scattered intervals, some empty, so the union of a block's rows has
  // gaps and arrives out of order.
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    std::mt19937_64 rng(seed);
    const index_t n = random_layouts::uniform(rng, 1, 40);
    const random_rows rows = random_intervals(rng, n, 0.15);
    const std::vector<index_t>& lo = rows.lo;
    const std::vector<index_t>& hi = rows.hi;
    const ism::interval_mask m(lo, hi);
    CAPTURE(seed);
    const auto visible = [&](index_t q, index_t k) { return lo[q] <= k && k <= hi[q]; };
    const ism::block_size size = random_block_size(rng);
    check_against_brute_force(ism::make_block_mask(m, size), visible);
    check_against_brute_force(ism::make_block_mask(m, random_layouts::random_chunk(rng, n), size),
                              visible);
  }
}

TEST_CASE("predicate masks and compositions classify exactly") {
  const auto m = ism::make_interval_mask<ism::intermittent>(
      ism::parse_layout("system:5,user:7,assistant:9,user:4,assistant:6|user:8,assistant:5"));
  const index_t n = m.size();
  const auto checker = [](index_t q, index_t k) { return (q * 7 + k * 3) % 5 != 0; };
  const auto lower_half = [](index_t q, index_t k) { return k <= q / 2; };
  const auto m_visible = [&](index_t q, index_t k) { return m.visible(q, k); };
  for (const ism::block_size size : {ism::block_size{4, 4}, ism::block_size{3, 7},
                                     ism::block_size{1, 1}, ism::block_size{16, 5}}) {
    CAPTURE(size.q);
    CAPTURE(size.k);
    SUBCASE("a bare predicate") {
      check_against_brute_force(
          ism::make_block_mask(ism::predicate_mask{checker}, ism::chunk{0, n, 0, n}, size),
          checker);
    }
    SUBCASE("ISM and a predicate: evaluated only where ISM reaches") {
      check_against_brute_force(
          ism::make_block_mask(ism::and_masks(m, checker), ism::whole(n), size),
          [&](index_t q, index_t k) { return m_visible(q, k) && checker(q, k); });
    }
    SUBCASE("ISM or a predicate") {
      check_against_brute_force(
          ism::make_block_mask(ism::or_masks(m, lower_half), ism::whole(n), size),
          [&](index_t q, index_t k) { return m_visible(q, k) || lower_half(q, k); });
    }
    SUBCASE("ISM under a sliding window stays interval-backed") {
      const auto windowed = ism::and_masks(m, ism::sliding_window(6));
      static_assert(ism::interval_backed_mask<decltype(windowed)>);
      check_against_brute_force(ism::make_block_mask(windowed, ism::chunk{3, n, 2, n - 1}, size),
                                [&](index_t q, index_t k) { return windowed.visible(q, k); });
    }
  }
}

TEST_CASE("the candidate tiles of a composition are those its interval parts reach") {
  const auto m = ism::make_interval_mask<ism::causal>(ism::parse_layout("user:8|user:8"));
  const ism::block_grid grid(ism::whole(16), ism::block_size{4, 4});
  const auto always = [](index_t, index_t) { return true; };
  using runs = std::vector<ism::block_run>;
  CHECK(ism::candidate_runs(ism::and_masks(m, always), grid, 3) == runs{{2, 4}});
  CHECK(ism::candidate_runs(ism::predicate_mask{always}, grid, 3) == runs{{0, 4}});
  CHECK(ism::candidate_runs(ism::or_masks(m, m), grid, 1) == runs{{0, 2}});
}

TEST_CASE("appending turns updates a block mask to exactly a fresh build") {
  random_layouts::for_random_layouts(
      0xa99e4d, 250, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        random_layouts::for_each_paradigm([&](auto policy, const char* name, auto) {
          using P = decltype(policy);
          CAPTURE(name);
          const ism::block_size size = random_block_size(rng);
          CAPTURE(size.q);
          CAPTURE(size.k);
          oracle::declared_layout current = d;
          ism::incremental_block_mask<P> grown(ism::layout(current), size);
          for (int step = 0; step < 4; ++step) {
            current = random_layouts::extend(rng, current, random_layouts::any_extension(rng));
            CAPTURE(random_layouts::text(current));
            const ism::layout longer(current);
            grown.append(longer);
            const auto fresh = ism::make_interval_mask<P>(longer);
            // Equal lists, transposed lists and fingerprint.
            REQUIRE(grown.block_mask() == ism::make_block_mask(fresh, size));
            CHECK(grown.block_mask().fingerprint() ==
                  ism::make_fingerprint(fresh, ism::whole(longer.size())));
            CHECK_NOTHROW(grown.block_mask().check_built_from(fresh, "append"));
            REQUIRE(grown.sequence() == longer);
            CHECK(ism::to_interval_mask(grown.intervals(), longer.size()) == fresh);
          }
        });
      });
}

TEST_CASE("an ISM turn leaves the query blocks before it untouched") {
  // 8 tokens in blocks of 4: both old query blocks are complete and no old row
  // changes, so their lists are the same objects' contents afterwards.
  ism::incremental_block_mask<ism::intermittent> grown(ism::parse_layout("user:4,assistant:4"),
                                                       ism::block_size{4, 4});
  const ism::block_mask before = grown.block_mask();
  grown.append(ism::parse_layout("user:4,assistant:4,user:3,assistant:5"));
  for (index_t qb = 0; qb < 2; ++qb) {
    CHECK(std::ranges::equal(grown.block_mask().full_key_blocks(qb), before.full_key_blocks(qb)));
    CHECK(std::ranges::equal(grown.block_mask().partial_key_blocks(qb), before.partial_key_blocks(qb)));
  }
  CHECK(grown.block_mask().query_blocks() == 4);
}

TEST_CASE("a block mask refuses a mask it was not built from") {
  const ism::layout l = ism::parse_layout("system:5,user:7,assistant:9|user:8,assistant:5");
  const auto causal = ism::make_interval_mask<ism::causal>(l);
  const auto bidirectional = ism::make_interval_mask<ism::bidirectional>(l);
  const ism::block_mask blocks = ism::make_block_mask(causal, ism::block_size{4, 4});
  CHECK_NOTHROW(blocks.check_built_from(causal, "test"));
  CHECK_NOTHROW(blocks.check_built_from(causal.view(), "test"));
  CHECK_THROWS_WITH_AS(blocks.check_built_from(bidirectional, "test"),
                       "test: the block mask of chunk [0, 34) x [0, 34) was built from another "
                       "mask than the one given",
                       ism::block_mask_mismatch);
  // A chunk is fingerprinted over its own rows and keys only.
  const ism::chunk late{21, 34, 21, 34};
  const auto late_blocks = ism::make_block_mask(causal, late, ism::block_size{4, 4});
  CHECK_NOTHROW(late_blocks.check_built_from(causal, "test"));
  CHECK_THROWS_AS(late_blocks.check_built_from(bidirectional, "test"), ism::block_mask_mismatch);
  // One changed row is enough.
  std::vector<index_t> lo(causal.lo().begin(), causal.lo().end());
  std::vector<index_t> hi(causal.hi().begin(), causal.hi().end());
  hi[26] -= 1;
  CHECK_THROWS_AS(blocks.check_built_from(ism::interval_mask(lo, hi), "test"),
                  ism::block_mask_mismatch);

  SUBCASE("masks that differ only inside partial tiles") {
    // ISM and causal list the same tiles here, so only the fingerprint tells them apart.
    const ism::layout short_turn = ism::parse_layout("user:2,assistant:6");
    const auto m = ism::make_interval_mask<ism::intermittent>(short_turn);
    const auto c = ism::make_interval_mask<ism::causal>(short_turn);
    const auto ism_blocks = ism::make_block_mask(m, ism::block_size{4, 4});
    const auto causal_blocks = ism::make_block_mask(c, ism::block_size{4, 4});
    for (index_t qb = 0; qb < 2; ++qb) {
      CHECK(as_vector(ism_blocks.full_key_blocks(qb)) == as_vector(causal_blocks.full_key_blocks(qb)));
      CHECK(as_vector(ism_blocks.partial_key_blocks(qb)) ==
            as_vector(causal_blocks.partial_key_blocks(qb)));
    }
    CHECK_FALSE(ism_blocks == causal_blocks);
    CHECK_THROWS_AS(ism_blocks.check_built_from(c, "test"), ism::block_mask_mismatch);
  }

  SUBCASE("predicate masks are checked at sampled pairs") {
    const auto checker = [](index_t q, index_t k) { return (q * 7 + k * 3) % 5 != 0; };
    const auto other = [](index_t q, index_t k) { return (q * 7 + k * 3) % 5 != 1; };
    const ism::chunk c{0, 34, 0, 34};
    const auto predicate_blocks =
        ism::make_block_mask(ism::predicate_mask{checker}, c, ism::block_size{8, 8});
    CHECK_NOTHROW(predicate_blocks.check_built_from(ism::predicate_mask{checker}, "test"));
    CHECK_THROWS_AS(predicate_blocks.check_built_from(ism::predicate_mask{other}, "test"),
                    ism::block_mask_mismatch);
    CHECK_THROWS_AS(predicate_blocks.check_built_from(causal, "test"), ism::block_mask_mismatch);
  }

  SUBCASE("an interval mask and a predicate of the same pairs agree") {
    const auto same_pairs = ism::predicate_mask{[&](index_t q, index_t k) { return causal.visible(q, k); }};
    CHECK_NOTHROW(blocks.check_built_from(same_pairs, "test"));
    CHECK_NOTHROW(ism::make_block_mask(same_pairs, ism::whole(34), ism::block_size{4, 4})
                      .check_built_from(causal, "test"));
  }

  SUBCASE("a mask too short for the chunk is a shape error") {
    const auto short_mask = ism::make_interval_mask<ism::causal>(ism::parse_layout("user:4"));
    CHECK_THROWS_AS(blocks.check_built_from(short_mask, "test"), ism::shape_error);
  }
}

TEST_CASE("the fingerprint notices any one changed row of a random interval mask") {
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    std::mt19937_64 rng(seed);
    const index_t n = random_layouts::uniform(rng, 1, 40);
    auto [lo, hi] = random_intervals(rng, n, 0.0);
    const ism::block_mask blocks =
        ism::make_block_mask(ism::interval_mask(lo, hi), random_block_size(rng));
    const index_t q = random_layouts::uniform(rng, 0, n - 1);
    if (random_layouts::chance(rng, 0.5))
      lo[q] = lo[q] == 0 ? 1 : lo[q] - 1;
    else
      hi[q] = hi[q] == n - 1 ? hi[q] - 1 : hi[q] + 1;
    CAPTURE(seed);
    CHECK_THROWS_AS(blocks.check_built_from(ism::interval_mask(lo, hi), "test"),
                    ism::block_mask_mismatch);
  }
}

TEST_CASE("the fingerprint's multiply is the same with and without __int128") {
  std::mt19937_64 rng(0xf01d);
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t a = rng(), b = i < 4 ? std::uint64_t{0} - static_cast<std::uint64_t>(i) : rng();
    CHECK(ism::detail::multiply_fold(a, b) == ism::detail::multiply_fold_portable(a, b));
  }
  static_assert(ism::detail::multiply_fold_portable(~std::uint64_t{0}, ~std::uint64_t{0}) ==
                (1 ^ (~std::uint64_t{0} - 1)));
}

TEST_CASE("a block mask from a layout refuses what the interval path refuses") {
  const ism::layout row = ism::parse_layout("user:4,assistant:4 | user:2,assistant:3");
  const ism::any_paradigm kind = ism::paradigm_from_name("ism");
  CHECK_THROWS_AS(ism::make_block_mask(row, kind, ism::block_size{0, 4}), ism::argument_error);
  CHECK_THROWS_WITH_AS(ism::make_block_mask(row, kind, ism::chunk{0, 14, 0, 13}, ism::block_size{}),
                       doctest::Contains("leaves the mask's 13 positions"), ism::shape_error);
  CHECK_THROWS_WITH_AS(ism::make_block_mask(row, kind, ism::chunk{3, 2, 0, 8}, ism::block_size{}),
                       doctest::Contains("is not a pair of ranges"), ism::shape_error);
  // A paradigm that breaks its contract inside the chunk's rows.
  CHECK_THROWS_WITH_AS(ism::make_block_mask(row, sees_next_document{}, ism::block_size{4, 4}),
                       doctest::Contains("paradigm 'sees-next-document' gives token 0"),
                       ism::paradigm_error);
  CHECK_THROWS_WITH_AS(
      ism::make_block_mask(row, ism::any_paradigm(sees_next_document{}),
                           ism::chunk{9, 11, 0, 13}, ism::block_size{4, 4}),
      doctest::Contains("gives token 9"), ism::paradigm_error);
}

TEST_CASE("block mask errors name the problem") {
  const auto m = ism::make_interval_mask<ism::causal>(ism::parse_layout("user:4,assistant:4"));
  const auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    FAIL("expected an exception");
    return {};
  };
  CHECK_THROWS_AS(ism::make_block_mask(m, ism::block_size{0, 4}), ism::argument_error);
  CHECK(contains(message([&] {
                   ism::make_block_mask(m, ism::block_size{4, -2});
                 }),
                 "block size 4 x -2 must be at least 1 x 1"));
  CHECK_THROWS_AS(ism::make_block_mask(m, ism::chunk{0, 9, 0, 8}, ism::block_size{}),
                  ism::shape_error);
  CHECK(contains(message([&] {
                   ism::make_block_mask(m, ism::chunk{3, 2, 0, 8}, ism::block_size{});
                 }),
                 "is not a pair of ranges"));
  CHECK(contains(message([&] {
                   ism::make_block_mask(ism::predicate_mask{[](index_t, index_t) { return true; }},
                                        ism::chunk{0, index_t{1} << 40, 0, 4},
                                        ism::block_size{1, 1});
                 }),
                 "more blocks than int32 counts"));
  // Block sizes and positions near the largest index_t: counts and tile ends
  // must not overflow.
  const ism::block_mask huge = ism::make_block_mask(
      m, ism::chunk{3, 8, 2, 8}, ism::block_size{ism::max_index, ism::max_index});
  CHECK(huge.query_blocks() == 1);
  CHECK(huge.key_blocks() == 1);
  CHECK(huge.classify(0, 0) == block_class::partial);
  CHECK(contains(message([] {
                   ism::make_block_mask(
                       ism::predicate_mask{[](index_t q, index_t k) { return k <= q; }},
                       ism::chunk{0, ism::max_index, 0, 1}, ism::block_size{});
                 }),
                 "more blocks than int32 counts"));
  const auto far =
      ism::or_masks(ism::sliding_window(4), [](index_t q, index_t k) { return k <= q; });
  const index_t end = ism::max_index;
  const ism::block_mask far_blocks =
      ism::make_block_mask(far, ism::chunk{end - 5, end, end - 3, end}, ism::block_size{});
  CHECK(far_blocks.classify(0, 0) == block_class::partial);
  // A block far taller than the mask costs what the mask has, not what the block could hold.
  CHECK(ism::make_block_mask(m, ism::block_size{index_t{1} << 31, 1}).query_blocks() == 1);

  ism::incremental_block_mask<ism::intermittent> grown(ism::parse_layout("user:4,assistant:4"));
  const ism::block_mask before = grown.block_mask();
  CHECK_THROWS_AS(grown.append(ism::parse_layout("user:4,assistant:3")), ism::layout_error);
  CHECK_THROWS_AS(grown.append(ism::parse_layout("user:4|assistant:4")), ism::layout_error);
  CHECK(grown.block_mask() == before);
  CHECK(grown.sequence() == ism::parse_layout("user:4,assistant:4"));

  ism::incremental_block_mask<breaks_on_tool> broken(ism::parse_layout("user:4,assistant:4"),
                                                     ism::block_size{2, 2});
  const ism::block_mask kept = broken.block_mask();
  CHECK(contains(message([&] { broken.append(ism::parse_layout("user:4,assistant:4,tool:2")); }),
                 "paradigm 'breaks-on-tool' gives token 8 the interval [0, 10]"));
  CHECK(broken.block_mask() == kept);
  CHECK(broken.sequence() == ism::parse_layout("user:4,assistant:4"));
  CHECK(broken.intervals().size() == 8);
}
