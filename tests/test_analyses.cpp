// The derived facts of docs/semantics.md: label mask and leakage, reusable KV
// prefix, density and training cost, against the brute-force oracle, plus the
// the contract's headline claims and every error path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <ism/density.hpp>
#include <ism/labels.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <ism/reusable_prefix.hpp>
#include <ism/training_cost.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;
using ism::role;

// First disagreement between a label_report and the oracle's labels, "" when none.
std::string compare(const ism::label_report& got, const oracle::labels& want) {
  if (got.trainable != want.trainable) return "trainable";
  if (got.leaking != want.leaking) return "leaking";
  if (got.answer_targets != want.answer_targets) return "answer_targets";
  if (got.trainable_count() != want.answer_targets - static_cast<index_t>(want.leaking.size()))
    return "trainable_count";
  return "";
}

std::string compare(const ism::training_cost_report& got, const oracle::training& want) {
  const auto one_pass = ism::training_scheme::one_pass;
  if ((got.scheme == one_pass) != want.one_pass) return "scheme";
  if (got.samples != want.samples) return "samples " + std::to_string(got.samples);
  if (got.tokens != want.tokens) return "tokens " + std::to_string(got.tokens);
  if (got.attention_pairs != want.pairs) return "pairs " + std::to_string(got.attention_pairs);
  if (got.answer_segments != want.answer_segments) return "answer_segments";
  if (got.untrainable_segments != want.untrainable_segments)
    return "untrainable_segments " + std::to_string(got.untrainable_segments);
  return "";
}

ism::layout text(const char* s) {
  return ism::parse_layout(s);
}

// The analyses take a paradigm policy or an any_paradigm, nothing else.
template <class P>
concept costs_with = requires(const ism::layout& l, const P& p) {
  ism::training_cost(l, p);
};
template <class P>
concept reuses_with = requires(const ism::layout& l, const P& p) {
  ism::reusable_prefix(l, l, p);
};
static_assert(costs_with<ism::prefix> && costs_with<ism::any_paradigm> && !costs_with<int>);
static_assert(reuses_with<ism::intermittent> && reuses_with<ism::any_paradigm> &&
              !reuses_with<double>);

}  // namespace

// --- Label mask ------------------------------------------------------------

TEST_CASE("analyses: classify_labels equals the oracle") {
  random_layouts::for_random_layouts(20000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm(
        [&](auto policy, std::string_view name, const ism::any_paradigm& kind) {
          CAPTURE(name);
          const oracle::labels want = oracle::label_mask(o, oracle::dense(name, o));
          CHECK(compare(ism::classify_labels(l, ism::make_interval_mask(l, policy)), want) == "");
          CHECK(compare(ism::classify_labels(l, ism::make_interval_mask(l, kind)), want) == "");
        });
  });
}

TEST_CASE(
    "analyses: ism and causal train every answer token in one pass; prefix only the trailing "
    "answer") {
  random_layouts::for_random_layouts(21000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    for (const ism::any_paradigm& kind : {ism::paradigm_from_name("ism"), ism::paradigm_from_name("causal")}) {
      const ism::label_report labels = ism::classify_labels(l, ism::make_interval_mask(l, kind));
      CHECK(labels.leaking.empty());
      CHECK(labels.trainable_count() == labels.answer_targets);
    }
    // prefix: q is trainable exactly when its target lies in the trailing answer.
    const ism::label_report labels = ism::classify_labels(l, ism::make_interval_mask<ism::prefix>(l));
    std::string wrong;
    for (index_t q = 0; q + 1 < o.size(); ++q) {
      const oracle::token& target = o.tokens[q + 1];
      const bool target_trailing = target.document == o.tokens[q].document &&
                                   oracle::is_answer_role(target.kind) &&
                                   q + 1 >= target.trailing_begin;
      if (labels.trainable[q] != target_trailing) wrong += std::to_string(q) + " ";
    }
    CHECK(wrong == "");
  });
}

