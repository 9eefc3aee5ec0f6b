// Inputs for the property tests: seeded, reproducible random layouts (and random
// extensions of them), plus the four built-in paradigms to run them under. Every
// generator takes an explicit std::mt19937_64, so a failure is replayed from the
// seed and layout text that the tests CAPTURE.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <ism/chunk.hpp>
#include <ism/paradigms.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "oracle.hpp"

namespace random_layouts {

using index = std::int64_t;
using oracle::declared_layout;

// Seeds are fixed so every run visits the same layouts.
inline constexpr std::uint64_t default_seed = 0x15a'2408'0053'9ULL;
inline constexpr index max_tokens = 60;
inline constexpr index max_segment_length = 12;

inline index uniform(std::mt19937_64& rng, index lo, index hi) {
  return std::uniform_int_distribution<index>(lo, hi)(rng);
}

inline bool chance(std::mt19937_64& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

inline ism::role any_role(std::mt19937_64& rng) {
  static constexpr ism::role roles[] = {ism::role::system, ism::role::user, ism::role::tool,
                                        ism::role::assistant, ism::role::assistant};
  return roles[uniform(rng, 0, 4)];
}

inline ism::role any_context(std::mt19937_64& rng) {
  static constexpr ism::role roles[] = {ism::role::system, ism::role::user, ism::role::tool};
  return roles[uniform(rng, 0, 2)];
}

namespace detail {

// The writer behind text() and varied_text(): canonical without `vary`.
inline std::string write_text(const declared_layout& d, std::mt19937_64* vary) {
  static constexpr const char* names[] = {"system", "user", "tool", "assistant"};
  // Draws in a fixed order (not as operands of one +), so one seed gives one text.
  const auto around = [&](char c) {
    std::string out(chance(*vary, 1.0 / 3) ? 1 : 0, ' ');
    out += c;
    out.append(chance(*vary, 1.0 / 3) ? 1 : 0, ' ');
    return out;
  };
  const auto separator = [&](char c) {
    return vary ? around(c) : std::string(c == '|' ? " | " : ", ");
  };
  std::string out;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i) out += separator('|');
    for (std::size_t s = 0; s < d[i].size(); ++s) {
      if (s) out += separator(',');
      const std::string name = names[static_cast<int>(d[i][s].kind)];
      out += vary && chance(*vary, 0.5) ? name.substr(0, 1) : name;
      out += vary ? around(':') : ":";
      out += std::to_string(d[i][s].length);
    }
  }
  return out;
}

}  // namespace detail

// Text written by the tests, not by ism::to_text, so a failure message does not
// depend on the code under test.
inline std::string text(const declared_layout& d) {
  return detail::write_text(d, nullptr);
}

// The same layout with random spacing around ',', '|' and ':' and full or
// one-letter role names, so tests that go through the text exercise the parser.
inline std::string varied_text(std::mt19937_64& rng, const declared_layout& d) {
  return detail::write_text(d, &rng);
}

inline index token_count(const declared_layout& d) {
  index n = 0;
  for (const auto& doc : d)
    for (const ism::segment& s : doc) n += s.length;
  return n;
}

// The shapes the generator mixes; each shape stresses a corner of docs/semantics.md#paradigms-and-the-segment-function.
enum class shape {
  single_token,
  one_segment,
  chat,            // optional system, then user/assistant turns, maybe a tool call
  context_runs,    // runs of consecutive context segments
  answer_runs,     // runs of consecutive answers, answer-first documents
  many_documents,  // lots of short documents
  anything,        // any role anywhere
  count_
};

inline declared_layout random_layout(std::mt19937_64& rng) {
  const auto s = static_cast<shape>(uniform(rng, 0, static_cast<index>(shape::count_) - 1));
  declared_layout out;
  index budget = max_tokens;
  // Adds a segment if the budget allows; returns false when full.
  const auto add = [&](ism::role kind, index longest) {
    if (budget == 0) return false;
    const index len = uniform(rng, 1, std::min(longest, budget));
    out.back().push_back({kind, len});
    budget -= len;
    return true;
  };
  switch (s) {
    case shape::single_token:
      out.emplace_back();
      add(any_role(rng), 1);
      break;
    case shape::one_segment:
      out.emplace_back();
      add(any_role(rng), max_segment_length);
      break;
    case shape::chat: {
      const index documents = uniform(rng, 1, 3);
      for (index d = 0; d < documents && budget > 0; ++d) {
        out.emplace_back();
        if (chance(rng, 0.5)) add(ism::role::system, max_segment_length);
        const index turns = uniform(rng, 1, 4);
        for (index t = 0; t < turns; ++t) {
          add(ism::role::user, max_segment_length);
          if (chance(rng, 0.25)) {
            add(ism::role::assistant, 4);
            add(ism::role::tool, max_segment_length);
          }
          // Sometimes the conversation ends awaiting an answer.
          if (t + 1 < turns || chance(rng, 0.7)) add(ism::role::assistant, max_segment_length);
        }
        if (out.back().empty()) out.pop_back();
      }
      break;
    }
    case shape::context_runs:
    case shape::answer_runs: {
      const bool answers = s == shape::answer_runs;
      const index documents = uniform(rng, 1, 3);
      for (index d = 0; d < documents && budget > 0; ++d) {
        out.emplace_back();
        bool answer_now = answers ? chance(rng, 0.7) : chance(rng, 0.3);
        const index runs = uniform(rng, 1, 4);
        for (index r = 0; r < runs; ++r) {
          const index run = uniform(rng, 1, 3);
          for (index i = 0; i < run; ++i)
            add(answer_now ? ism::role::assistant : any_context(rng),
                answers ? 5 : max_segment_length);
          answer_now = !answer_now;
        }
        if (out.back().empty()) out.pop_back();
      }
      break;
    }
    case shape::many_documents: {
      const index documents = uniform(rng, 5, 15);
      for (index d = 0; d < documents && budget > 0; ++d) {
        out.emplace_back();
        const index segments = uniform(rng, 1, 3);
        for (index i = 0; i < segments; ++i) add(any_role(rng), 3);
        if (out.back().empty()) out.pop_back();
      }
      break;
    }
    case shape::anything:
    case shape::count_: {
      const index documents = uniform(rng, 1, 4);
      for (index d = 0; d < documents && budget > 0; ++d) {
        out.emplace_back();
        const index segments = uniform(rng, 1, 6);
        for (index i = 0; i < segments; ++i) add(any_role(rng), max_segment_length);
        if (out.back().empty()) out.pop_back();
      }
      break;
    }
  }
  return out;
}

