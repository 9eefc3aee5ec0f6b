// What it costs to train every assistant segment of a layout once
// (docs/semantics.md#training-cost). Causal and ISM train all turns in one pass over the sequence. A
// prefix LM sees its earlier answers bidirectionally, so each answer needs its own
// sample: the document cut at that answer's end ("triplet expansion").
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "ism/labels.hpp"
#include "ism/segment_function.hpp"

namespace ism {
inline namespace v0 {

struct training_cost_report {
  training_scheme scheme = training_scheme::one_pass;
  index_t samples = 0;
  index_t tokens = 0;           // summed over samples
  index_t attention_pairs = 0;  // visible pairs, summed over samples
  index_t answer_segments = 0;
  index_t untrainable_segments = 0;  // answers that leak even in their own sample
};

namespace detail {

// Every target token of `seg` (those with a predecessor in the document) has a
// trainable predecessor.
inline bool trains_segment(const label_report& labels, const segment_span& seg,
                           index_t document_begin) {
  for (index_t t = std::max(seg.begin, document_begin + 1); t < seg.end; ++t)
    if (!labels.trainable[t - 1]) return false;
  return true;
}

}  // namespace detail

namespace detail {

// The cost of the sample that cuts `seg`'s document at its end, from the
// paradigm's closed form when it states one, else by building the sample.
template <paradigm P>
sample_cost cost_of_sample(const layout& sequence, const P& policy, const segment_span& seg,
                           index_t trailing_answer_begin) {
  const document_span& doc = sequence.documents()[static_cast<std::size_t>(seg.document)];
  if constexpr (states_sample_cost<P>) {
    const index_t cut_length = seg.end - doc.begin;
    const document_span cut{0, cut_length, 0, 0, trailing_answer_begin - doc.begin};
    return P::training_sample(cut, {seg.kind, seg.begin - doc.begin, cut_length, 0});
  } else {
    std::vector<segment> kept;
    for (index_t s = doc.first_segment; s <= &seg - sequence.segments().data(); ++s)
      kept.push_back({sequence.segments()[s].kind, sequence.segments()[s].length()});
    const layout sample({std::move(kept)});
    const interval_mask sample_mask = make_interval_mask(sample, policy);
    return {sample_mask.visible_pairs(),
            trains_segment(classify_labels(sample, sample_mask), sample.segments().back(), 0)};
  }
}

}  // namespace detail

// The tokens that training_cost visits: the sequence once, plus every sample
// it must build, which is none when the paradigm trains in one pass or states
// each sample's cost in closed form. Lets a caller refuse a layout whose cost
// it cannot afford before the costly part. O(segments) when the paradigm
// states its scheme; otherwise the scheme is read off the sequence's labels,
// in O(N).
template <paradigm P>
index_t training_cost_work(const layout& sequence, const P& policy = P{}) {
  index_t work = sequence.size();
  if constexpr (!states_sample_cost<P>) {
    bool one_pass;
    if constexpr (states_training_scheme<P>)
      one_pass = P::training == training_scheme::one_pass;
    else
      one_pass =
          classify_labels(sequence, make_interval_mask(sequence, policy)).leaking.empty();
    if (one_pass) return work;
    for (const segment_span& seg : sequence.segments()) {
      const index_t cut = seg.end - sequence.documents()[seg.document].begin;
      if (is_answer(seg.kind)) work = cut > max_index - work ? max_index : work + cut;
    }
  }
  return work;
}

// Time: O(N) in one pass; per answer, O(segments) for a paradigm that states
// its samples' cost (prefix, bidirectional), else O(sum of the sample lengths),
// which training_cost_work reports. Throws overflow_error if the summed tokens
// or pairs exceed index_t.
template <paradigm P>
training_cost_report training_cost(const layout& sequence, const P& policy = P{}) {
  training_cost_report report;
  for (const segment_span& seg : sequence.segments()) report.answer_segments += is_answer(seg.kind);

  // The whole sequence's mask decides the scheme of a paradigm that does not
  // state one, and is the single sample of a one-pass paradigm.
  std::optional<interval_mask> whole;
  std::optional<label_report> labels;
  const auto whole_sequence = [&] {
    if (!whole) {
      whole = make_interval_mask(sequence, policy);
      labels = classify_labels(sequence, *whole);
    }
  };
  if constexpr (states_training_scheme<P>) {
    report.scheme = P::training;
  } else {
    whole_sequence();
    report.scheme = labels->leaking.empty() ? training_scheme::one_pass
                                            : training_scheme::one_sample_per_answer;
  }
  if (report.scheme == training_scheme::one_pass) {
    whole_sequence();
    report.samples = 1;
    report.tokens = sequence.size();
    report.attention_pairs = whole->visible_pairs();
    for (const segment_span& seg : sequence.segments())
      if (is_answer(seg.kind) &&
          !detail::trains_segment(*labels, seg, sequence.documents()[seg.document].begin))
        ++report.untrainable_segments;
    return report;
  }

  index_t trailing_answer_begin = 0;  // of the run of answers ending at the current segment
  for (const segment_span& seg : sequence.segments()) {
    if (!is_answer(seg.kind)) continue;
    const bool run_continues = seg.begin != sequence.documents()[seg.document].begin &&
                               is_answer(sequence.segments()[&seg - sequence.segments().data() - 1].kind);
    if (!run_continues) trailing_answer_begin = seg.begin;
    const sample_cost cost = detail::cost_of_sample(sequence, policy, seg, trailing_answer_begin);
    const index_t tokens = seg.end - sequence.documents()[seg.document].begin;
    ++report.samples;
    if (tokens > max_index - report.tokens || cost.attention_pairs > max_index - report.attention_pairs)
      throw overflow_error("training_cost: tokens or attention pairs summed over " +
                           std::to_string(report.samples) + " samples exceed 2^63");
    report.tokens += tokens;
    report.attention_pairs += cost.attention_pairs;
    report.untrainable_segments += !cost.trains_last_answer;
  }
  return report;
}

}  // namespace v0
}  // namespace ism
