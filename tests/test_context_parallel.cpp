// Context-parallel plans (context_parallel.hpp, sharding.hpp): every sharding
// is a permutation in rank-major order with its inverse, each rank's work
// equals what brute force counts from the oracle's dense mask, the balanced
// plan gives every rank its even quota of tokens and is no worse than the
// baselines, hand-checked small cases, and every error path; for a batch of
// rows, each row's sharding the same and the work summed, a batch of one the
// single-row plan exactly, and the joint deal within 2% of perfect.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <ism/context_parallel.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigm_registry.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;

constexpr std::uint64_t seed = random_layouts::default_seed + 13000;

// Work of rank r counted pair by pair: its rows' visible keys, and the key
// blocks holding a visible key of each block of its rows in its own order.
ism::rank_work brute_force_work(const std::vector<std::vector<bool>>& dense, const ism::sharding& s,
                                index_t r) {
  const auto tokens = s.tokens(r);
  ism::rank_work w;
  w.tokens = static_cast<index_t>(tokens.size());
  for (std::size_t first = 0; first < tokens.size(); first += static_cast<std::size_t>(s.block())) {
    std::set<index_t> key_blocks;
    for (std::size_t i = first;
         i < std::min(tokens.size(), first + static_cast<std::size_t>(s.block())); ++i)
      for (std::size_t k = 0; k < dense.size(); ++k)
        if (dense[static_cast<std::size_t>(tokens[i])][k]) {
          ++w.pairs;
          key_blocks.insert(static_cast<index_t>(k) / s.block());
        }
    w.tiles += static_cast<index_t>(key_blocks.size());
  }
  return w;
}

bool same_tokens(const ism::sharding& a, const ism::sharding& b) {
  for (index_t r = 0; r < a.ranks(); ++r)
    if (a.work()[static_cast<std::size_t>(r)].tokens !=
        b.work()[static_cast<std::size_t>(r)].tokens)
      return false;
  return true;
}

void check_sharding(const std::vector<std::vector<bool>>& dense, const ism::sharding& s,
                    index_t ranks) {
  const index_t n = s.size();
  REQUIRE(s.ranks() == ranks);
  REQUIRE(s.work().size() == static_cast<std::size_t>(ranks));
  std::vector<index_t> sorted(s.rearrange().begin(), s.rearrange().end());
  std::sort(sorted.begin(), sorted.end());
  for (index_t i = 0; i < n; ++i) REQUIRE(sorted[static_cast<std::size_t>(i)] == i);
  const std::vector<index_t> restore = s.restore();
  for (index_t i = 0; i < n; ++i)
    CHECK(s.rearrange()[static_cast<std::size_t>(restore[static_cast<std::size_t>(i)])] == i);
  for (index_t r = 0; r < ranks; ++r) {
    CAPTURE(r);
    CHECK(std::is_sorted(s.tokens(r).begin(), s.tokens(r).end()));
    std::vector<index_t> from_runs;
    for (const ism::token_run& run : s.runs(r))
      for (index_t t = run.begin; t < run.end; ++t) from_runs.push_back(t);
    CHECK(from_runs == std::vector<index_t>(s.tokens(r).begin(), s.tokens(r).end()));
    CHECK(s.work()[static_cast<std::size_t>(r)] == brute_force_work(dense, s, r));
  }
}

// The dense mask of an interval mask, for brute_force_work on rows the oracle
// did not declare.
std::vector<std::vector<bool>> dense_of(const ism::interval_mask& m) {
  std::vector<std::vector<bool>> out(static_cast<std::size_t>(m.size()),
                                     std::vector<bool>(static_cast<std::size_t>(m.size()), false));
  for (index_t q = 0; q < m.size(); ++q)
    for (index_t k = m.interval(q).lo; k <= m.interval(q).hi; ++k)
      out[static_cast<std::size_t>(q)][static_cast<std::size_t>(k)] = true;
  return out;
}