TEST_CASE("analyses: classify_labels of a row that sees nothing is trainable, not leaking") {
  // docs/semantics.md: q leaks only when it sees q + 1. Row 1 of this custom mask is empty,
  // stored as to_interval_mask stores empty rows (lo = n, hi = n - 1).
  const ism::layout row = ism::parse_layout("user:1, assistant:4");
  const ism::interval_mask m({0, 5, 0, 0, 0}, {0, 4, 3, 4, 4});  // rows 2 and 3 see their target
  const ism::label_report labels = ism::classify_labels(row, m);
  CHECK(labels.answer_targets == 4);
  CHECK(labels.trainable == std::vector<bool>{true, true, false, false, false});
  CHECK(labels.leaking == std::vector<index_t>{2, 3});
}

TEST_CASE("analyses: classify_labels of a two-turn dialogue, by hand") {
  const ism::layout l = text("user:2,assistant:2,user:1,assistant:1");
  const ism::label_report ism_labels =
      ism::classify_labels(l, ism::make_interval_mask<ism::intermittent>(l));
  CHECK(ism_labels.answer_targets == 3);
  CHECK(ism_labels.trainable == std::vector<bool>{false, true, true, false, true, false});
  CHECK(ism_labels.leaking.empty());
  const ism::label_report prefix_labels =
      ism::classify_labels(l, ism::make_interval_mask<ism::prefix>(l));
  CHECK(prefix_labels.trainable == std::vector<bool>{false, false, false, false, true, false});
  CHECK(prefix_labels.leaking == std::vector<index_t>{1, 2});
  CHECK(prefix_labels.trainable_count() == 1);
  // The first token of a document predicts nothing from the previous document.
  const ism::layout two = text("user:1 | assistant:2");
  const ism::label_report across = ism::classify_labels(two, ism::make_interval_mask<ism::causal>(two));
  CHECK(across.answer_targets == 1);
  CHECK(across.trainable == std::vector<bool>{false, true, false});
}

// --- Reusable prefix -------------------------------------------------------

TEST_CASE("analyses: reusable_prefix equals the oracle on random extensions") {
  random_layouts::for_random_layouts(
      22000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& da) {
        const random_layouts::extension e = random_layouts::any_extension(rng);
        const oracle::declared_layout db = random_layouts::extend(rng, da, e);
        CAPTURE(random_layouts::extension_name(e));
        CAPTURE(random_layouts::text(db));
        const ism::layout a(da), b(db);
        CHECK_NOTHROW(ism::check_extends(a, b));
        const oracle::row oa = oracle::describe(da), ob = oracle::describe(db);
        random_layouts::for_each_paradigm(
            [&](auto policy, std::string_view name, const ism::any_paradigm& kind) {
              CAPTURE(name);
              const index_t want =
                  oracle::reusable_prefix(oracle::dense(name, oa), oracle::dense(name, ob));
              CHECK(ism::reusable_prefix(a, b, policy) == want);
              CHECK(ism::reusable_prefix(a, b, kind) == want);
              CHECK(ism::reusable_prefix(ism::make_interval_mask(a, policy),
                                         ism::make_interval_mask(b, policy)) == want);
            });
      });
}

TEST_CASE(
    "analyses: appending a turn keeps the whole KV cache under ism and causal, not under prefix") {
  random_layouts::for_random_layouts(
      23000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& da) {
        const ism::layout a(da);
        const index_t last_document_begin = a.documents().back().begin;
        for (const auto e :
             {random_layouts::extension::append_turn, random_layouts::extension::append_segments,
              random_layouts::extension::append_documents}) {
          const ism::layout b(random_layouts::extend(rng, da, e));
          CAPTURE(random_layouts::extension_name(e));
          CAPTURE(ism::to_text(b));
          CHECK(ism::reusable_prefix<ism::intermittent>(a, b) == a.size());
          CHECK(ism::reusable_prefix<ism::causal>(a, b) == a.size());
          if (e == random_layouts::extension::append_turn)
            CHECK(ism::reusable_prefix<ism::prefix>(a, b) == last_document_begin);
          else
            CHECK(ism::reusable_prefix<ism::prefix>(a, b) >= last_document_begin);
        }
        // A longer last segment: causal keeps everything; ism keeps everything only
        // after an answer, since a context segment's tokens see their whole segment.
        const ism::layout b(
            random_layouts::extend(rng, da, random_layouts::extension::lengthen_last));
        CHECK(ism::reusable_prefix<ism::causal>(a, b) == a.size());
        const ism::segment_span last = a.segments().back();
        CHECK(ism::reusable_prefix<ism::intermittent>(a, b) ==
              (ism::is_answer(last.kind) ? a.size() : last.begin));
      });
}

