// The serving study: a multi-turn dialogue served through the reference
// decoder's KV cache, turn by turn, the way a chat server runs it. Each turn
// prefills the new user message against the cache, then decodes the answer
// one teacher-forced token at a time. Before every step the paradigm says how
// much of the cache survives (docs/semantics.md#reusable-kv-prefix): causal
// and ism keep all of it, prefix falls back to the start of the document at
// every new user message, bidirectional at every token, and the rest is
// computed again. The cost per turn is measured in time and counted in rows
// and attention pairs.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ism/any_paradigm.hpp"
#include "ism/reference_decoder.hpp"
#include "ism/studies/dialogue.hpp"

namespace ism {
inline namespace v0 {

struct serving_turn {
  index_t turn = 0;                 // 1-based
  double ttft_s = 0;                // the user message's prefill: time to the first answer token
  double decode_s_per_token = 0;    // mean time of one answer token's step
  index_t tokens_computed = 0;      // rows run through the decoder, prefill and decode
  index_t attention_pairs = 0;      // visible (query, key) pairs of those rows
};

// What the cache keeps before each step.
enum class cache_policy {
  reusable_prefix,  // what the paradigm's reusable prefix allows: exact
  keep_stale,       // everything, even rows the new tokens change: wrong for prefix
};

// What a step's time is.
enum class serving_clock {
  wall,         // elapsed time: the latency a user sees on an idle machine
  process_cpu,  // the process's CPU time: the same with one thread, and blind to other
                // processes that share the cores; with more threads, their sum
};

struct serving_options {
  cache_policy cache = cache_policy::reusable_prefix;
  serving_clock clock = serving_clock::wall;
  // Each step is run this many times from the same cache and the fastest
  // time kept: on a shared machine the slower runs measure the neighbours.
  index_t repeats = 1;
};

struct serving_run {
  std::string paradigm;
  std::vector<serving_turn> turns;
  hidden_states states;  // (tokens, d_model): every position's state when last computed
};

// Serves the dialogue `shape` whose token ids are `ids`. The system prompt is
// prefilled with turn 1's user message. Throws argument_error for a dialogue
// shape check_dialogue refuses, ids of another length or fewer than one
// repeat, and what the decoder throws.
inline serving_run serve_dialogue(const reference_decoder& decoder, const any_paradigm& paradigm,
                                  const dialogue_shape& shape, std::span<const token_id> ids,
                                  const serving_options& options = {}) {
  check_dialogue(shape);
  if (options.repeats < 1)
    throw argument_error("serve_dialogue: " + std::to_string(options.repeats) +
                         " repeats; each step runs at least once");
  if (static_cast<index_t>(ids.size()) != shape.tokens())
    throw argument_error("serve_dialogue: " + std::to_string(ids.size()) +
                         " token ids for a dialogue of " + std::to_string(shape.tokens()) +
                         " tokens");
  serving_run run{std::string(paradigm.name()), {},
                  hidden_states::Zero(shape.tokens(), decoder.config().d_model)};
  kv_cache cache = decoder.make_cache();
  std::optional<layout> current;  // what the cache was computed for

  const auto now = [&] {
    if (options.clock == serving_clock::process_cpu)
      return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };

  // Grows the dialogue to `next`; returns the seconds the fastest repeat
  // took and adds what was computed to `turn`.
  const auto step = [&](const layout& next, serving_turn& turn) {
    const index_t n = next.size();
    index_t keep = cache.tokens(0);
    double fastest = 0;
    for (index_t r = 0; r < options.repeats; ++r) {
      const double start = now();
      if (r == 0 && options.cache == cache_policy::reusable_prefix)
        keep = current ? std::min(keep, paradigm.reusable_prefix(*current, next)) : 0;
      cache.truncate(keep);
      const interval_mask m = paradigm.intervals(next);
      run.states.middleRows(keep, n - keep) =
          decoder.forward(m, ids.subspan(static_cast<std::size_t>(keep),
                                         static_cast<std::size_t>(n - keep)),
                          keep, cache);
      const double took = now() - start;
      fastest = r == 0 ? took : std::min(fastest, took);
      if (r == 0) turn.attention_pairs += m.visible_pairs(keep, n);
    }
    turn.tokens_computed += n - keep;
    current = next;
    return fastest;
  };

  for (index_t t = 0; t < shape.turns; ++t) {
    serving_turn& turn = run.turns.emplace_back();
    turn.turn = t + 1;
    turn.ttft_s = step(dialogue_layout(shape, t, true), turn);
    double decoding = 0;
    for (index_t a = 1; a <= shape.answer; ++a)
      decoding += step(dialogue_layout(shape, t, true, a), turn);
    turn.decode_s_per_token = decoding / static_cast<double>(shape.answer);
  }
  return run;
}

}  // namespace v0
}  // namespace ism