// A packed row of exactly n tokens: documents of a few turns of random roles
// and lengths up to `longest`.
ism::layout random_packed_row(std::mt19937_64& rng, index_t n, index_t longest) {
  const auto uniform = [&](index_t lo, index_t hi) {
    return std::uniform_int_distribution<index_t>(lo, hi)(rng);
  };
  ism::layout_builder row;
  for (index_t left = n, turns = 0; left > 0; ++turns) {
    if (turns > 0 && uniform(0, 5) == 0) row.next_document();
    const index_t length = std::min(left, uniform(1, longest));
    row.add(static_cast<ism::role>(uniform(0, 3)), length);
    left -= length;
  }
  return row.build();
}

struct batch {
  std::vector<ism::layout> rows;
  std::vector<ism::interval_mask> masks;
};

batch random_batch(std::mt19937_64& rng, index_t rows, index_t n, index_t longest,
                   const std::string& paradigm) {
  batch out;
  for (index_t b = 0; b < rows; ++b) {
    out.rows.push_back(random_packed_row(rng, n, longest));
    out.masks.push_back(ism::make_interval_mask(out.rows.back(), ism::paradigm_from_name(paradigm)));
  }
  return out;
}

// Every row a sharding checked against brute force, and the batch's work
// their sum; with `quotas`, every rank holding the even split's tokens of
// every row, the same slice of each.
void check_batch_sharding(const batch& in, const ism::batch_sharding& s, index_t ranks,
                          bool quotas) {
  REQUIRE(s.rows().size() == in.rows.size());
  REQUIRE(s.ranks() == ranks);
  const index_t n = in.rows.front().size();
  CHECK(s.size() == n);
  std::vector<ism::rank_work> sum(static_cast<std::size_t>(ranks));
  for (std::size_t b = 0; b < in.rows.size(); ++b) {
    CAPTURE(b);
    const ism::sharding& row = s.row(static_cast<index_t>(b));
    check_sharding(dense_of(in.masks[b]), row, ranks);
    for (index_t r = 0; r < ranks; ++r) {
      const ism::rank_work& w = row.work()[static_cast<std::size_t>(r)];
      if (quotas) CHECK(w.tokens == (r + 1) * n / ranks - r * n / ranks);
      sum[static_cast<std::size_t>(r)].tokens += w.tokens;
      sum[static_cast<std::size_t>(r)].pairs += w.pairs;
      sum[static_cast<std::size_t>(r)].tiles += w.tiles;
    }
  }
  CHECK(std::ranges::equal(s.work(), sum));
  if (quotas) CHECK(s.same_slices());
  bool alike = true;
  for (const ism::sharding& row : s.rows())
    alike = alike && std::ranges::equal(row.offsets(), s.rows()[0].offsets());
  CHECK(s.same_slices() == alike);
}

// Whether every row of s keeps the even split's token counts.
bool keeps_quotas(const ism::batch_sharding& s, const ism::batch_sharding& even) {
  for (std::size_t b = 0; b < s.rows().size(); ++b)
    if (!same_tokens(s.rows()[b], even.rows()[b])) return false;
  return true;
}

}  // namespace

TEST_CASE("context parallel: every sharding against brute force on random layouts") {
  random_layouts::for_random_layouts(
      seed, 40, [](std::mt19937_64&, const oracle::declared_layout& d) {
        const ism::layout row(d);
        const oracle::row described = oracle::describe(d);
        for (const std::string& name : random_layouts::paradigm_names) {
          CAPTURE(name);
          const ism::interval_mask m = ism::make_interval_mask(row, ism::paradigm_from_name(name));
          const auto dense = oracle::dense(name, described);
          for (const index_t ranks : {1, 2, 3, 5}) {
            if (ranks > row.size()) continue;
            for (const index_t block : {1, 4}) {
              CAPTURE(ranks);
              CAPTURE(block);
              const ism::context_parallel_plan p = ism::plan_context_parallel(row, m, ranks, block);
              check_sharding(dense, p.balanced, ranks);
              check_sharding(dense, p.even, ranks);
              check_sharding(dense, p.head_tail, ranks);
              check_sharding(dense, p.per_document_head_tail, ranks);
              // The plan keeps the even split's token counts, and beats or ties
              // every split that keeps them too. Dealing single tokens it beats or
              // ties every baseline; in blocks of 4 on rows this short a rank holds
              // a unit or two, and a baseline with other token counts can win.
              for (index_t r = 0; r < ranks; ++r)
                CHECK(p.balanced.work()[static_cast<std::size_t>(r)].tokens ==
                      p.even.work()[static_cast<std::size_t>(r)].tokens);
              for (const ism::sharding* baseline :
                   {&p.even, &p.head_tail, &p.per_document_head_tail})
                if (block == 1 || same_tokens(*baseline, p.even))
                  CHECK(p.balanced.imbalance() <= baseline->imbalance() + 1e-12);
            }
          }
        }
      });
}

