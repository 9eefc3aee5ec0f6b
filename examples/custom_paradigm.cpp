// A paradigm of your own: tool results are read bidirectionally, everything else
// causally. One struct is all it takes; every representation, analysis and the
// reference attention then work with it.
#include <iostream>
#include <ism/ism.hpp>

struct tool_results_bidirectional {
  static constexpr std::string_view name = "tool-bidirectional";
  ism::row_interval interval(const ism::token_context& t) const {
    const bool block = t.segment.kind == ism::role::tool;
    return {t.document.begin, block ? t.segment.end - 1 : t.position};
  }
};

int main() {
  const ism::layout chat = ism::parse_layout("user:3, assistant:2, tool:4, assistant:3");
  const ism::interval_mask mask = ism::make_interval_mask<tool_results_bidirectional>(chat);
  ism::print_mask(std::cout, mask, chat);

  // Answers never see ahead of themselves, so every answer token is trainable and
  // appending a turn keeps the whole KV cache.
  const ism::label_report labels = ism::classify_labels(chat, mask);
  const ism::layout next = ism::parse_layout("user:3, assistant:2, tool:4, assistant:3, user:2");
  const ism::index_t reusable = ism::reusable_prefix<tool_results_bidirectional>(chat, next);
  std::cout << "trainable " << labels.trainable_count() << " of " << labels.answer_targets
            << ", reusable KV " << reusable << " of " << chat.size() << " tokens\n";
  return labels.leaking.empty() && reusable == chat.size() ? 0 : 1;
}
