// The training study: what it costs to train every answer of a dialogue once
// under a paradigm (docs/semantics.md#training-cost), counted and measured.
// Causal and ism train all answers in one pass over the dialogue; a prefix LM
// lets its earlier answers see later ones, so each answer needs its own
// sample, the dialogue cut at that answer's end ("triplet expansion"). The
// counts come from training_cost and the leakage analysis
// (docs/semantics.md#label-positions-and-leakage); the time is one forward
// pass of the reference decoder over every sample.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "ism/any_paradigm.hpp"
#include "ism/labels.hpp"
#include "ism/reference_decoder.hpp"
#include "ism/studies/dialogue.hpp"

namespace ism {
inline namespace v0 {

struct training_run {
  std::string paradigm;
  training_cost_report cost;
  // Of the whole dialogue as one sequence under the paradigm: positions that
  // carry a loss without seeing their target, and those that see it.
  index_t trainable_positions = 0;
  index_t leaking_positions = 0;
  double forward_s = 0;  // one forward pass over every sample
};

// The training samples of `sequence`, a single document, under a scheme:
// the sequence itself, or the sequence cut at the end of each answer.
inline std::vector<layout> training_samples(const layout& sequence, training_scheme scheme) {
  if (scheme == training_scheme::one_pass) return {sequence};
  std::vector<layout> out;
  std::vector<segment> kept;
  for (const segment_span& seg : sequence.segments()) {
    kept.push_back({seg.kind, seg.length()});
    if (is_answer(seg.kind)) out.emplace_back(std::vector<std::vector<segment>>{kept});
  }
  return out;
}

// Throws argument_error for a dialogue shape check_dialogue refuses or ids
// of another length, and what the decoder throws.
inline training_run training_study(const reference_decoder& decoder, const any_paradigm& paradigm,
                                   const dialogue_shape& shape, std::span<const token_id> ids) {
  check_dialogue(shape);
  if (static_cast<index_t>(ids.size()) != shape.tokens())
    throw argument_error("training_study: " + std::to_string(ids.size()) +
                         " token ids for a dialogue of " + std::to_string(shape.tokens()) +
                         " tokens");
  const layout dialogue = dialogue_layout(shape, shape.turns);
  training_run run{std::string(paradigm.name()), paradigm.training_cost(dialogue)};
  const label_report labels = classify_labels(dialogue, paradigm.intervals(dialogue));
  run.trainable_positions = labels.trainable_count();
  run.leaking_positions = static_cast<index_t>(labels.leaking.size());
  const auto start = std::chrono::steady_clock::now();
  for (const layout& sample : training_samples(dialogue, run.cost.scheme))
    decoder.forward(paradigm.intervals(sample), ids.first(static_cast<std::size_t>(sample.size())));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  run.forward_s = took.count();
  return run;
}

}  // namespace v0
}  // namespace ism
