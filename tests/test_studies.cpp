// The in-context-learning and training studies: the paper's claims as
// checks. Linear self-attention under prefix and under ism with one context
// segment does the same arithmetic, bit for bit, and falls towards the
// least-squares optimum; causal attention plateaus. ism trains a dialogue in
// the tokens causal does, prefix in about T/2 times as many.
#include <doctest/doctest.h>

#include <ism/paradigm_registry.hpp>
#include <ism/studies/icl.hpp>
#include <ism/studies/training.hpp>
#include <string>
#include <vector>

#include "error_messages.hpp"
#include "small_decoder.hpp"

namespace {

using ism::index_t;

ism::icl_curve icl(const char* paradigm, index_t segments = 1) {
  return ism::icl_study(ism::icl_config{}, ism::paradigm_from_name(paradigm), segments);
}

}  // namespace

TEST_CASE("icl: prefix and ism with one segment learn in batch, causal online") {
  const ism::icl_curve prefix = icl("prefix");
  const ism::icl_curve ism1 = icl("ism", 1);
  const ism::icl_curve ism4 = icl("ism", 4);
  const ism::icl_curve ism40 = icl("ism", 40);
  const ism::icl_curve causal = icl("causal");
  REQUIRE(prefix.mse.size() == 50);
  CHECK(ism1.mse == prefix.mse);  // the same examples for every token: the same bits
  CHECK(ism40.mse == causal.mse);  // one example a segment is causal
  CHECK(prefix.mse[49] < 1e-3);
  CHECK(prefix.mse[49] < prefix.mse[24] / 10);  // still falling: linear convergence
  CHECK(causal.mse[49] > 0.1);
  CHECK(causal.mse[49] > causal.mse[24] / 2);  // a plateau
  CHECK(ism4.mse[49] < causal.mse[49]);
  CHECK(ism4.mse[49] > prefix.mse[49]);
  CHECK(ism4.segments == 4);
  CHECK(ism4.paradigm == "ism");
}

TEST_CASE("icl: the layout groups examples in segments, and bad settings are refused") {
  const ism::layout l = ism::icl_layout(10, 4);
  REQUIRE(l.segments().size() == 5);
  CHECK(l.segments()[0].length() == 3);
  CHECK(l.segments()[3].length() == 2);
  CHECK(l.segments()[4].kind == ism::role::assistant);
  const ism::any_paradigm p = ism::paradigm_from_name("ism");
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { ism::icl_study(ism::icl_config{}, p, 0); }),
                 "0 context segments for 40 examples; it must lie in [1, 40]"));
  CHECK(contains(error_message<ism::argument_error>(
                     [&] { ism::icl_study(ism::icl_config{}, p, 41); }),
                 "41 context segments"));
  ism::icl_config c;
  c.layers = 0;
  CHECK(contains(error_message<ism::argument_error>([&] { ism::icl_study(c, p, 1); }),
                 "the layer count is 0"));
  c = {};
  c.step = 1.0 / 0.0;
  CHECK(contains(error_message<ism::argument_error>([&] { ism::icl_study(c, p, 1); }),
                 "the step must be finite"));
}

TEST_CASE("training: ism trains in causal's tokens, prefix in one sample per answer") {
  const ism::reference_decoder decoder(small_decoder());
  const ism::dialogue_shape shape{.system = 4, .turns = 6, .user = 5, .answer = 7};
  const auto ids = ism::dialogue_tokens(shape, 50, 1);
  const auto run = [&](const char* name) {
    return ism::training_study(decoder, ism::paradigm_from_name(name), shape, ids);
  };
  const ism::training_run causal = run("causal");
  const ism::training_run ism = run("ism");
  const ism::training_run prefix = run("prefix");
  CHECK(causal.cost.samples == 1);
  CHECK(ism.cost.samples == 1);
  CHECK(ism.cost.tokens == causal.cost.tokens);
  CHECK(causal.cost.tokens == shape.tokens());
  CHECK(prefix.cost.samples == 6);
  index_t expanded = 0;
  for (index_t t = 1; t <= 6; ++t) expanded += 4 + t * 12;
  CHECK(prefix.cost.tokens == expanded);
  CHECK(prefix.cost.tokens * 2 >= shape.turns * causal.cost.tokens);
  CHECK(ism.trainable_positions == 6 * 7);
  CHECK(ism.leaking_positions == 0);
  CHECK(prefix.leaking_positions > 0);
  CHECK(causal.forward_s > 0);
  CHECK(ism::training_samples(ism::dialogue_layout(shape, 6),
                              ism::training_scheme::one_sample_per_answer)
            .size() == 6);
  CHECK(contains(error_message<ism::argument_error>([&] {
                   ism::training_study(decoder, ism::paradigm_from_name("ism"), shape,
                                       std::span(ids).first(3));
                 }),
                 "3 token ids for a dialogue of 76 tokens"));
}
