// The row both attention benchmarks run on: one multi-turn conversation of n
// tokens, a system prompt of 100 to 300 tokens, then user turns of 20 to 200
// tokens and answers of 50 to 500, seeded, cut at n.
#pragma once

#include <algorithm>
#include <ism/layout.hpp>
#include <random>

inline ism::layout multi_turn_layout(ism::index_t n) {
  std::mt19937_64 rng(0x15a'2408);
  const auto uniform = [&](ism::index_t lo, ism::index_t hi) {
    return std::uniform_int_distribution<ism::index_t>(lo, hi)(rng);
  };
  ism::layout_builder row;
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
  return row.build();
}
