// `ism stats`: the numbers behind a layout and its masks, as aligned text or JSON.
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "json.hpp"
#include "summary.hpp"
#include "table.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

// 2^24 tokens: four interval masks of 16 bytes a token take 1 GiB.
constexpr std::uint64_t default_max_tokens = std::uint64_t{1} << 24;
// 2^28 token visits: a few seconds of building training samples.
constexpr std::uint64_t default_max_work = std::uint64_t{1} << 28;

struct layout_counts {
  ism::index_t context_segments = 0;
  ism::index_t answer_segments = 0;
};

layout_counts count_segments(const ism::layout& sequence) {
  layout_counts counts;
  for (const ism::segment_span& seg : sequence.segments())
    ++(ism::is_answer(seg.kind) ? counts.answer_segments : counts.context_segments);
  return counts;
}

void print_json(const ism::layout& sequence, const std::vector<paradigm_summary>& summaries) {
  const layout_counts counts = count_segments(sequence);
  std::ostream& os = std::cout;
  os << "{\n"
     << "  \"layout\": " << json_string(ism::to_text(sequence)) << ",\n"
     << "  \"tokens\": " << sequence.size() << ",\n"
     << "  \"documents\": " << sequence.documents().size() << ",\n"
     << "  \"segments\": " << sequence.segments().size() << ",\n"
     << "  \"context_segments\": " << counts.context_segments << ",\n"
     << "  \"answer_segments\": " << counts.answer_segments << ",\n"
     << "  \"paradigms\": [";
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const paradigm_summary& s = summaries[i];
    os << (i > 0 ? "," : "") << "\n    {\n"
       << "      \"name\": " << json_string(s.paradigm.name()) << ",\n"
       << "      \"density\": " << json_number(s.density.sequence.density()) << ",\n"
       << "      \"visible_pairs\": " << s.density.sequence.visible_pairs << ",\n"
       << "      \"document_density\": [";
    for (std::size_t d = 0; d < s.density.documents.size(); ++d)
      os << (d > 0 ? ", " : "") << json_number(s.density.documents[d].density());
    os << "],\n"
       << "      \"answer_targets\": " << s.labels.answer_targets << ",\n"
       << "      \"trainable_positions\": " << s.labels.trainable_count() << ",\n"
       << "      \"leaking_positions\": " << s.labels.leaking.size() << ",\n"
       << "      \"training\": {\n"
       << "        \"scheme\": "
       << json_string(s.training.scheme == ism::training_scheme::one_pass ? "one_pass"
                                                                          : "one_sample_per_answer")
       << ",\n"
       << "        \"samples\": " << s.training.samples << ",\n"
       << "        \"tokens\": " << s.training.tokens << ",\n"
       << "        \"attention_pairs\": " << s.training.attention_pairs << ",\n"
       << "        \"answer_segments\": " << s.training.answer_segments << ",\n"
       << "        \"untrainable_answers\": " << s.training.untrainable_segments << "\n"
       << "      }\n"
       << "    }";
  }
  os << "\n  ]\n}\n";
}

void print_text(const ism::layout& sequence, const std::vector<paradigm_summary>& summaries) {
  const layout_counts counts = count_segments(sequence);
  std::cout << "layout     " << ism::to_text(sequence) << '\n'
            << "tokens     " << grouped(sequence.size()) << '\n'
            << "documents  " << sequence.documents().size() << '\n'
            << "segments   " << sequence.segments().size() << " (" << counts.context_segments
            << " context, " << counts.answer_segments << " assistant)\n\n";

  table masks({{"paradigm"},
               {"density", align::right},
               {"visible pairs", align::right},
               {"trainable", align::right},
               {"leaking", align::right}});
  table training({{"paradigm"},
                  {"training scheme"},
                  {"samples", align::right},
                  {"tokens", align::right},
                  {"attention pairs", align::right},
                  {"untrainable answers", align::right}});
  for (const paradigm_summary& s : summaries) {
    const std::string name(s.paradigm.name());
    masks.row({name, percent(s.density.sequence.density()),
               grouped(s.density.sequence.visible_pairs), grouped(s.labels.trainable_count()),
               grouped(static_cast<ism::index_t>(s.labels.leaking.size()))});
    training.row({name, std::string(scheme_text(s.training.scheme)), grouped(s.training.samples),
                  grouped(s.training.tokens), grouped(s.training.attention_pairs),
                  std::to_string(s.training.untrainable_segments) + " of " +
                      std::to_string(s.training.answer_segments)});
  }
  std::cout
      << "Masks (trainable/leaking: loss positions whose assistant target is hidden/visible)\n";
  masks.print(std::cout);
  std::cout << "\nTraining every answer once\n";
  training.print(std::cout);
}

int run_stats(const arguments& args) {
  const std::uint64_t max_tokens = args.number("--max-tokens", default_max_tokens);
  const ism::layout sequence = layout_argument(args);
  if (static_cast<std::uint64_t>(sequence.size()) > max_tokens)
    throw ism::argument_error("the layout has " + std::to_string(sequence.size()) +
                              " tokens, over the --max-tokens limit of " +
                              std::to_string(max_tokens) + "; raise --max-tokens to analyse it");
  const std::vector<ism::any_paradigm> paradigms =
      args.has("--paradigm") ? std::vector{paradigm_argument(args)} : ism::paradigms().all();
  // A paradigm that trains one sample per answer without a closed form for
  // their cost builds every sample: bound that before starting.
  const std::uint64_t max_work = args.number("--max-work", default_max_work);
  for (const ism::any_paradigm& p : paradigms) {
    const auto work = static_cast<std::uint64_t>(p.training_cost_work(sequence));
    if (work > max_work)
      throw ism::argument_error("the training cost of paradigm '" + std::string(p.name()) +
                                "' would visit " + std::to_string(work) +
                                " tokens (one sample per answer), over the --max-work limit of " +
                                std::to_string(max_work) + "; raise --max-work to compute it");
  }
  std::vector<paradigm_summary> summaries;
  for (const ism::any_paradigm& p : paradigms) summaries.push_back(summarize(sequence, p));
  if (args.has("--json"))
    print_json(sequence, summaries);
  else
    print_text(sequence, summaries);
  return exit_ok;
}

}  // namespace

command stats_command() {
  return {"stats",
          "Density, loss positions and training cost of a layout",
          "Prints the layout's tokens, documents and segments, then per paradigm (every registered "
          "paradigm unless --paradigm is given): the share of (query, key) pairs the mask lets "
          "through, "
          "how many next-token loss positions are trainable or leak their assistant target, and "
          "what training every answer once costs.\n"
          "\n"
          "Example:\n"
          "  ism stats --layout \"system:6,user:5,assistant:7 | user:4,assistant:2\" --json",
          {layout_option(),
           paradigm_option(false),
           {"--json", "", "", "Print JSON instead of tables.", false},
           {"--max-tokens", "", "N",
            "Refuse layouts of more than N tokens before any work (default: 16777216, that is "
            "2^24). Each paradigm's interval mask takes 16 bytes a token.",
            false},
           {"--max-work", "", "N",
            "Refuse a training cost that would visit more than N tokens (default: 268435456, "
            "that is 2^28). Paradigms that train one sample per answer and do not state each "
            "sample's cost in closed form build every sample (prefix and bidirectional state "
            "it, so they cost O(segments)).",
            false}},
          run_stats};
}

}  // namespace ism_cli
