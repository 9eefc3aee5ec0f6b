// `ism demo`: a guided tour of the four paradigms on a small built-in dialogue,
// every number computed by the library on the spot.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "summary.hpp"
#include "table.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

// Small enough that four text pictures fit side by side in 120 columns, large
// enough for two turns and a tool call.
constexpr std::string_view sample_layout =
    "system:2, user:3, assistant:3, tool:2, assistant:2, user:2, assistant:3";
constexpr std::string_view sample_story =
    "a system prompt; a question; the assistant calls a tool; the tool's result; the "
    "assistant's reply; a follow-up question and its answer.";

constexpr std::size_t text_width = 80;
constexpr std::string_view picture_gap = "    ";

std::string role_letters(const ism::layout& sequence) {
  return ism::render_tokens(
      sequence, [](ism::index_t, const ism::segment_span& seg) { return ism::role_name(seg.kind)[0]; });
}

// Every section ends with a blank line, so headings need none before them.
void heading(const std::string& title) {
  std::cout << title << '\n' << std::string(title.size(), '-') << '\n';
}

void paragraph(std::string_view text) {
  std::cout << wrap(text, text_width, "") << "\n\n";
}

void print_pictures(const ism::layout& sequence, const std::vector<paradigm_summary>& summaries) {
  std::vector<std::vector<std::string>> pictures;
  for (const paradigm_summary& s : summaries) pictures.push_back(ism::render_ascii(s.mask, sequence));
  const std::size_t width = pictures.front().front().size();
  std::string names = "  ";
  for (std::size_t p = 0; p < summaries.size(); ++p) {
    const std::string name(summaries[p].paradigm.name());
    names += (p > 0 ? std::string(picture_gap) : "") + name + std::string(width - name.size(), ' ');
  }
  std::cout << names.substr(0, names.find_last_not_of(' ') + 1) << '\n';
  for (std::size_t line = 0; line < pictures.front().size(); ++line) {
    std::string text = "  ";
    for (std::size_t p = 0; p < pictures.size(); ++p)
      text += (p > 0 ? std::string(picture_gap) : "") + pictures[p][line];
    std::cout << text.substr(0, text.find_last_not_of(' ') + 1) << '\n';
  }
}

void print_density(const ism::layout& sequence, const std::vector<paradigm_summary>& summaries) {
  table t({{"paradigm"}, {"visible pairs", align::right}, {"density", align::right}});
  for (const paradigm_summary& s : summaries)
    t.row({std::string(s.paradigm.name()), grouped(s.density.sequence.visible_pairs),
           percent(s.density.sequence.density())});
  std::cout << "  " << grouped(sequence.size() * sequence.size()) << " (query, key) pairs in all:\n\n";
  t.print(std::cout);
}

void print_labels(const ism::layout& sequence, const std::vector<paradigm_summary>& summaries) {
  table t(
      {{"paradigm"}, {"trainable", align::right}, {"leaking", align::right}, {role_letters(sequence)}});
  for (const paradigm_summary& s : summaries) {
    std::vector<bool> leaks(static_cast<std::size_t>(sequence.size()), false);
    for (const ism::index_t q : s.labels.leaking) leaks[static_cast<std::size_t>(q)] = true;
    const std::string markers =
        ism::render_tokens(sequence, [&](ism::index_t q, const ism::segment_span&) {
          return s.labels.trainable[static_cast<std::size_t>(q)] ? 'T'
                 : leaks[static_cast<std::size_t>(q)]            ? 'L'
                                                                 : '.';
        });
    t.row({std::string(s.paradigm.name()), std::to_string(s.labels.trainable_count()),
           std::to_string(s.labels.leaking.size()), markers});
  }
  t.print(std::cout);
}

// The layout made of the first `count` segments of `row`, documents included.
ism::layout first_segments(const ism::layout& sequence, std::size_t count) {
  std::vector<std::vector<ism::segment>> documents;
  for (const auto& declared : sequence.declared()) {
    if (count == 0) break;
    const std::size_t take = std::min(count, declared.size());
    documents.emplace_back(declared.begin(), declared.begin() + static_cast<std::ptrdiff_t>(take));
    count -= take;
  }
  return ism::layout(documents);
}

