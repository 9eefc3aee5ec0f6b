// The rows the benchmarks run on: multi-turn conversations of n tokens, each a
// system prompt of 100 to 300 tokens, then user turns of 20 to 200 tokens and
// answers of 50 to 500, seeded, cut at n. multi_turn_layout is one such
// conversation; packed_multi_turn_layout packs several, each from its own seed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ism/layout.hpp>
#include <random>

inline constexpr std::uint64_t multi_turn_seed = 0x15a'2408;

// Adds one conversation of n tokens to the builder's current document.
inline void add_multi_turn_conversation(ism::layout_builder& row, ism::index_t n,
                                        std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&](ism::index_t lo, ism::index_t hi) {
    return std::uniform_int_distribution<ism::index_t>(lo, hi)(rng);
  };
  ism::index_t left = n;
  const auto add = [&](ism::role kind, ism::index_t length) {
    length = std::min(length, left);
    if (length > 0) row.add(kind, length);
    left -= length;
  };
  add(ism::role::system, uniform(100, 300));
  while (left > 0) {
    add(ism::role::user, uniform(20, 200));
    add(ism::role::assistant, uniform(50, 500));
  }
}

inline ism::layout multi_turn_layout(ism::index_t n) {
  ism::layout_builder row;
  add_multi_turn_conversation(row, n, multi_turn_seed);
  return row.build();
}

// `conversations` documents of n tokens each, conversation c from seed
// multi_turn_seed + c.
inline ism::layout packed_multi_turn_layout(ism::index_t conversations, ism::index_t n) {
  ism::layout_builder row;
  for (ism::index_t c = 0; c < conversations; ++c) {
    if (c > 0) row.next_document();
    add_multi_turn_conversation(row, n, multi_turn_seed + static_cast<std::uint64_t>(c));
  }
  return row.build();
}