TEST_CASE("context parallel: hand-checked causal row of 8 tokens on 2 ranks") {
  const ism::layout row = ism::layout_builder{}.user(8).build();
  const ism::interval_mask m = ism::make_interval_mask(row, ism::causal{});
  // PyTorch's head-tail: chunks of 2, rank 0 holds chunks 0 and 3, rank 1 chunks 1 and 2.
  const ism::sharding ht = ism::head_tail_sharding(m, 2, 2);
  CHECK(std::vector<index_t>(ht.rearrange().begin(), ht.rearrange().end()) ==
        std::vector<index_t>{0, 1, 6, 7, 2, 3, 4, 5});
  CHECK(ht.restore() == std::vector<index_t>{0, 1, 4, 5, 6, 7, 2, 3});
  CHECK(ht.runs(0) == std::vector<ism::token_run>{{0, 2}, {6, 8}});
  // Rows see 1..8 keys: 1 + 2 + 7 + 8 == 3 + 4 + 5 + 6.
  CHECK(ht.work()[0] == ism::rank_work{4, 18, 5});
  CHECK(ht.work()[1] == ism::rank_work{4, 18, 5});
  CHECK(ht.imbalance() == 1.0);
  const ism::sharding even = ism::even_sharding(m, 2, 2);
  CHECK(even.work()[0] == ism::rank_work{4, 10, 3});
  CHECK(even.work()[1] == ism::rank_work{4, 26, 7});
  CHECK(even.imbalance() == doctest::Approx(26.0 / 18.0));
  // Units of two tokens weigh 3, 7, 11, 15: 15 + 3 against 11 + 7.
  const ism::sharding balanced = ism::balanced_sharding(m, 2, 2);
  CHECK(balanced.imbalance() == 1.0);
  CHECK(balanced.work()[0].tokens == 4);
}

TEST_CASE("context parallel: the plan balances units of several documents") {
  // Two documents under ism: the plan's deal leaves every rank within one
  // row's pairs of the mean here, where the even split is far off.
  const ism::layout row = ism::layout_builder{}
                              .system(64)
                              .user(32)
                              .assistant(96)
                              .next_document()
                              .user(16)
                              .assistant(48)
                              .build();
  const ism::interval_mask m = ism::make_interval_mask(row, ism::intermittent{});
  const ism::context_parallel_plan p = ism::plan_context_parallel(row, m, 4, 8);
  CHECK(p.balanced.imbalance() < 1.01);
  CHECK(p.even.imbalance() > 1.2);
  for (index_t r = 0; r < 4; ++r)
    CHECK(p.balanced.work()[static_cast<std::size_t>(r)].tokens == 64);
}

