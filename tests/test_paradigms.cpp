// Paradigms and the segment function (docs/semantics.md#paradigms-and-the-segment-function): the four built-ins against
// the oracle on random layouts, hand-drawn masks, the paradigm concept, choosing
// a paradigm by name, and paradigms written by a user.
#include <doctest/doctest.h>

#include <algorithm>
#include <ism/dense_mask.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <ism/segment_function.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;
using ism::role;

// '#' visible, '.' hidden, one string per query row.
template <class M>
std::vector<std::string> picture(const M& m, index_t n) {
  const ism::dense_bool_mask d = ism::dense_mask(m, ism::whole(n));
  std::vector<std::string> rows;
  for (index_t q = 0; q < n; ++q) {
    std::string line;
    for (index_t k = 0; k < n; ++k) line += d(q, k) ? '#' : '.';
    rows.push_back(line);
  }
  return rows;
}

std::vector<std::string> picture(std::string_view paradigm, const ism::layout& l) {
  return picture(ism::make_interval_mask(l, ism::paradigm_from_name(paradigm)), l.size());
}

// First disagreement between an interval mask and the oracle, "" when none.
std::string compare(const ism::interval_mask& m, std::string_view name, const oracle::row& o) {
  if (m.size() != o.size()) return "size " + std::to_string(m.size());
  const oracle::mask om = oracle::mask_of(name, o);
  for (index_t q = 0; q < o.size(); ++q) {
    if (m.lo()[q] != oracle::lo_of(name, o, q) || m.hi()[q] != oracle::hi_of(name, o, q))
      return "interval of row " + std::to_string(q) + ": [" + std::to_string(m.lo()[q]) + ", " +
             std::to_string(m.hi()[q]) + "] but the oracle says [" +
             std::to_string(oracle::lo_of(name, o, q)) + ", " +
             std::to_string(oracle::hi_of(name, o, q)) + "]";
    for (index_t k = 0; k < o.size(); ++k)
      if (m.visible(q, k) != om.visible(q, k))
        return "visible(" + std::to_string(q) + ", " + std::to_string(k) + ")";
  }
  return "";
}

// --- Compile-time facts about the paradigm concept -------------------------

struct no_name {
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, t.position};
  }
};
struct no_interval {
  static constexpr std::string_view name = "no-interval";
};
struct interval_returns_pair {
  static constexpr std::string_view name = "pair";
  std::pair<index_t, index_t> interval(const ism::token_context& t) const {
    return {0, t.position};
  }
};
struct interval_not_const {
  static constexpr std::string_view name = "not-const";
  ism::row_interval interval(const ism::token_context& t) { return {t.document.begin, t.position}; }
};
struct needs_argument {
  [[maybe_unused]] static constexpr std::string_view name = "needs-argument";
  explicit needs_argument(int) {}
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, t.position};
  }
};

static_assert(ism::paradigm<ism::causal>);
static_assert(ism::paradigm<ism::prefix>);
static_assert(ism::paradigm<ism::intermittent>);
static_assert(ism::paradigm<ism::bidirectional>);
static_assert(!ism::paradigm<no_name>, "a paradigm needs a name");
static_assert(!ism::paradigm<no_interval>, "a paradigm needs interval()");
static_assert(!ism::paradigm<interval_returns_pair>, "interval() returns row_interval");
static_assert(!ism::paradigm<interval_not_const>, "interval() is const");
static_assert(!ism::paradigm<needs_argument>, "a paradigm is default-constructible");
static_assert(!ism::paradigm<int>);
// check_paradigm is usable in constant expressions.
static_assert(ism::check_paradigm<ism::causal>());
static_assert(ism::check_paradigm<ism::intermittent>());
constexpr bool prefix_checked = ism::check_paradigm<ism::prefix>();
static_assert(prefix_checked);
// Only prefix states its training scheme.
static_assert(ism::states_training_scheme<ism::prefix>);
static_assert(!ism::states_training_scheme<ism::causal>);
static_assert(!ism::states_training_scheme<ism::intermittent>);
static_assert(ism::prefix::training == ism::training_scheme::one_sample_per_answer);
static_assert(ism::causal::name == "causal" && ism::prefix::name == "prefix" &&
              ism::intermittent::name == "ism" && ism::bidirectional::name == "bidirectional");