// Returns, per paradigm, the tokens computed over the whole dialogue.
std::vector<ism::index_t> print_kv_reuse(const ism::layout& sequence,
                                         const std::vector<paradigm_summary>& summaries) {
  std::vector<column> columns{{"step"}, {"appended"}, {"tokens", align::right}};
  for (std::size_t p = 0; p < summaries.size(); ++p) {
    columns.push_back({"reuse", align::right});
    columns.push_back({"compute", align::right});
  }
  table t(std::move(columns));
  t.group("", 3);
  for (const paradigm_summary& s : summaries) t.group(std::string(s.paradigm.name()), 2);

  std::vector<ism::index_t> computed(summaries.size(), 0);
  const auto segments = sequence.segments();
  for (std::size_t step = 0; step < segments.size(); ++step) {
    const ism::layout after = first_segments(sequence, step + 1);
    const ism::index_t before = step == 0 ? 0 : segments[step].begin;
    std::vector<std::string> cells{std::to_string(step + 1),
                                   std::string(ism::role_name(segments[step].kind)) + ":" +
                                       std::to_string(segments[step].length()),
                                   std::to_string(before) + " -> " + std::to_string(after.size())};
    // Nothing is cached before the first segment.
    const std::optional<ism::layout> cached =
        step == 0 ? std::nullopt : std::optional(first_segments(sequence, step));
    for (std::size_t p = 0; p < summaries.size(); ++p) {
      const ism::index_t reuse =
          cached ? summaries[p].paradigm.reusable_prefix(*cached, after) : 0;
      computed[p] += after.size() - reuse;
      cells.push_back(std::to_string(reuse));
      cells.push_back(std::to_string(after.size() - reuse));
    }
    t.row(std::move(cells));
  }
  std::vector<std::string> total{"total", "", ""};
  for (const ism::index_t c : computed) {
    total.emplace_back("");
    total.push_back(std::to_string(c));
  }
  t.rule().row(std::move(total));
  t.print(std::cout);
  return computed;
}

void print_training(const std::vector<paradigm_summary>& summaries) {
  table t({{"paradigm"},
           {"scheme"},
           {"samples", align::right},
           {"tokens", align::right},
           {"attention pairs", align::right},
           {"untrainable answers", align::right}});
  for (const paradigm_summary& s : summaries)
    t.row({std::string(s.paradigm.name()), std::string(scheme_text(s.training.scheme)),
           std::to_string(s.training.samples), grouped(s.training.tokens),
           grouped(s.training.attention_pairs),
           std::to_string(s.training.untrainable_segments) + " of " +
               std::to_string(s.training.answer_segments)});
  t.print(std::cout);
}