// How B extends A in a reusable-prefix test (docs/semantics.md#reusable-kv-prefix).
enum class extension {
  none,
  append_segments,      // more segments at the end of the last document
  append_documents,     // new documents after the last
  lengthen_last,        // the last segment grows
  lengthen_and_append,  // the last segment grows, then segments and documents follow
  append_turn,          // a user turn and an assistant answer (the headline case)
  count_
};

inline std::string extension_name(extension e) {
  switch (e) {
    case extension::none:
      return "none";
    case extension::append_segments:
      return "append_segments";
    case extension::append_documents:
      return "append_documents";
    case extension::lengthen_last:
      return "lengthen_last";
    case extension::lengthen_and_append:
      return "lengthen_and_append";
    case extension::append_turn:
      return "append_turn";
    case extension::count_:
      break;
  }
  return "?";
}

inline void append_segments(std::mt19937_64& rng, declared_layout& d) {
  const index segments = uniform(rng, 1, 3);
  for (index i = 0; i < segments; ++i) d.back().push_back({any_role(rng), uniform(rng, 1, 6)});
}

inline void append_documents(std::mt19937_64& rng, declared_layout& d) {
  const index documents = uniform(rng, 1, 2);
  for (index i = 0; i < documents; ++i) {
    d.emplace_back();
    append_segments(rng, d);
  }
}

inline declared_layout extend(std::mt19937_64& rng, const declared_layout& a, extension e) {
  declared_layout b = a;
  switch (e) {
    case extension::none:
    case extension::count_:
      break;
    case extension::append_segments:
      append_segments(rng, b);
      break;
    case extension::append_documents:
      append_documents(rng, b);
      break;
    case extension::lengthen_last:
      b.back().back().length += uniform(rng, 1, 5);
      break;
    case extension::lengthen_and_append:
      b.back().back().length += uniform(rng, 1, 5);
      if (chance(rng, 0.5)) append_segments(rng, b);
      if (chance(rng, 0.5)) append_documents(rng, b);
      break;
    case extension::append_turn:
      b.back().push_back({ism::role::user, uniform(rng, 1, 6)});
      b.back().push_back({ism::role::assistant, uniform(rng, 1, 6)});
      break;
  }
  return b;
}

inline extension any_extension(std::mt19937_64& rng) {
  return static_cast<extension>(uniform(rng, 0, static_cast<index>(extension::count_) - 1));
}

// A random chunk [q0, q1) x [k0, k1) of an n-token row; empty ranges included.
inline ism::chunk random_chunk(std::mt19937_64& rng, index n) {
  index q0 = uniform(rng, 0, n), q1 = uniform(rng, 0, n);
  index k0 = uniform(rng, 0, n), k1 = uniform(rng, 0, n);
  if (q0 > q1) std::swap(q0, q1);
  if (k0 > k1) std::swap(k0, k1);
  if (chance(rng, 0.1)) q1 = q0;
  if (chance(rng, 0.1)) k1 = k0;
  return {q0, q1, k0, k1};
}

// Calls body(rng, layout) for `count` random layouts. Layout i is drawn from
// its own seed, base + i, so one failure replays alone; the seed and the layout
// text are attached to every check made inside body.
template <class Body>
void for_random_layouts(std::uint64_t base, int count, Body&& body) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t seed = base + static_cast<std::uint64_t>(i);
    std::mt19937_64 rng(seed);
    const declared_layout d = random_layout(rng);
    const std::string shown = text(d);
    DOCTEST_INFO("layout seed ", seed, ": ", shown);
    body(rng, d);
  }
}

// The paradigms the tests run by name: the four built-ins and one of the
// data-driven family, each a name both ism::paradigm_from_name and the oracle
// read.
inline const std::vector<std::string> paradigm_names{"causal", "prefix", "ism", "bidirectional",
                                                     "bidirectional-roles:tool"};

// Calls f(policy, oracle_name, kind) for each built-in paradigm.
template <class F>
void for_each_paradigm(F&& f) {
  f(ism::causal{}, "causal", ism::paradigm_from_name("causal"));
  f(ism::prefix{}, "prefix", ism::paradigm_from_name("prefix"));
  f(ism::intermittent{}, "ism", ism::paradigm_from_name("ism"));
  f(ism::bidirectional{}, "bidirectional", ism::paradigm_from_name("bidirectional"));
}

}  // namespace random_layouts