// The example of paradigm.hpp: tool results bidirectional, everything else causal.
struct tool_results_bidirectional {
  static constexpr std::string_view name = "tool-bidirectional";
  ism::row_interval interval(const ism::token_context& t) const {
    const bool block = t.segment.kind == role::tool;
    return {t.document.begin, block ? t.segment.end - 1 : t.position};
  }
};
static_assert(ism::paradigm<tool_results_bidirectional>);
static_assert(ism::check_paradigm<tool_results_bidirectional>());

// Bad paradigms: each breaks "the interval stays inside the token's document".
struct sees_next_document {
  static constexpr std::string_view name = "sees-next-document";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, t.document.end};
  }
};
struct sees_previous_document {
  static constexpr std::string_view name = "sees-previous-document";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin - 1, t.position};
  }
};
struct sees_nothing {
  static constexpr std::string_view name = "sees-nothing";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.position + 1, t.position};
  }
};

}  // namespace

TEST_CASE("paradigms: the registry holds the built-ins by name") {
  std::vector<std::string> names;
  for (const ism::any_paradigm& p : ism::paradigms().all()) names.emplace_back(p.name());
  CHECK(names == std::vector<std::string>{"causal", "prefix", "ism", "bidirectional"});
  for (std::string_view name : {"causal", "prefix", "ism", "bidirectional"}) {
    CAPTURE(name);
    CHECK(ism::paradigm_from_name(name).name() == name);
  }
  CHECK(ism::paradigm_from_name("ism").target<ism::intermittent>() != nullptr);
  CHECK(ism::paradigm_from_name("ism").target<ism::causal>() == nullptr);
  CHECK(ism::paradigm_from_name("ism") == ism::any_paradigm(ism::intermittent{}));
}