int run_demo(const arguments&) {
  const ism::layout sequence = ism::parse_layout(sample_layout);
  std::vector<paradigm_summary> summaries;
  for (const std::string_view name : {"causal", "prefix", "ism", "bidirectional"})
    summaries.push_back(summarize(sequence, ism::paradigm_from_name(name)));

  const std::string title = "ism demo: attention masks for multi-turn chat";
  std::cout << title << '\n' << std::string(title.size(), '=') << "\n\n";
  paragraph(
      "A chat model reads a dialogue as one row of tokens made of segments: a system prompt, "
      "user messages, tool results and assistant answers. The attention mask decides which "
      "tokens each token may look at. A causal mask reads strictly left to right: the model can "
      "keep the key/value (KV) cache of every finished turn, but it reads the context one way "
      "only. A prefix-LM mask reads the whole history in both directions, but then it must "
      "recompute that history every turn and needs a separate training sample per answer. The "
      "Intermittent Semi-working Mask (ISM, arXiv 2408.00539) makes each context segment "
      "(system, user, tool) bidirectional inside itself and each answer causal, while every "
      "token still sees all earlier segments: bidirectional context, a KV cache that survives "
      "every turn, and all answers trained in one pass. Bidirectional attention over the whole "
      "document is shown for comparison.");
  std::cout << "The sample dialogue, " << sequence.size() << " tokens in " << sequence.segments().size()
            << " segments:\n\n  " << ism::to_text(sequence) << "\n\n";
  paragraph(std::string("That is ") + std::string(sample_story));

  heading("1. The four masks");
  paragraph(
      "Row = query token, column = key token; '#' = the query sees the key, '.' = it does not. "
      "Letters name roles (s system, u user, t tool, a assistant); blank rows and columns "
      "separate segments.");
  print_pictures(sequence, summaries);
  std::cout << '\n';

  heading("2. Density: how much of the N x N square each mask attends");
  print_density(sequence, summaries);
  std::cout << '\n';

  heading("3. Where a next-token loss may go");
  paragraph(
      "Position q is trained to predict token q+1. It is trainable (T) when q+1 is an assistant "
      "token that q cannot see, and it leaks (L) when q already sees its own target, which "
      "would teach copying instead of answering. '.' marks positions with no assistant target.");
  print_labels(sequence, summaries);
  std::cout << '\n';

  heading("4. KV cache across turns");
  paragraph(
      "The dialogue arrives one segment at a time. After each step, 'reuse' is how many tokens "
      "keep their cached keys and values (the reusable prefix r) and 'compute' how many must go "
      "through the model now: the new tokens plus any whose attention changed.");
  const std::vector<ism::index_t> computed = print_kv_reuse(sequence, summaries);
  std::cout << '\n';

  heading("5. Training every answer once");
  paragraph(
      "One pass trains every answer when no loss position leaks. A prefix LM sees its earlier "
      "answers bidirectionally, so each answer needs its own sample: the dialogue cut at that "
      "answer's end. Bidirectional attention leaks every target and cannot train answers at "
      "all.");
  print_training(summaries);
  std::cout << '\n';

  // Summaries and totals are in the order above.
  const auto at = [&](std::string_view name) {
    std::size_t p = 0;
    while (summaries[p].paradigm.name() != name) ++p;
    return p;
  };
  const std::size_t ism_at = at("ism");
  const std::size_t prefix_at = at("prefix");
  const ism::training_cost_report& ism_training = summaries[ism_at].training;
  const ism::training_cost_report& prefix_training = summaries[prefix_at].training;
  heading("In short");
  paragraph(
      "Like prefix, ism lets each context segment read itself in both directions. Like causal, "
      "it computed " +
      std::to_string(computed[ism_at]) + " tokens as the " + std::to_string(sequence.size()) +
      "-token dialogue grew (prefix: " + std::to_string(computed[prefix_at]) + ") and trains " +
      std::to_string(ism_training.answer_segments - ism_training.untrainable_segments) + " of " +
      std::to_string(ism_training.answer_segments) + " answers in " +
      std::to_string(ism_training.samples) + " sample of " + std::to_string(ism_training.tokens) +
      " tokens (prefix: " + std::to_string(prefix_training.samples) + " samples, " +
      std::to_string(prefix_training.tokens) + " tokens).");
  std::cout << wrap(
                   "Try your own dialogue (ism stats and ism export take the same --layout):\n"
                   "  ism show --layout \"system:4, user:6, assistant:5, user:3, assistant:4\" "
                   "--paradigm ism",
                   text_width, "")
            << '\n';
  return exit_ok;
}

}  // namespace

command demo_command() {
  return {"demo",
          "Walk through the four paradigms on a sample dialogue (start here)",
          "Explains what ISM is and compares causal, prefix, ism and bidirectional masks on a "
          "small built-in dialogue with a tool call and two turns: the masks side by side, "
          "their density, which loss positions are trainable or leak, how much KV cache "
          "survives each new turn, and what training every answer costs.",
          {},
          run_demo};
}

}  // namespace ism_cli
