// `ism simulate serving|training|icl`: the studies that reproduce the ISM
// paper's claims (docs/paper.md), as tables, JSON or SVG charts.
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <ism/reference_decoder.hpp>
#include <ism/studies/icl.hpp>
#include <ism/studies/serving.hpp>
#include <ism/studies/training.hpp>
#include <optional>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "line_chart.hpp"
#include "table.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

// 2^16 tokens: a dialogue whose prefix-LM serving recomputes about 2^31
// attention pairs a turn, minutes of work on a laptop.
constexpr std::uint64_t default_max_tokens = std::uint64_t{1} << 16;

// A count option as index_t; the studies refuse values below 1 themselves.
ism::index_t count(const arguments& args, std::string_view name, ism::index_t fallback,
                   std::string_view command) {
  const std::uint64_t value = args.number(name, static_cast<std::uint64_t>(fallback));
  constexpr std::uint64_t limit = std::uint64_t{1} << 31;
  if (value > limit)
    throw usage_error("option " + std::string(name) + " is " + std::to_string(value) +
                          ", over the largest accepted value " + std::to_string(limit),
                      "ism simulate " + std::string(command));
  return static_cast<ism::index_t>(value);
}

// Splits "a,b,c" at commas; empty items are refused.
std::vector<std::string> comma_list(const std::string& text, std::string_view option,
                                    std::string_view command) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(',', begin);
    out.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (out.back().empty())
      throw usage_error("option " + std::string(option) + " has an empty item in '" + text + "'",
                        "ism simulate " + std::string(command));
    if (end == std::string::npos) return out;
    begin = end + 1;
  }
}

std::vector<ism::any_paradigm> paradigms_argument(const arguments& args, const char* fallback,
                                                  std::string_view command) {
  std::vector<ism::any_paradigm> out;
  for (const std::string& name :
       comma_list(args.find("--paradigms").value_or(fallback), "--paradigms", command))
    out.push_back(ism::paradigm_from_name(name));
  return out;
}

std::vector<option> dialogue_options(const char* default_paradigms) {
  static std::deque<std::string> help;  // the options keep views of these; a deque never moves them
  help.push_back(std::string("Comma-separated paradigms to compare (default: ") +
                 default_paradigms + "): " + ism::paradigms().accepted() + ".");
  return {{"--paradigms", "", "LIST", help.back(), false},
          {"--system", "", "N", "System prompt tokens (default: 32).", false},
          {"--turns", "", "N", "Turns of a user message and an answer (default: 20).", false},
          {"--user", "", "N", "Tokens of each user message (default: 64).", false},
          {"--answer", "", "N", "Tokens of each answer (default: 128).", false},
          {"--d-model", "", "N", "Width of the reference decoder (default: 256).", false},
          {"--layers", "", "N", "Decoder layers (default: 4).", false},
          {"--heads", "", "N", "Attention heads (default: 4).", false},
          {"--kv-heads", "", "N", "KV heads, a divisor of --heads (default: 2).", false},
          {"--threads", "", "N", "Threads of each attention (default: 1).", false},
          {"--seed", "", "N", "Seed of the weights and token ids (default: 0).", false},
          {"--max-tokens", "", "N",
           "Refuse dialogues of more than N tokens before any work (default: 65536).", false},
          {"--json", "", "", "Print JSON instead of tables.", false}};
}

struct dialogue_setup {
  ism::dialogue_shape shape;
  ism::reference_decoder decoder;
  std::vector<ism::token_id> ids;
};

dialogue_setup dialogue_arguments(const arguments& args, std::string_view command) {
  ism::dialogue_shape shape;
  shape.system = count(args, "--system", shape.system, command);
  shape.turns = count(args, "--turns", shape.turns, command);
  shape.user = count(args, "--user", shape.user, command);
  shape.answer = count(args, "--answer", shape.answer, command);
  ism::check_dialogue(shape);
  const std::uint64_t max_tokens = args.number("--max-tokens", default_max_tokens);
  if (static_cast<std::uint64_t>(shape.tokens()) > max_tokens)
    throw ism::argument_error("the dialogue has " + std::to_string(shape.tokens()) +
                              " tokens, over the --max-tokens limit of " +
                              std::to_string(max_tokens) + "; raise --max-tokens to run it");
  ism::decoder_config config;
  config.d_model = count(args, "--d-model", config.d_model, command);
  config.mlp_hidden = 4 * config.d_model;
  config.layers = count(args, "--layers", config.layers, command);
  config.heads = count(args, "--heads", config.heads, command);
  config.kv_heads = count(args, "--kv-heads", config.kv_heads, command);
  config.threads = count(args, "--threads", config.threads, command);
  config.seed = args.number("--seed", 0);
  ism::reference_decoder decoder(config);
  auto ids = ism::dialogue_tokens(shape, config.vocabulary, config.seed);
  return {shape, std::move(decoder), std::move(ids)};
}