TEST_CASE("context parallel: errors name the problem") {
  const ism::layout row = ism::layout_builder{}.user(5).assistant(3).build();
  const ism::interval_mask m = ism::make_interval_mask(row, ism::causal{});
  CHECK(contains(error_message<ism::argument_error>([&] { ism::balanced_sharding(m, 0); }),
                 "0 ranks; a plan needs at least one"));
  CHECK(contains(error_message<ism::argument_error>([&] { ism::even_sharding(m, 9); }),
                 "9 ranks for a row of 8 tokens"));
  CHECK(contains(error_message<ism::argument_error>([&] { ism::head_tail_sharding(m, 2, 0); }),
                 "block 0 must be at least one token"));
  const ism::layout other = ism::layout_builder{}.user(4).build();
  CHECK(contains(error_message<ism::shape_error>([&] { ism::plan_context_parallel(other, m, 2); }),
                 "the mask has 8 rows but the layout has 4 tokens"));
  CHECK(contains(
      error_message<ism::shape_error>([&] { ism::per_document_head_tail_sharding(other, m, 2); }),
      "per_document_head_tail_sharding"));

  const std::vector<index_t> identity{0, 1, 2, 3, 4, 5, 6, 7};
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::sharding(m, 0, identity, {0, 8});
                 }),
                 "block size 0 x 0"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::sharding(m, 2, {0, 1}, {0, 2});
                 }),
                 "rearrange has 2 tokens but the mask has 8 rows"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::sharding(m, 2, identity, {0, 7});
                 }),
                 "offsets must run from 0 to 8"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::sharding(m, 2, identity, {0, 5, 3, 8});
                 }),
                 "offsets decrease at rank 1"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::sharding(m, 2, {0, 1, 2, 3, 4, 5, 6, 6}, {0, 8});
                 }),
                 "position 7 holds token 6"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::sharding(m, 2, {0, 1, 2, 3, 4, 5, 6, 8}, {0, 8});
                 }),
                 "position 7 holds token 8"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::sharding(m, 2, {1, 0, 2, 3, 4, 5, 6, 7}, {0, 4, 8});
                 }),
                 "the tokens of rank 0 are not ascending at position 1"));

  const std::vector<std::int32_t> owners{0, 0, 1, 1, 0, 1, 1, 0};
  const ism::sharding dealt = ism::sharding::from_owners(m, 2, 2, owners);
  CHECK(std::vector<index_t>(dealt.rearrange().begin(), dealt.rearrange().end()) ==
        std::vector<index_t>{0, 1, 4, 7, 2, 3, 5, 6});
  CHECK(contains(
      error_message<ism::argument_error>([&] { ism::sharding::from_owners(m, 0, 2, owners); }),
      "0 ranks; at least one"));
  CHECK(contains(
      error_message<ism::argument_error>([&] { ism::sharding::from_owners(m, 2, 0, owners); }),
      "block size 0 x 0"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::sharding::from_owners(m, 2, 2, std::vector<std::int32_t>{0, 1});
                 }),
                 "owner has 2 tokens but the mask has 8 rows"));
  CHECK(contains(
      error_message<ism::argument_error>([&] {
        ism::sharding::from_owners(m, 2, 2, std::vector<std::int32_t>{0, 0, 1, 1, 0, 2, 1, 0});
      }),
      "token 5 has owner 2, not a rank of [0, 2)"));
}

TEST_CASE("context parallel: a batch of random rows, each row checked and the work summed") {
  std::mt19937_64 rng(seed + 1);
  for (int trial = 0; trial < 24; ++trial) {
    const std::string& paradigm = random_layouts::paradigm_names[static_cast<std::size_t>(trial) %
                                                                  random_layouts::paradigm_names.size()];
    const index_t rows = 1 + trial % 4;
    const index_t n = 16 + 7 * trial;
    const batch in = random_batch(rng, rows, n, 12, paradigm);
    for (const index_t ranks : {1, 2, 3, 5}) {
      for (const index_t block : {1, 4}) {
        CAPTURE(paradigm);
        CAPTURE(rows);
        CAPTURE(n);
        CAPTURE(ranks);
        CAPTURE(block);
        const ism::batch_context_parallel_plan p =
            ism::plan_context_parallel(in.rows, in.masks, ranks, block);
        check_batch_sharding(in, p.balanced, ranks, true);
        check_batch_sharding(in, p.even, ranks, true);
        check_batch_sharding(in, p.head_tail, ranks, false);
        check_batch_sharding(in, p.per_document_head_tail, ranks, false);
        // The baselines are each row's single-row baseline.
        for (std::size_t b = 0; b < in.rows.size(); ++b) {
          CHECK(p.even.rows()[b] == ism::even_sharding(in.masks[b], ranks, block));
          CHECK(p.per_document_head_tail.rows()[b] ==
                ism::per_document_head_tail_sharding(in.rows[b], in.masks[b], ranks, block));
        }
        CHECK(p.balanced == ism::balanced_sharding(in.rows, in.masks, ranks, block));
        for (const ism::batch_sharding* baseline :
             {&p.even, &p.head_tail, &p.per_document_head_tail})
          if (block == 1 || keeps_quotas(*baseline, p.even))
            CHECK(p.balanced.imbalance() <= baseline->imbalance() + 1e-12);
      }
    }
  }
}