TEST_CASE("analyses: reusable_prefix by hand") {
  const ism::layout a = text("system:2,user:2,assistant:2");
  const ism::layout b = text("system:2,user:2,assistant:2,user:3,assistant:1");
  CHECK(ism::reusable_prefix<ism::intermittent>(a, b) == 6);
  CHECK(ism::reusable_prefix<ism::causal>(a, b) == 6);
  CHECK(ism::reusable_prefix<ism::prefix>(a, b) == 0);
  CHECK(ism::reusable_prefix<ism::bidirectional>(a, b) == 0);
  CHECK(ism::reusable_prefix<ism::intermittent>(a, a) == 6);
  CHECK(ism::reusable_prefix<ism::prefix>(a, a) == 6);
  // A user message still being typed: its block grows.
  CHECK(ism::reusable_prefix<ism::intermittent>(text("user:3"), text("user:5")) == 0);
  CHECK(ism::reusable_prefix<ism::causal>(text("user:3"), text("user:5")) == 3);
  // Earlier documents survive under every paradigm.
  const ism::layout c = text("user:2,assistant:2 | user:3,assistant:1");
  const ism::layout d = text("user:2,assistant:2 | user:3,assistant:1,user:1,assistant:1");
  CHECK(ism::reusable_prefix<ism::prefix>(c, d) == 4);
  CHECK(ism::reusable_prefix<ism::bidirectional>(c, d) == 4);
}

TEST_CASE("analyses: check_extends errors") {
  const ism::layout a = text("user:2,assistant:3,user:1");
  SUBCASE("fewer segments") {
    const std::string m =
        layout_error_message([&] { ism::check_extends(a, text("user:2,assistant:3")); });
    CHECK(contains(m, "does not extend"));
    CHECK(contains(m, "2 segments, fewer than 3"));
  }
  SUBCASE("a different role") {
    const std::string m =
        layout_error_message([&] { ism::check_extends(a, text("user:2,tool:3,user:1")); });
    CHECK(contains(m, "segment 1"));
    CHECK(contains(m, "assistant in one and tool in the other"));
  }
  SUBCASE("an earlier segment changed length") {
    const std::string m =
        layout_error_message([&] { ism::check_extends(a, text("user:2,assistant:4,user:1")); });
    CHECK(contains(m, "segment 1"));
    CHECK(contains(m, "length 3 in one and 4"));
  }
  SUBCASE("the last segment shrank") {
    const std::string m = layout_error_message(
        [&] { ism::check_extends(text("user:2,assistant:3"), text("user:2,assistant:2")); });
    CHECK(contains(m, "segment 1"));
    CHECK(contains(m, "length 3 in one and 2"));
    CHECK(contains(layout_error_message([&] {
                     ism::check_extends(text("user:2,assistant:3"),
                                        text("user:2,assistant:2,user:4"));
                   }),
                   "segment 1"));
  }
  SUBCASE("another document split") {
    const std::string m =
        layout_error_message([&] { ism::check_extends(a, text("user:2,assistant:3 | user:1")); });
    CHECK(contains(m, "segment 2"));
    CHECK(contains(m, "another document"));
  }
  SUBCASE("reusable_prefix checks too") {
    CHECK_THROWS_AS(ism::reusable_prefix<ism::intermittent>(a, text("user:2")), ism::layout_error);
    CHECK_THROWS_AS(
        ism::reusable_prefix(a, text("user:3,assistant:3,user:1"), ism::paradigm_from_name("causal")),
        ism::layout_error);
  }
}