std::string shape_text(const dialogue_setup& s) {
  const ism::decoder_config& c = s.decoder.config();
  return std::to_string(s.shape.system) + "-token system prompt, " +
         std::to_string(s.shape.turns) + " turns of " + std::to_string(s.shape.user) +
         " user + " + std::to_string(s.shape.answer) + " answer tokens; d_model " +
         std::to_string(c.d_model) + ", " + std::to_string(c.layers) + " layers, " +
         std::to_string(c.heads) + " heads (" + std::to_string(c.kv_heads) + " KV)";
}

// Opens --svg's file before the work, so a bad path fails at once.
void open_svg(const arguments& args, std::optional<atomic_file>& file) {
  if (const auto path = args.find("--svg")) file.emplace(*path);
}

// Prints through `print`, writing the chart to the --svg file when given.
template <class Print>
void finish(std::optional<atomic_file>& svg, const line_chart& chart, Print&& print) {
  if (svg)
    svg->write([&](std::ostream& os) { os << render_line_chart(chart); }, print);
  else
    print();
}

// printf's format for one double.
std::string formatted(const char* format, double value) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value);
  return buffer.data();
}

std::string milliseconds(double seconds) {
  return formatted("%.3f", seconds * 1e3);
}

int run_serving(const arguments& args) {
  const std::vector<ism::any_paradigm> paradigms =
      paradigms_argument(args, "causal,prefix,ism", "serving");
  const dialogue_setup setup = dialogue_arguments(args, "serving");
  std::optional<atomic_file> svg;
  open_svg(args, svg);
  std::vector<ism::serving_run> runs;
  ism::serving_options options{.repeats = count(args, "--repeats", 3, "serving")};
  const std::string clock = args.find("--clock").value_or("wall");
  if (clock == "cpu")
    options.clock = ism::serving_clock::process_cpu;
  else if (clock != "wall")
    throw usage_error("option --clock expects wall or cpu, got '" + clock + "'",
                      "ism simulate serving");
  for (const ism::any_paradigm& p : paradigms)
    runs.push_back(ism::serve_dialogue(setup.decoder, p, setup.shape, setup.ids, options));

  line_chart chart{"Time to first token per turn", shape_text(setup), "turn",
                   "time to first token (s)", {}};
  for (const ism::serving_run& r : runs) {
    chart_series& s = chart.series.emplace_back(chart_series{r.paradigm, {}});
    for (const ism::serving_turn& t : r.turns) s.y.push_back(t.ttft_s);
  }
  const auto print = [&] {
    if (args.has("--json")) {
      std::cout << "[";
      for (std::size_t i = 0; i < runs.size(); ++i) {
        std::cout << (i > 0 ? "," : "") << "\n  {\"paradigm\": " << json_string(runs[i].paradigm)
                  << ", \"turns\": [";
        for (std::size_t t = 0; t < runs[i].turns.size(); ++t) {
          const ism::serving_turn& turn = runs[i].turns[t];
          std::cout << (t > 0 ? "," : "") << "\n    {\"turn\": " << turn.turn
                    << ", \"ttft_s\": " << json_number(turn.ttft_s)
                    << ", \"decode_s_per_token\": " << json_number(turn.decode_s_per_token)
                    << ", \"tokens_computed\": " << turn.tokens_computed
                    << ", \"attention_pairs\": " << turn.attention_pairs << "}";
        }
        std::cout << "\n  ]}";
      }
      std::cout << "\n]\n";
      return;
    }
    std::cout << "Serving " << shape_text(setup) << "\n\n";
    for (const ism::serving_run& r : runs) {
      std::cout << r.paradigm << '\n';
      table t({{"turn", align::right},
               {"TTFT ms", align::right},
               {"decode ms/token", align::right},
               {"tokens computed", align::right},
               {"attention pairs", align::right}});
      for (const ism::serving_turn& turn : r.turns)
        t.row({std::to_string(turn.turn), milliseconds(turn.ttft_s),
               milliseconds(turn.decode_s_per_token), grouped(turn.tokens_computed),
               grouped(turn.attention_pairs)});
      t.print(std::cout);
      std::cout << '\n';
    }
  };
  finish(svg, chart, print);
  return exit_ok;
}