TEST_CASE("paradigms: unknown names list what is accepted") {
  for (std::string_view name : {"", "ISM", "intermittent", "causal ", "prefix-lm", "bi", "ism:"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(ism::paradigm_from_name(name), ism::unknown_paradigm_error);
  }
  CHECK_THROWS_WITH(ism::paradigm_from_name("foo"),
                    "unknown paradigm 'foo'; expected causal, prefix, ism, bidirectional or "
                    "bidirectional-roles:ROLE[,ROLE...]");
  static_assert(std::is_base_of_v<std::invalid_argument, ism::unknown_paradigm_error>);
  static_assert(std::is_base_of_v<ism::error, ism::unknown_paradigm_error>);
}

TEST_CASE("paradigms: bidirectional-roles is ISM for the context roles, and reads any role set") {
  CHECK(ism::paradigm_from_name("bidirectional-roles:system,user,tool").name() ==
        "bidirectional-roles:system,user,tool");
  CHECK(ism::paradigm_from_name("bidirectional-roles:t,s").name() ==
        "bidirectional-roles:system,tool");
  random_layouts::for_random_layouts(4600, 300, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    CHECK(ism::paradigm_from_name("bidirectional-roles:user,system,tool").intervals(l) ==
          ism::make_interval_mask<ism::intermittent>(l));
    // Only tool results bidirectional, straight from the definition.
    const ism::interval_mask tools = ism::paradigm_from_name("bidirectional-roles:tool").intervals(l);
    const oracle::row o = oracle::describe(d);
    for (index_t q = 0; q < o.size(); ++q) {
      const oracle::token& t = o.tokens[static_cast<std::size_t>(q)];
      CHECK(tools.lo()[q] == t.doc_begin);
      CHECK(tools.hi()[q] == (t.kind == ism::role::tool ? t.seg_end - 1 : q));
    }
  });
  for (const char* bad : {"bidirectional-roles:", "bidirectional-roles:users",
                          "bidirectional-roles:tool,tool", "bidirectional-roles:tool,"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(ism::paradigm_from_name(bad), ism::unknown_paradigm_error);
  }
  CHECK_THROWS_WITH(ism::paradigm_from_name("bidirectional-roles:tool,users"),
                    doctest::Contains("'users' is not a role"));
  CHECK_THROWS_WITH(ism::paradigm_from_name("bidirectional-roles:u,user"),
                    doctest::Contains("role 'user' is listed twice"));
}

namespace {

struct tool_only {
  static constexpr std::string_view name = "tool-only";
  ism::row_interval interval(const ism::token_context& t) const {
    return {t.document.begin, t.segment.kind == ism::role::tool ? t.segment.end - 1 : t.position};
  }
};

}  // namespace

TEST_CASE("paradigms: a user's paradigm added to a registry is found by name") {
  ism::paradigm_registry registry;
  registry.add(tool_only{});
  registry.add(ism::causal{}, "left-to-right");
  CHECK(registry.find("tool-only").name() == "tool-only");
  CHECK(registry.find("left-to-right").target<ism::causal>() != nullptr);
  CHECK_THROWS_WITH(registry.add(tool_only{}), "paradigm name 'tool-only' is taken");
  CHECK_THROWS_WITH(registry.add(ism::causal{}, "a b"),
                    "paradigm name 'a b' must be letters, digits, '-', '_' or '.'");
  CHECK_THROWS_WITH(registry.find("ism"),
                    "unknown paradigm 'ism'; expected tool-only or left-to-right");
  const ism::layout l = ism::parse_layout("user:2, tool:3, assistant:2");
  CHECK(registry.find("tool-only").intervals(l) ==
        ism::paradigm_from_name("bidirectional-roles:tool").intervals(l));
}

TEST_CASE("paradigms: interval masks equal the oracle on random layouts") {
  random_layouts::for_random_layouts(4000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm(
        [&](auto policy, std::string_view name, const ism::any_paradigm& kind) {
          CAPTURE(name);
          const ism::interval_mask by_type = ism::make_interval_mask(l, policy);
          const ism::interval_mask by_kind = ism::make_interval_mask(l, kind);
          CHECK(compare(by_type, name, o) == "");
          CHECK(by_kind == by_type);
          CHECK(by_type.monotone());
          CHECK(by_type.visible_pairs() == oracle::count_visible(oracle::dense(name, o)));
        });
  });
}

TEST_CASE("paradigms: every key column is one interval of rows (docs/semantics.md#paradigms-and-the-segment-function)") {
  random_layouts::for_random_layouts(5000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm([&](auto policy, std::string_view name, const ism::any_paradigm&) {
      CAPTURE(name);
      const ism::interval_mask m = ism::make_interval_mask(l, policy);
      std::string broken;
      for (index_t k = 0; k < o.size(); ++k) {
        index_t runs = 0, first = -1, last = -1;
        for (index_t q = 0; q < o.size(); ++q) {
          runs += m.visible(q, k) && (q == 0 || !m.visible(q - 1, k));
          if (m.visible(q, k)) {
            if (first < 0) first = q;
            last = q;
          }
        }
        // Every column is seen at least by its own row (the diagonal).
        if (runs != 1 || !m.visible(k, k)) broken += std::to_string(k) + " ";
        // The examples of docs/semantics.md: under ism a context column is seen by rows
        // [s0, d1) and an answer column by [k, d1).
        const oracle::token& t = o.tokens[static_cast<std::size_t>(k)];
        if (name == "ism" && last + 1 != t.doc_end) broken += "ism end " + std::to_string(k) + " ";
        if (name == "ism" && first != (oracle::is_answer_role(t.kind) ? k : t.seg_begin))
          broken += "ism begin " + std::to_string(k) + " ";
      }
      CHECK(broken == "");
    });
  });
}