TEST_CASE("analyses: reusable_prefix of arbitrary interval masks equals the oracle") {
  // Masks outside the four paradigms: a row may see a later token whose own
  // interval changed, which the built-in paradigms never produce. Some rows are
  // empty, stored as different lo > hi pairs in a and b: the oracle compares
  // rows as sets of keys, so an empty row equals any other and reaches nowhere.
  std::string failures;
  for (std::uint64_t seed = 27000; seed < 29000; ++seed) {
    std::mt19937_64 rng(seed);
    const index_t n = random_layouts::uniform(rng, 1, 12);
    const index_t extra = random_layouts::uniform(rng, 0, 4);
    std::vector<index_t> lo_a, hi_a;
    for (index_t q = 0; q < n; ++q) {
      const index_t lo = random_layouts::uniform(rng, 0, n - 1);
      lo_a.push_back(lo);
      hi_a.push_back(random_layouts::uniform(rng, lo, std::min(n - 1, lo + 3)));
    }
    std::vector<index_t> lo_b = lo_a, hi_b = hi_a;
    for (index_t q = 0; q < n; ++q)
      if (random_layouts::chance(rng, 0.1)) {
        lo_a[q] = lo_b[q] = random_layouts::uniform(rng, 1, n);
        hi_a[q] = lo_a[q] - 1;
        if (random_layouts::chance(rng, 0.5))
          hi_b[q] = lo_b[q] - 2;
        else
          hi_b[q] = hi_a[q];
      } else if (random_layouts::chance(rng, 0.1)) {
        hi_b[q] = random_layouts::uniform(rng, lo_b[q], n + extra - 1);
      } else if (random_layouts::chance(rng, 0.05)) {
        lo_b[q] = random_layouts::uniform(rng, 0, hi_b[q]);
      }
    for (index_t q = n; q < n + extra; ++q) {
      lo_b.push_back(0);
      hi_b.push_back(q);
    }
    const ism::interval_mask a(lo_a, hi_a), b(lo_b, hi_b);
    const auto dense = [](const ism::interval_mask& m) {
      std::vector<std::vector<bool>> out(static_cast<std::size_t>(m.size()),
                                         std::vector<bool>(static_cast<std::size_t>(m.size())));
      for (index_t q = 0; q < m.size(); ++q)
        for (index_t k = m.lo()[q]; k <= m.hi()[q]; ++k) out[q][k] = true;
      return out;
    };
    const index_t want = oracle::reusable_prefix(dense(a), dense(b));
    const index_t got = ism::reusable_prefix(a, b);
    if (got != want)
      failures += "seed " + std::to_string(seed) + ": " + std::to_string(got) + " vs " +
                  std::to_string(want) + "; ";
  }
  CHECK(failures == "");
}

TEST_CASE("analyses: reusable_prefix of interval masks needs a longer second mask") {
  const ism::interval_mask a({0, 0, 0}, {0, 1, 2});
  const ism::interval_mask b({0, 0}, {0, 1});
  CHECK_THROWS_AS(ism::reusable_prefix(a, b), ism::shape_error);
  CHECK_THROWS_WITH(ism::reusable_prefix(a, b),
                    doctest::Contains("2 rows, fewer than the original's 3"));
  CHECK(ism::reusable_prefix(b, a) == 2);
}

// --- Density -----------------------------------------------------------------

TEST_CASE("analyses: density equals the oracle, per row and per document") {
  random_layouts::for_random_layouts(24000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm([&](auto policy, std::string_view name,
                                          const ism::any_paradigm& kind) {
      CAPTURE(name);
      const oracle::density_counts want = oracle::density(o, oracle::dense(name, o));
      const ism::density_report got = ism::density(l, ism::make_interval_mask(l, policy));
      CHECK(got.sequence.tokens == o.size());
      CHECK(got.sequence.visible_pairs == want.row_pairs);
      CHECK(got.sequence.density() ==
            doctest::Approx(double(want.row_pairs) / (double(o.size()) * double(o.size())))
                .epsilon(1e-15));
      REQUIRE(got.documents.size() == o.documents.size());
      for (std::size_t i = 0; i < o.documents.size(); ++i) {
        const index_t len = o.documents[i].second - o.documents[i].first;
        CHECK(got.documents[i].tokens == len);
        CHECK(got.documents[i].visible_pairs == want.document_pairs[i]);
        CHECK(got.documents[i].density() ==
              doctest::Approx(double(want.document_pairs[i]) / double(len * len)).epsilon(1e-15));
      }
      CHECK(ism::density(l, ism::make_interval_mask(l, kind)).sequence.visible_pairs == want.row_pairs);
    });
  });
}

