// What a paradigm is: a small policy type that places one token's visible-key
// interval from the token's position, segment and document. A user adds a
// paradigm by writing one struct that satisfies `ism::paradigm`:
//
//   struct tool_results_bidirectional {
//     static constexpr std::string_view name = "tool-bidirectional";
//     ism::row_interval interval(const ism::token_context& t) const {
//       const bool block = t.segment.kind == ism::role::tool;
//       return {t.document.begin, block ? t.segment.end - 1 : t.position};
//     }
//   };
#pragma once

#include <concepts>
#include <string_view>

#include "ism/layout.hpp"
#include "ism/row_interval.hpp"

namespace ism {
inline namespace v0 {

// Everything about token `position` a paradigm may look at: its segment and its
// document, and nothing of other documents. A token's interval therefore
// depends on its own document alone, which lets a growing conversation keep
// the intervals of every earlier document (incremental_block_mask.hpp).
struct token_context {
  index_t position;
  segment_span segment;
  document_span document;
};

template <class P>
concept named_policy = requires {
  { P::name } -> std::convertible_to<std::string_view>;
};

template <class P>
concept interval_policy = requires(const P& p, const token_context& t) {
  { p.interval(t) } -> std::same_as<row_interval>;
};

enum class training_scheme {
  one_pass,               // the packed row is the single sample
  one_sample_per_answer,  // each assistant segment gets its document cut at its end
};

// How a paradigm trains every answer of a dialogue (see training_cost.hpp). A
// paradigm may state it with `static constexpr training_scheme training`; without
// one, it trains in one pass when one pass trains every answer token, and per
// answer otherwise.
template <class P>
concept states_training_scheme = requires {
  { P::training } -> std::convertible_to<training_scheme>;
};

// What one training sample costs: a document cut at the end of one of its
// answer segments (docs/semantics.md#training-cost).
struct sample_cost {
  index_t attention_pairs;
  bool trains_last_answer;  // every target of the sample's last segment is trainable
};

// A paradigm that trains one sample per answer may state each sample's cost in
// closed form with `static sample_cost training_sample(const document_span& cut,
// const segment_span& last)`, where `cut` is the sample in its own positions
// [0, L) and `last` its final (answer) segment. training_cost then costs
// O(segments); without it every sample's intervals are built, O(sum of the
// sample lengths).
template <class P>
concept states_sample_cost = requires(const document_span& cut, const segment_span& last) {
  { P::training_sample(cut, last) } -> std::same_as<sample_cost>;
};

// A paradigm is default-constructible (so it can be named as a tag type), has a
// name and maps a token to the interval it sees. The interval must stay inside
// the token's document; make_interval_mask checks that.
template <class P>
concept paradigm = std::default_initializable<P> && std::copy_constructible<P> && named_policy<P> &&
    interval_policy<P>;

// Spelled-out diagnostics for a type meant to be a paradigm: a failed concept
// check in a long template backtrace is harder to read than these messages.
template <class P>
constexpr bool check_paradigm() {
  static_assert(named_policy<P>,
                "ism paradigm: the type needs `static constexpr std::string_view name`");
  static_assert(interval_policy<P>,
                "ism paradigm: the type needs `row_interval interval(const token_context&) const`");
  static_assert(std::default_initializable<P> && std::copy_constructible<P>,
                "ism paradigm: the type must be default-constructible and copyable");
  return true;
}

}  // namespace v0
}  // namespace ism