int run_training(const arguments& args) {
  const std::vector<ism::any_paradigm> paradigms =
      paradigms_argument(args, "causal,prefix,ism,bidirectional", "training");
  const dialogue_setup setup = dialogue_arguments(args, "training");
  std::vector<ism::training_run> runs;
  for (const ism::any_paradigm& p : paradigms)
    runs.push_back(ism::training_study(setup.decoder, p, setup.shape, setup.ids));
  if (args.has("--json")) {
    std::cout << "[";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const ism::training_run& r = runs[i];
      std::cout << (i > 0 ? "," : "") << "\n  {\"paradigm\": " << json_string(r.paradigm)
                << ", \"samples\": " << r.cost.samples << ", \"tokens\": " << r.cost.tokens
                << ", \"pairs\": " << r.cost.attention_pairs
                << ", \"trainable_positions\": " << r.trainable_positions
                << ", \"leaking_positions\": " << r.leaking_positions
                << ", \"forward_s\": " << json_number(r.forward_s) << "}";
    }
    std::cout << "\n]\n";
    return exit_ok;
  }
  std::cout << "Training every answer once: " << shape_text(setup) << "\n\n";
  table t({{"paradigm"},
           {"samples", align::right},
           {"tokens", align::right},
           {"attention pairs", align::right},
           {"trainable", align::right},
           {"leaking", align::right},
           {"forward s", align::right}});
  for (const ism::training_run& r : runs)
    t.row({r.paradigm, grouped(r.cost.samples), grouped(r.cost.tokens),
           grouped(r.cost.attention_pairs), grouped(r.trainable_positions),
           grouped(r.leaking_positions), formatted("%.3f", r.forward_s)});
  t.print(std::cout);
  std::cout << "\n(trainable/leaking: loss positions of the whole dialogue as one sequence whose "
               "assistant target is hidden/visible)\n";
  return exit_ok;
}

int run_icl(const arguments& args) {
  ism::icl_config config;
  config.features = count(args, "--features", config.features, "icl");
  config.examples = count(args, "--examples", config.examples, "icl");
  config.layers = count(args, "--layers", config.layers, "icl");
  config.sequences = count(args, "--sequences", config.sequences, "icl");
  config.seed = args.number("--seed", 0);
  std::vector<ism::index_t> segments;
  for (const std::string& item :
       comma_list(args.find("--segments").value_or("1,4,40"), "--segments", "icl")) {
    ism::index_t k = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), k);
    if (error != std::errc() || end != item.data() + item.size())
      throw usage_error("option --segments expects comma-separated integers, got '" + item + "'",
                        "ism simulate icl");
    segments.push_back(k);
  }
  std::optional<atomic_file> svg;
  open_svg(args, svg);
  std::vector<ism::icl_curve> curves{
      ism::icl_study(config, ism::paradigm_from_name("causal")),
      ism::icl_study(config, ism::paradigm_from_name("prefix"))};
  for (const ism::index_t k : segments)
    curves.push_back(ism::icl_study(config, ism::paradigm_from_name("ism"), k));
  const auto label = [](const ism::icl_curve& c) {
    return c.paradigm == "ism" ? "ism k=" + std::to_string(c.segments) : c.paradigm;
  };
  line_chart chart{"In-context linear regression: the query's error per layer",
                   std::to_string(config.examples) + " examples of " +
                       std::to_string(config.features) + " features, step " +
                       formatted("%g", config.step) + "/" + std::to_string(config.examples) + ", " +
                       std::to_string(config.sequences) + " sequences; k = context segments",
                   "layer", "mean squared error", {}};
  for (const ism::icl_curve& c : curves) chart.series.push_back({label(c), c.mse});
  const auto print = [&] {
    if (args.has("--json")) {
      std::cout << "[";
      for (std::size_t i = 0; i < curves.size(); ++i) {
        const ism::icl_curve& c = curves[i];
        std::cout << (i > 0 ? "," : "") << "\n  {\"paradigm\": " << json_string(c.paradigm);
        if (c.paradigm == "ism") std::cout << ", \"segments\": " << c.segments;
        std::cout << ", \"mse\": [";
        for (std::size_t l = 0; l < c.mse.size(); ++l)
          std::cout << (l > 0 ? ", " : "") << json_number(c.mse[l]);
        std::cout << "]}";
      }
      std::cout << "\n]\n";
      return;
    }
    std::cout << chart.title << "\n" << chart.subtitle << "\n\n";
    std::vector<column> columns{{"layer", align::right}};
    for (const ism::icl_curve& c : curves) columns.push_back({label(c), align::right});
    table t(std::move(columns));
    for (std::size_t l = 0; l < static_cast<std::size_t>(config.layers); ++l) {
      if (l + 1 != 1 && (l + 1) % 5 != 0 && l + 1 != static_cast<std::size_t>(config.layers))
        continue;
      std::vector<std::string> row{std::to_string(l + 1)};
      for (const ism::icl_curve& c : curves) row.push_back(formatted("%.3e", c.mse[l]));
      t.row(std::move(row));
    }
    t.print(std::cout);
  };
  finish(svg, chart, print);
  return exit_ok;
}