TEST_CASE("analyses: density by hand") {
  const ism::layout l = text("user:2,assistant:2 | user:2");
  const ism::density_report r = ism::density(l, ism::make_interval_mask<ism::intermittent>(l));
  // Document 0: rows see 2, 2, 3, 4 keys; document 1: 2 and 2.
  CHECK(r.documents[0].visible_pairs == 11);
  CHECK(r.documents[1].visible_pairs == 4);
  CHECK(r.documents[1].density() == 1.0);
  CHECK(r.sequence.visible_pairs == 15);
  CHECK(r.sequence.density() == doctest::Approx(15.0 / 36.0));
  CHECK(ism::pair_count{}.density() == 0.0);
}

// --- Training cost -----------------------------------------------------------

TEST_CASE("analyses: training_cost equals the oracle") {
  random_layouts::for_random_layouts(25000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm([&](auto policy, std::string_view name, const ism::any_paradigm&) {
      CAPTURE(name);
      CHECK(compare(ism::training_cost(l, policy), oracle::training_cost(name, o)) == "");
    });
  });
}

TEST_CASE("analyses: training_cost through any_paradigm matches the policy type") {
  // training_cost(sequence, any_paradigm) must not quietly disagree with
  // training_cost(sequence, policy) or with docs/semantics.md#training-cost
  // (prefix: one sample per assistant segment).
  const ism::layout two_documents = text("user:2,assistant:2 | user:3,assistant:1");
  const ism::training_cost_report by_kind =
      ism::training_cost(two_documents, ism::paradigm_from_name("prefix"));
  CHECK(by_kind.scheme == ism::training_scheme::one_sample_per_answer);
  CHECK(by_kind.samples == 2);
  std::string failures;
  int failed = 0;
  random_layouts::for_random_layouts(26000, 300, [&](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm([&](auto, std::string_view name, const ism::any_paradigm& kind) {
      const std::string why = compare(ism::training_cost(l, kind), oracle::training_cost(name, o));
      if (why.empty()) return;
      if (++failed <= 3)
        failures += std::string(name) + " on '" + random_layouts::text(d) + "': " + why + "; ";
    });
  });
  CAPTURE(failed);
  CHECK(failures == "");
}

TEST_CASE("analyses: training_cost of a two-turn dialogue, by hand") {
  const ism::layout l = text("user:2,assistant:2,user:1,assistant:1");
  const ism::training_cost_report ism_cost = ism::training_cost<ism::intermittent>(l);
  CHECK(ism_cost.scheme == ism::training_scheme::one_pass);
  CHECK(ism_cost.samples == 1);
  CHECK(ism_cost.tokens == 6);
  CHECK(ism_cost.attention_pairs == 2 + 2 + 3 + 4 + 5 + 6);
  CHECK(ism_cost.answer_segments == 2);
  CHECK(ism_cost.untrainable_segments == 0);
  CHECK(ism::training_cost<ism::causal>(l).attention_pairs == 21);
  // Triplet expansion: samples u2,a2 (pairs 2+2+3+4) and the whole dialogue (5*5+6).
  const ism::training_cost_report prefix_cost = ism::training_cost<ism::prefix>(l);
  CHECK(prefix_cost.scheme == ism::training_scheme::one_sample_per_answer);
  CHECK(prefix_cost.samples == 2);
  CHECK(prefix_cost.tokens == 10);
  CHECK(prefix_cost.attention_pairs == 11 + 31);
  CHECK(prefix_cost.untrainable_segments == 0);
  // Bidirectional leaks every answer, even in its own sample.
  const ism::training_cost_report bidi = ism::training_cost<ism::bidirectional>(l);
  CHECK(bidi.scheme == ism::training_scheme::one_sample_per_answer);
  CHECK(bidi.samples == 2);
  CHECK(bidi.tokens == 10);
  CHECK(bidi.attention_pairs == 16 + 36);
  CHECK(bidi.untrainable_segments == 2);
}