TEST_CASE("context parallel: a batch of one is the single-row plan") {
  random_layouts::for_random_layouts(
      seed + 2, 20, [](std::mt19937_64&, const oracle::declared_layout& d) {
        const std::vector<ism::layout> rows{ism::layout(d)};
        for (const std::string& name : random_layouts::paradigm_names) {
          CAPTURE(name);
          const std::vector<ism::interval_mask> masks{
              ism::make_interval_mask(rows[0], ism::paradigm_from_name(name))};
          for (const index_t ranks : {1, 2, 3}) {
            if (ranks > rows[0].size()) continue;
            for (const index_t block : {1, 4, 128}) {
              CAPTURE(ranks);
              CAPTURE(block);
              const ism::context_parallel_plan one =
                  ism::plan_context_parallel(rows[0], masks[0], ranks, block);
              const ism::batch_context_parallel_plan batch =
                  ism::plan_context_parallel(rows, masks, ranks, block);
              CHECK(batch.balanced.rows()[0] == one.balanced);
              CHECK(batch.even.rows()[0] == one.even);
              CHECK(batch.head_tail.rows()[0] == one.head_tail);
              CHECK(batch.per_document_head_tail.rows()[0] == one.per_document_head_tail);
              CHECK(std::ranges::equal(batch.balanced.work(), one.balanced.work()));
              CHECK(batch.balanced.imbalance() == one.balanced.imbalance());
              CHECK(batch.balanced.tile_imbalance() == one.balanced.tile_imbalance());
            }
          }
        }
      });
}

TEST_CASE("context parallel: the joint deal balances 8 packed rows of 16k tokens") {
  std::mt19937_64 rng(seed + 3);
  for (const std::string paradigm : {"causal", "ism"}) {
    const batch in = random_batch(rng, 8, 16384, 600, paradigm);
    for (const index_t ranks : {2, 4, 8, 16, 32, 64}) {
      CAPTURE(paradigm);
      CAPTURE(ranks);
      const ism::batch_context_parallel_plan p =
          ism::plan_context_parallel(in.rows, in.masks, ranks, 128);
      CHECK(p.balanced.imbalance() <= 1.02);
      CHECK(p.balanced.imbalance() <= std::min({p.even.imbalance(), p.head_tail.imbalance(),
                                                p.per_document_head_tail.imbalance()}));
      for (index_t r = 0; r < ranks; ++r)
        CHECK(p.balanced.work()[static_cast<std::size_t>(r)].tokens == 8 * 16384 / ranks);
    }
  }
}

TEST_CASE("context parallel: a heavy row's surplus is made up in a light row") {
  // Row 0 causal, row 1 bidirectional: each row alone is balanced by head-tail
  // cuts, but dealt jointly the summed loads are what counts.
  const std::vector<ism::layout> rows{ism::layout_builder{}.user(64).build(),
                                      ism::layout_builder{}.user(64).build()};
  const std::vector<ism::interval_mask> masks{
      ism::make_interval_mask(rows[0], ism::causal{}),
      ism::make_interval_mask(rows[1], ism::bidirectional{})};
  const ism::batch_sharding s = ism::balanced_sharding(rows, masks, 4, 4);
  CHECK(s.imbalance() <= 1.005);
  // Rank r holds 16 tokens of each row, 32 in all.
  for (const ism::rank_work& w : s.work()) CHECK(w.tokens == 32);
  CHECK(s.work()[0].pairs + s.work()[1].pairs + s.work()[2].pairs + s.work()[3].pairs ==
        64 * 65 / 2 + 64 * 64);
}