const option svg_option{"--svg", "", "FILE", "Also write the chart as an SVG picture to FILE.",
                        false};

}  // namespace

command simulate_serving_command() {
  std::vector<option> options = dialogue_options("causal,prefix,ism");
  options.push_back({"--repeats", "", "N",
                     "Run each step N times from the same cache and keep the fastest time "
                     "(default: 3); the slower runs measure the machine's other work.",
                     false});
  options.push_back({"--clock", "", "C",
                     "What a step's time is: wall (elapsed, the default) or cpu (the process's "
                     "CPU time: the same with one thread, and blind to other processes that share "
                     "the cores).",
                     false});
  options.push_back(svg_option);
  return {"simulate serving",
          "Serve a multi-turn dialogue through a KV cache: latency per paradigm",
          "Serves a dialogue of random tokens through the reference decoder (seeded random "
          "weights) with a KV cache: each turn prefills the user message against the cache and "
          "decodes the answer token by token. Before each step the cache keeps what the "
          "paradigm's reusable prefix allows and the rest is computed again. Prints per turn "
          "and paradigm the time to first token, the mean decode time per token, the tokens "
          "computed and the attention pairs evaluated. bidirectional recomputes the whole "
          "dialogue at every token: give it small dialogues.\n"
          "\n"
          "Example:\n"
          "  ism simulate serving --turns 20 --svg ttft.svg",
          std::move(options), run_serving};
}

command simulate_training_command() {
  return {"simulate training",
          "What training every answer of a dialogue once costs per paradigm",
          "Counts the samples, tokens and attention pairs needed to train every answer of the "
          "dialogue once (one sequence for causal and ism, one sample per answer for prefix), "
          "the loss positions that are trainable or leak their target, and measures one "
          "forward pass of the reference decoder over every sample.\n"
          "\n"
          "Example:\n"
          "  ism simulate training --turns 10 --json",
          dialogue_options("causal,prefix,ism,bidirectional"), run_training};
}

command simulate_icl_command() {
  return {"simulate icl",
          "In-context linear regression with linear self-attention per paradigm",
          "Linear self-attention whose every layer is one gradient step (Ding et al., arXiv "
          "2308.06912) solves in-context linear regression; the paradigm's mask decides which "
          "examples each token learns from. Prints the query's mean squared error per layer for "
          "causal, prefix and ism with the examples in k context segments.\n"
          "\n"
          "Example:\n"
          "  ism simulate icl --segments 1,4,40 --svg icl.svg",
          {{"--features", "", "N", "Features of each x (default: 16).", false},
           {"--examples", "", "N", "In-context examples (default: 40).", false},
           {"--layers", "", "N", "Layers, one gradient step each (default: 50).", false},
           {"--sequences", "", "N", "Regression problems averaged over (default: 64).", false},
           {"--segments", "", "LIST",
            "Comma-separated numbers of context segments the examples are grouped in under ism "
            "(default: 1,4,40).",
            false},
           {"--seed", "", "N", "Seed of the problems (default: 0).", false},
           {"--json", "", "", "Print JSON instead of a table.", false},
           svg_option},
          run_icl};
}

}  // namespace ism_cli