TEST_CASE("paradigms: ism and causal never look past the token's own segment") {
  // Why the KV cache survives a new turn: f(j) < s1 for every token j.
  random_layouts::for_random_layouts(6000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    for (const ism::any_paradigm& kind : {ism::paradigm_from_name("ism"), ism::paradigm_from_name("causal")}) {
      const ism::interval_mask m = ism::make_interval_mask(l, kind);
      for (const ism::segment_span& s : l.segments())
        for (index_t q = s.begin; q < s.end; ++q) CHECK(m.hi()[q] < s.end);
    }
  });
}

TEST_CASE("paradigms: hand-drawn masks of system:2,user:2,assistant:2") {
  const ism::layout l = ism::parse_layout("system:2,user:2,assistant:2");
  CHECK(picture("causal", l) == std::vector<std::string>{
                                    "#.....",
                                    "##....",
                                    "###...",
                                    "####..",
                                    "#####.",
                                    "######",
                                });
  // The system prompt does not see the user's message: separate blocks.
  CHECK(picture("ism", l) == std::vector<std::string>{
                                 "##....",
                                 "##....",
                                 "####..",
                                 "####..",
                                 "#####.",
                                 "######",
                             });
  CHECK(picture("prefix", l) == std::vector<std::string>{
                                    "####..",
                                    "####..",
                                    "####..",
                                    "####..",
                                    "#####.",
                                    "######",
                                });
  CHECK(picture("bidirectional", l) == std::vector<std::string>(6, "######"));
}

TEST_CASE("paradigms: hand-drawn masks of a two-turn dialogue") {
  const ism::layout l = ism::parse_layout("user:2,assistant:2,user:1,assistant:1");
  // ISM: the first answer stays causal; prefix sees the first answer bidirectionally.
  CHECK(picture("ism", l) == std::vector<std::string>{
                                 "##....",
                                 "##....",
                                 "###...",
                                 "####..",
                                 "#####.",
                                 "######",
                             });
  CHECK(picture("prefix", l) == std::vector<std::string>{
                                    "#####.",
                                    "#####.",
                                    "#####.",
                                    "#####.",
                                    "#####.",
                                    "######",
                                });
}

TEST_CASE("paradigms: hand-drawn masks of two documents") {
  // The second document starts with an answer and ends awaiting one.
  const ism::layout l = ism::parse_layout("user:2,assistant:1 | assistant:1,user:1");
  CHECK(picture("ism", l) == std::vector<std::string>{
                                 "##...",
                                 "##...",
                                 "###..",
                                 "...#.",
                                 "...##",
                             });
  CHECK(picture("prefix", l) == std::vector<std::string>{
                                    "##...",
                                    "##...",
                                    "###..",
                                    "...##",
                                    "...##",
                                });
  CHECK(picture("causal", l) == std::vector<std::string>{
                                    "#....",
                                    "##...",
                                    "###..",
                                    "...#.",
                                    "...##",
                                });
  CHECK(picture("bidirectional", l) == std::vector<std::string>{
                                           "###..",
                                           "###..",
                                           "###..",
                                           "...##",
                                           "...##",
                                       });
}