TEST_CASE("analyses: training_cost of rows without answers") {
  const ism::layout l = text("system:3,user:2 | tool:1");
  CHECK(compare(ism::training_cost<ism::causal>(l),
                oracle::training_cost("causal", oracle::describe(l))) == "");
  const ism::training_cost_report p = ism::training_cost<ism::prefix>(l);
  CHECK(p.samples == 0);
  CHECK(p.tokens == 0);
  CHECK(p.answer_segments == 0);
  // A lone answer token has no target, so nothing leaks: one pass even for bidirectional.
  CHECK(ism::training_cost<ism::bidirectional>(text("assistant:1")).scheme ==
        ism::training_scheme::one_pass);
}

// --- Masks of the wrong size -------------------------------------------------

TEST_CASE("analyses: a mask of the wrong size is a shape_error") {
  const ism::layout l = text("user:2,assistant:2");
  const ism::interval_mask short_mask = ism::make_interval_mask<ism::causal>(text("user:3"));
  const ism::interval_mask long_mask = ism::make_interval_mask<ism::causal>(text("user:5"));
  CHECK_THROWS_AS(ism::classify_labels(l, short_mask), ism::shape_error);
  CHECK_THROWS_AS(ism::classify_labels(l, long_mask), ism::shape_error);
  CHECK_THROWS_AS(ism::density(l, short_mask), ism::shape_error);
  CHECK_THROWS_AS(ism::density(l, long_mask), ism::shape_error);
  CHECK_THROWS_WITH(
      ism::classify_labels(l, short_mask),
      doctest::Contains("classify_labels: the mask has 3 rows but the layout has 4 tokens"));
  CHECK_THROWS_WITH(ism::density(l, long_mask), doctest::Contains("density: the mask has 5 rows"));
}

namespace {

// Trains per answer (its answers see themselves whole) and states no closed
// form, so every sample is built.
struct answers_bidirectional {
  static constexpr std::string_view name = "answers-bidirectional";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, ism::is_answer(t.segment.kind) ? t.segment.end - 1 : t.position};
  }
};

}  // namespace

TEST_CASE("analyses: training_cost_work counts the samples a cost must build") {
  // One conversation of three turns: 3 + 5 + 2 + 4 + 1 + 3 = 18 tokens.
  const ism::layout chat = text("user:3,assistant:5,user:2,assistant:4,user:1,assistant:3");
  // One pass (causal, ism) or a closed form (prefix, bidirectional): the
  // sequence once.
  for (const char* name : {"causal", "ism", "prefix", "bidirectional"}) {
    CAPTURE(name);
    CHECK(ism::paradigm_from_name(name).training_cost_work(chat) == 18);
  }
  // Built samples: the sequence, then the cuts at 8, 14 and 18 tokens.
  CHECK(ism::training_cost_work<answers_bidirectional>(chat) == 18 + 8 + 14 + 18);
  const ism::training_cost_report built = ism::training_cost<answers_bidirectional>(chat);
  CHECK(built.scheme == ism::training_scheme::one_sample_per_answer);
  CHECK(built.tokens == 8 + 14 + 18);

  // A million tokens in one conversation of 4,000 turns costs O(segments)
  // for prefix: the report is the closed form's sum, checked against it.
  std::string long_chat;
  for (int turn = 0; turn < 4000; ++turn) long_chat += turn ? ",u:100,a:150" : "u:100,a:150";
  const ism::training_cost_report prefix =
      ism::training_cost(ism::parse_layout(long_chat), ism::paradigm_from_name("prefix"));
  index_t tokens = 0, pairs = 0;
  for (index_t turn = 1; turn <= 4000; ++turn) {
    const index_t length = 250 * turn, p = length - 150;
    tokens += length;
    pairs += p * p + (length * (length + 1) - p * (p + 1)) / 2;
  }
  CHECK(prefix.samples == 4000);
  CHECK(prefix.tokens == tokens);
  CHECK(prefix.attention_pairs == pairs);
  CHECK(prefix.untrainable_segments == 0);
}
