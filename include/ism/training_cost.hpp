// What it costs to train every assistant segment of a layout once (SPEC.md
// section 5). Causal and ISM train all turns in one pass over the sequence. A
// prefix LM sees its earlier answers bidirectionally, so each answer needs its own
// sample: the document cut at that answer's end ("triplet expansion").
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ism/labels.hpp"
#include "ism/paradigms.hpp"
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

// Time: O(N) in one pass; per answer, O(sum of the sample lengths), which is the
// token count being reported. Throws overflow_error if the summed pairs
// exceed index_t.
template <paradigm P>
training_cost_report training_cost(const layout& sequence, const P& policy = P{}) {
  const interval_mask whole_row = make_interval_mask(sequence, policy);
  const label_report labels = classify_labels(sequence, whole_row);
  training_cost_report report;
  for (const segment_span& seg : sequence.segments()) report.answer_segments += is_answer(seg.kind);

  if constexpr (states_training_scheme<P>) {
    report.scheme = P::training;
  } else {
    report.scheme =
        labels.leaking.empty() ? training_scheme::one_pass : training_scheme::one_sample_per_answer;
  }
  if (report.scheme == training_scheme::one_pass) {
    report.samples = 1;
    report.tokens = sequence.size();
    report.attention_pairs = whole_row.visible_pairs();
    for (const segment_span& seg : sequence.segments())
      if (is_answer(seg.kind) &&
          !detail::trains_segment(labels, seg, sequence.documents()[seg.document].begin))
        ++report.untrainable_segments;
    return report;
  }

  const auto declared = sequence.declared();
  for (const segment_span& seg : sequence.segments()) {
    if (!is_answer(seg.kind)) continue;
    const document_span& doc = sequence.documents()[seg.document];
    const auto& segments = declared[static_cast<std::size_t>(seg.document)];
    const auto cut_end = segments.begin() + (&seg - &sequence.segments()[doc.first_segment]) + 1;
    const layout sample({std::vector<segment>(segments.begin(), cut_end)});
    const interval_mask sample_mask = make_interval_mask(sample, policy);
    const label_report sample_labels = classify_labels(sample, sample_mask);
    const segment_span& last = sample.segments().back();
    ++report.samples;
    report.tokens += sample.size();
    if (sample_mask.visible_pairs() > max_index - report.attention_pairs)
      throw overflow_error("training_cost: attention pairs summed over " +
                                std::to_string(report.samples) + " samples exceed 2^63");
    report.attention_pairs += sample_mask.visible_pairs();
    report.untrainable_segments += !detail::trains_segment(sample_labels, last, 0);
  }
  return report;
}

// The paradigm chosen at run time.
inline training_cost_report training_cost(const layout& sequence, paradigm_kind kind) {
  return visit_paradigm(kind, [&](auto policy) { return training_cost(sequence, policy); });
}

}  // namespace v0
}  // namespace ism