TEST_CASE("paradigms: a user-defined paradigm, tool results bidirectional") {
  const auto hi_of = [](const oracle::row& o, index_t q) {
    const oracle::token& t = o.tokens[static_cast<std::size_t>(q)];
    return t.kind == role::tool ? t.seg_end - 1 : q;
  };
  SUBCASE("a hand-checked case") {
    const ism::layout l = ism::parse_layout("user:2,assistant:1,tool:3,assistant:1");
    CHECK(picture(ism::make_interval_mask<tool_results_bidirectional>(l), l.size()) ==
          std::vector<std::string>{
              "#......",
              "##.....",
              "###....",
              "######.",
              "######.",
              "######.",
              "#######",
          });
  }
  SUBCASE("random layouts against its own oracle") {
    random_layouts::for_random_layouts(7000, 1000, [&](auto&, const oracle::declared_layout& d) {
      const ism::layout l(d);
      const oracle::row o = oracle::describe(d);
      const ism::interval_mask m = ism::make_interval_mask<tool_results_bidirectional>(l);
      std::string mismatch;
      for (index_t q = 0; q < o.size(); ++q)
        for (index_t k = 0; k < o.size(); ++k) {
          const bool expected = o.tokens[q].doc_begin <= k && k <= hi_of(o, q);
          if (m.visible(q, k) != expected)
            mismatch += "(" + std::to_string(q) + "," + std::to_string(k) + ") ";
        }
      CHECK(mismatch == "");
      CHECK(m.monotone());
    });
  }
}

TEST_CASE("paradigms: a paradigm that leaves its document gets paradigm_error") {
  const ism::layout l = ism::parse_layout("user:2,assistant:1 | user:1,assistant:2");
  CHECK_THROWS_AS(ism::make_interval_mask<sees_next_document>(l), ism::paradigm_error);
  CHECK_THROWS_WITH(ism::make_interval_mask<sees_next_document>(l),
                    doctest::Contains("paradigm 'sees-next-document' gives token 0"));
  CHECK_THROWS_WITH(ism::make_interval_mask<sees_next_document>(l), doctest::Contains("[0, 3)"));
  // The first document's tokens have no earlier document to see; token 3 does.
  CHECK_THROWS_WITH(ism::make_interval_mask<sees_previous_document>(l),
                    doctest::Contains("token 0 the interval [-1, 0]"));
  CHECK_THROWS_AS(ism::make_interval_mask<sees_nothing>(l), ism::paradigm_error);
  CHECK_THROWS_WITH(ism::make_interval_mask<sees_nothing>(l), doctest::Contains("empty"));
  static_assert(std::is_base_of_v<std::invalid_argument, ism::paradigm_error>);
}

TEST_CASE("paradigms: fill_intervals gives any window of rows, checked as the whole mask is") {
  random_layouts::for_random_layouts(
      0xf111, 200, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout row(d);
        const index_t q0 = random_layouts::uniform(rng, 0, row.size());
        const index_t q1 = random_layouts::uniform(rng, q0, row.size());
        CAPTURE(q0);
        CAPTURE(q1);
        random_layouts::for_each_paradigm([&](auto policy, const char* name, const auto& kind) {
          CAPTURE(name);
          const ism::interval_mask whole = ism::make_interval_mask(row, policy);
          std::vector<index_t> lo(static_cast<std::size_t>(q1 - q0)), hi(lo.size());
          for (const auto fill : {0, 1}) {
            std::fill(lo.begin(), lo.end(), -7);
            std::fill(hi.begin(), hi.end(), -7);
            if (fill == 0)
              ism::fill_intervals(row, policy, q0, q1, lo, hi);
            else
              ism::fill_intervals(row, kind, q0, q1, lo, hi);
            for (index_t q = q0; q < q1; ++q) {
              CHECK(lo[static_cast<std::size_t>(q - q0)] == whole.lo()[q]);
              CHECK(hi[static_cast<std::size_t>(q - q0)] == whole.hi()[q]);
            }
          }
        });
      });
  // A window reports a bad paradigm at the first bad row inside it, and only there.
  const ism::layout l = ism::parse_layout("user:2,assistant:1 | user:1,assistant:2");
  index_t lo[2], hi[2];
  CHECK_THROWS_WITH(ism::fill_intervals(l, sees_previous_document{}, 3, 5, lo, hi),
                    doctest::Contains("token 3 the interval [2, 3]"));
  CHECK_THROWS_AS(ism::fill_intervals(l, sees_nothing{}, 1, 3, lo, hi), ism::paradigm_error);
  ism::fill_intervals(l, sees_previous_document{}, 5, 5, lo, hi);  // no rows: nothing to refuse
}