TEST_CASE("context parallel: batch errors name the problem") {
  const std::vector<ism::layout> rows{ism::parse_layout("user:5,assistant:3"),
                                      ism::parse_layout("user:2 | user:6")};
  std::vector<ism::interval_mask> masks;
  for (const ism::layout& row : rows) masks.push_back(ism::make_interval_mask(row, ism::causal{}));

  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::plan_context_parallel(std::span<const ism::layout>{}, {}, 2);
                 }),
                 "plan_context_parallel: the batch has no rows"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::balanced_sharding(std::span<const ism::layout>{}, {}, 2);
                 }),
                 "balanced_sharding: the batch has no rows"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::plan_context_parallel(rows, std::span(masks).first(1), 2);
                 }),
                 "plan_context_parallel: 1 masks for 2 rows"));
  const std::vector<ism::layout> uneven{rows[0], ism::parse_layout("user:5,assistant:3"),
                                        ism::parse_layout("user:7")};
  std::vector<ism::interval_mask> uneven_masks{masks[0], masks[0], masks[0]};
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::plan_context_parallel(uneven, uneven_masks, 2);
                 }),
                 "plan_context_parallel: row 2 has 7 tokens but row 0 has 8"));
  const std::vector<ism::layout> longer{rows[0], ism::parse_layout("user:8")};
  const std::vector<ism::interval_mask> misfit{masks[0], ism::make_interval_mask(
                                                             ism::parse_layout("user:4"),
                                                             ism::causal{})};
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::plan_context_parallel(longer, misfit, 2);
                 }),
                 "plan_context_parallel, row 1: the mask has 4 rows but the layout has 8 tokens"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::balanced_sharding(longer, misfit, 2);
                 }),
                 "balanced_sharding, row 1: the mask has 4 rows"));
  CHECK(contains(
      error_message<ism::argument_error>([&] { ism::plan_context_parallel(rows, masks, 9); }),
      "9 ranks for a row of 8 tokens"));
  CHECK(contains(
      error_message<ism::argument_error>([&] { ism::plan_context_parallel(rows, masks, 0); }),
      "0 ranks; a plan needs at least one"));
  CHECK(contains(
      error_message<ism::argument_error>([&] { ism::plan_context_parallel(rows, masks, 2, 0); }),
      "block 0 must be at least one token"));

  // A batch sharding holds rows cut alike.
  CHECK(contains(error_message<ism::argument_error>([&] { ism::batch_sharding({}); }),
                 "batch sharding: the batch has no rows"));
  const ism::interval_mask seven = ism::make_interval_mask(ism::parse_layout("user:7"),
                                                           ism::causal{});
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::batch_sharding({ism::even_sharding(masks[0], 2),
                                        ism::even_sharding(seven, 2)});
                 }),
                 "batch sharding: row 1 has 7 tokens but row 0 has 8"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::batch_sharding({ism::even_sharding(masks[0], 2, 4),
                                        ism::even_sharding(masks[1], 2, 2)});
                 }),
                 "batch sharding: row 1 is measured in blocks of 2 but row 0 in blocks of 4"));
  CHECK(contains(error_message<ism::shape_error>([&] {
                   ism::batch_sharding({ism::even_sharding(masks[0], 2),
                                        ism::even_sharding(masks[1], 3)});
                 }),
                 "batch sharding: row 1 is dealt to 3 ranks but row 0 to 2"));
  // Rows cut at other offsets are a batch, but not one PyTorch's equal cut takes.
  const ism::batch_sharding uneven_slices({ism::even_sharding(masks[0], 2),
                                           ism::sharding(masks[1], 128, {0, 1, 2, 3, 4, 5, 6, 7},
                                                         {0, 3, 8})});
  CHECK(!uneven_slices.same_slices());
  CHECK(uneven_slices.work()[0].tokens == 7);
  CHECK(ism::batch_sharding({ism::even_sharding(masks[0], 2), ism::even_sharding(masks[1], 2)})
            .same_slices());
}
