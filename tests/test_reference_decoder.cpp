// The reference decoder and the serving study's exactness: a dialogue served
// turn by turn through the KV cache gives the hidden states of one forward
// pass over the whole dialogue under the paradigm's mask, as long as the
// cache keeps only what the paradigm's reusable prefix allows; a prefix LM
// that keeps its stale cache does not. Plus the counts of the serving study
// and every error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ism/any_paradigm.hpp>
#include <ism/paradigm_registry.hpp>
#include <ism/reference_decoder.hpp>
#include <ism/studies/serving.hpp>
#include <string>
#include <utility>
#include <vector>

#include "error_messages.hpp"
#include "small_decoder.hpp"

namespace {

using ism::index_t;

constexpr ism::dialogue_shape small_dialogue{.system = 10, .turns = 3, .user = 40, .answer = 30};

// max |a - b| / max |b|.
double relative_error(const ism::hidden_states& a, const ism::hidden_states& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return static_cast<double>((a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff());
}

ism::hidden_states full_forward(const ism::reference_decoder& decoder,
                                const ism::any_paradigm& paradigm,
                                const std::vector<ism::token_id>& ids) {
  return decoder.forward(
      paradigm.intervals(ism::dialogue_layout(small_dialogue, small_dialogue.turns)), ids);
}

}  // namespace

TEST_CASE("serving: causal and ism served through the cache equal one full forward pass") {
  const ism::reference_decoder decoder(small_decoder());
  const auto ids = ism::dialogue_tokens(small_dialogue, 50, 3);
  for (const char* name : {"causal", "ism"}) {
    CAPTURE(name);
    const ism::any_paradigm p = ism::paradigm_from_name(name);
    const ism::serving_run run = ism::serve_dialogue(decoder, p, small_dialogue, ids);
    CHECK(relative_error(run.states, full_forward(decoder, p, ids)) <= 1e-4);
    // Every token computed once.
    REQUIRE(run.turns.size() == 3);
    CHECK(run.turns[0].tokens_computed == 10 + 40 + 30);
    CHECK(run.turns[2].tokens_computed == 40 + 30);
    index_t pairs = 0;
    for (const ism::serving_turn& t : run.turns) pairs += t.attention_pairs;
    CHECK(pairs == p.intervals(ism::dialogue_layout(small_dialogue, 3)).visible_pairs());
  }
}

TEST_CASE("serving: a prefix LM matches its full forward only when it recomputes") {
  const ism::reference_decoder decoder(small_decoder());
  // bidirectional recomputes everything at every token: a shorter dialogue.
  constexpr ism::dialogue_shape shorter{.system = 6, .turns = 3, .user = 20, .answer = 12};
  for (const auto& [name, shape] : {std::pair{"prefix", small_dialogue},
                                    std::pair{"bidirectional", shorter}}) {
    CAPTURE(name);
    const ism::any_paradigm p = ism::paradigm_from_name(name);
    const auto ids = ism::dialogue_tokens(shape, 50, 4);
    const ism::hidden_states full =
        decoder.forward(p.intervals(ism::dialogue_layout(shape, shape.turns)), ids);
    const ism::serving_run exact = ism::serve_dialogue(decoder, p, shape, ids);
    CHECK(relative_error(exact.states, full) <= 1e-4);
    const ism::serving_run stale = ism::serve_dialogue(
        decoder, p, shape, ids, {.cache = ism::cache_policy::keep_stale, .repeats = 2});
    CHECK(relative_error(stale.states, full) > 1e-2);
    CHECK(stale.turns[2].tokens_computed == shape.user + shape.answer);
    // prefix recomputes the whole dialogue at each user message, then decodes
    // from its cache; bidirectional recomputes everything at every token.
    const index_t history = shape.system + 3 * shape.user + 2 * shape.answer;
    index_t recomputed = history;
    for (index_t a = 1; a <= shape.answer; ++a)
      recomputed += std::string(name) == "prefix" ? 1 : history + a;
    CHECK(exact.turns[2].tokens_computed == recomputed);
  }
}

TEST_CASE("reference_decoder: seeded, and a forward in pieces equals one in whole") {
  const ism::reference_decoder a(small_decoder());
  const ism::reference_decoder b(small_decoder());
  ism::decoder_config other = small_decoder();
  other.seed = 8;
  const ism::reference_decoder c(other);
  const std::vector<ism::token_id> ids{1, 4, 9, 16, 25, 36, 49, 0, 3};
  const ism::interval_mask m = ism::make_interval_mask(
      ism::layout_builder{}.user(4).assistant(5).build(), ism::intermittent{});
  const ism::hidden_states whole = a.forward(m, ids);
  CHECK(whole == b.forward(m, ids));
  CHECK(relative_error(c.forward(m, ids), whole) > 1e-2);
  ism::kv_cache cache = a.make_cache();
  ism::hidden_states pieces(9, 32);
  pieces.topRows(4) = a.forward(m, std::span(ids).first(4), 0, cache);
  pieces.bottomRows(5) = a.forward(m, std::span(ids).last(5), 4, cache);
  CHECK(relative_error(pieces, whole) <= 1e-5);
  CHECK((whole.rowwise().squaredNorm().array() - 32.0f).abs().maxCoeff() < 1e-2f);  // RMS 1
}

TEST_CASE("reference_decoder and serving: every error names the problem") {
  const auto refused = [](auto change) {
    ism::decoder_config c = small_decoder();
    change(c);
    return error_message<ism::argument_error>([&] { ism::reference_decoder{c}; });
  };
  CHECK(contains(refused([](ism::decoder_config& c) { c.layers = 0; }), "layers is 0"));
  CHECK(contains(refused([](ism::decoder_config& c) { c.vocabulary = -1; }), "vocabulary is -1"));
  CHECK(contains(refused([](ism::decoder_config& c) { c.threads = 0; }), "threads is 0"));
  CHECK(contains(refused([](ism::decoder_config& c) { c.heads = 3; }),
                 "d_model 32 is not a multiple of the 3 heads"));
  CHECK(contains(refused([](ism::decoder_config& c) { c.kv_heads = 3; }),
                 "4 heads are not a multiple of the 3 KV heads"));

  const ism::reference_decoder decoder(small_decoder());
  const ism::interval_mask m =
      ism::make_interval_mask(ism::layout_builder{}.user(4).build(), ism::causal{});
  const std::vector<ism::token_id> ids{1, 2, 50, 3};
  CHECK(contains(error_message<ism::argument_error>([&] { decoder.forward(m, ids); }),
                 "token 2 has id 50, outside the vocabulary [0, 50)"));
  ism::kv_cache cache = decoder.make_cache();
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { decoder.forward(m, std::span(ids).first(2), 1, cache); }),
                 "holds 0 tokens in layer 0 but the tokens start at position 1"));
  ism::kv_cache wrong(2, 1, 8);
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { decoder.forward(m, std::span(ids).first(2), 0, wrong); }),
                 "not of this decoder's shape"));

  const ism::any_paradigm causal = ism::paradigm_from_name("causal");
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { ism::serve_dialogue(decoder, causal, small_dialogue, ids); }),
                 "4 token ids for a dialogue of 220 tokens"));
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::serve_dialogue(decoder, causal, small_dialogue,
                                       ism::dialogue_tokens(small_dialogue, 50, 1), {.repeats = 0});
                 }),
                 "0 repeats"));
  ism::dialogue_shape no_turns = small_dialogue;
  no_turns.turns = 0;
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { ism::serve_dialogue(decoder, causal, no_turns, ids); }),
                 "the number of turns is 0"));
  ism::dialogue_shape huge = small_dialogue;
  huge.turns = index_t{1} << 40;
  CHECK(contains(error_message<ism::argument_error>([&] { ism::check_dialogue(huge); }),
                 "exceed a layout's"));
}
