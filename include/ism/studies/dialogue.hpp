// The multi-turn dialogue the serving and training studies share: a system
// prompt, then turns of a user message and an assistant answer, as a layout
// and as teacher-forced token ids.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "ism/detail/check_positive.hpp"
#include "ism/layout.hpp"
#include "ism/reference_decoder.hpp"

namespace ism {
inline namespace v0 {

struct dialogue_shape {
  index_t system = 32;
  index_t turns = 20;
  index_t user = 64;
  index_t answer = 128;

  index_t tokens() const noexcept { return system + turns * (user + answer); }
};

// Throws argument_error naming the setting for lengths below 1 or a
// dialogue longer than a layout holds.
inline void check_dialogue(const dialogue_shape& shape) {
  detail::check_positive(shape.system, "dialogue", "the system prompt length");
  detail::check_positive(shape.turns, "dialogue", "the number of turns");
  detail::check_positive(shape.user, "dialogue", "the user message length");
  detail::check_positive(shape.answer, "dialogue", "the answer length");
  const index_t turn = shape.user > layout::max_tokens - shape.answer
                           ? layout::max_tokens
                           : shape.user + shape.answer;
  if (shape.system > layout::max_tokens ||
      shape.turns > (layout::max_tokens - shape.system) / turn)
    throw argument_error("dialogue: " + std::to_string(shape.turns) + " turns of " +
                         std::to_string(turn) + " tokens exceed a layout's " +
                         std::to_string(layout::max_tokens) + " tokens");
}

// The dialogue as far as `turns` whole turns, then, when `user` is set, the
// next user message and the first `answered` tokens of its answer (none:
// the layout ends with the user message).
inline layout dialogue_layout(const dialogue_shape& shape, index_t turns, bool user = false,
                              index_t answered = 0) {
  layout_builder b;
  b.system(shape.system);
  for (index_t t = 0; t < turns; ++t) b.user(shape.user).assistant(shape.answer);
  if (user) b.user(shape.user);
  if (user && answered > 0) b.assistant(answered);
  return b.build();
}

// Seeded token ids, one for every token of the whole dialogue.
inline std::vector<token_id> dialogue_tokens(const dialogue_shape& shape, index_t vocabulary,
                                             std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<token_id> id(0, static_cast<token_id>(vocabulary - 1));
  std::vector<token_id> out(static_cast<std::size_t>(shape.tokens()));
  for (token_id& t : out) t = id(rng);
  return out;
}

}  // namespace v0
}  // namespace ism
