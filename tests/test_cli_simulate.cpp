// `ism simulate serving|training|icl`, run as a separate process on small
// settings: the JSON shapes the issue promises, the charts, and every bad
// option refused with exit code 2 and no file left behind.
#include <doctest/doctest.h>

#if defined(ISM_CLI_PATH) && !defined(_WIN32)

#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "error_messages.hpp"
#include "npy_reader.hpp"

namespace {

using cli_runner::result;
using cli_runner::run;
using cli_runner::scratch;

// A dialogue and a decoder small enough for a sanitized build.
const std::vector<std::string> small = {"--system", "4", "--turns", "2",       "--user", "5",
                                        "--answer", "3", "--d-model", "16", "--layers", "1"};

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

std::size_t occurrences(const std::string& text, const std::string& word) {
  std::size_t n = 0;
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("ism simulate serving: JSON per paradigm and turn, and the TTFT chart") {
  const scratch s;
  const std::string svg = (s.out / "ttft.svg").string();
  const result r =
      run(s, with({"simulate", "serving", "--json", "--svg", svg, "--paradigms", "causal,prefix"},
                  small));
  REQUIRE(r.code == 0);
  CHECK(occurrences(r.out, "\"paradigm\": ") == 2);
  CHECK(contains(r.out, "\"paradigm\": \"prefix\", \"turns\": ["));
  CHECK(occurrences(r.out, "\"ttft_s\": ") == 4);
  CHECK(occurrences(r.out, "\"decode_s_per_token\": ") == 4);
  CHECK(contains(r.out, "{\"turn\": 2, "));
  // causal, turn 1: the system prompt and the user message, then 3 answer tokens.
  CHECK(contains(r.out, "\"tokens_computed\": 12, \"attention_pairs\": 78}"));
  const std::string picture = npy_reader::read_file(svg);
  CHECK(contains(picture, "<svg"));
  CHECK(occurrences(picture, "<polyline") == 2);

  const result text = run(s, with({"simulate", "serving", "--clock", "cpu"}, small));
  REQUIRE(text.code == 0);
  CHECK(contains(text.out, "TTFT ms"));
  CHECK(contains(text.out, "ism\n"));
}

TEST_CASE("ism simulate training: samples, tokens and pairs per paradigm") {
  const scratch s;
  const result r = run(s, with({"simulate", "training", "--json"}, small));
  REQUIRE(r.code == 0);
  CHECK(occurrences(r.out, "\"paradigm\": ") == 4);
  CHECK(contains(r.out, "{\"paradigm\": \"causal\", \"samples\": 1, \"tokens\": 20, \"pairs\": 210, "));
  CHECK(contains(r.out, "{\"paradigm\": \"prefix\", \"samples\": 2, \"tokens\": 32, "));
  const result text = run(s, with({"simulate", "training", "--paradigms", "ism"}, small));
  REQUIRE(text.code == 0);
  CHECK(contains(text.out, "attention pairs"));
}

TEST_CASE("ism simulate icl: the error per layer, ism k=1 equal to prefix") {
  const scratch s;
  const std::string svg = (s.out / "icl.svg").string();
  const result r = run(s, {"simulate", "icl", "--json", "--layers", "5", "--sequences", "4",
                           "--segments", "1,2", "--svg", svg});
  REQUIRE(r.code == 0);
  CHECK(occurrences(r.out, "\"paradigm\": ") == 4);
  CHECK(contains(r.out, "{\"paradigm\": \"ism\", \"segments\": 2, \"mse\": ["));
  const auto curve = [&](const std::string& start) {
    const std::size_t at = r.out.find(start);
    REQUIRE(at != std::string::npos);
    const std::size_t open = r.out.find("\"mse\": [", at);
    return r.out.substr(open, r.out.find(']', open) - open);
  };
  CHECK(curve("\"paradigm\": \"prefix\"") == curve("\"segments\": 1,"));
  CHECK(occurrences(curve("\"paradigm\": \"causal\""), ",") == 4);  // 5 layers
  CHECK(occurrences(npy_reader::read_file(svg), "<polyline") == 4);
  const result text = run(s, {"simulate", "icl", "--layers", "3", "--sequences", "2"});
  REQUIRE(text.code == 0);
  CHECK(contains(text.out, "ism k=40"));
}

TEST_CASE("ism simulate: bad options exit 2 with a message and leave no file") {
  struct bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<bad> cases{
      {{"simulate"}, "'ism simulate' needs one of serving, training or icl"},
      {{"simulate", "play"}, "needs one of serving, training or icl, not 'play'"},
      {{"simulate", "serving", "--turns", "0"}, "the number of turns is 0; it must be >= 1"},
      {{"simulate", "serving", "--turns", "-3"}, "expects a non-negative integer"},
      {{"simulate", "serving", "--user", "9999999999"}, "over the largest accepted value"},
      {{"simulate", "serving", "--turns", "400"}, "over the --max-tokens limit of 65536"},
      {{"simulate", "serving", "--paradigms", "causal,,ism"}, "has an empty item"},
      {{"simulate", "serving", "--paradigms", "lm"}, "unknown paradigm"},
      {{"simulate", "training", "--heads", "3"}, "not a multiple of the 3 heads"},
      {{"simulate", "training", "--kv-heads", "3"}, "not a multiple of the 3 KV heads"},
      {{"simulate", "training", "--svg", "x.svg"}, "unknown option '--svg'"},
      {{"simulate", "icl", "--segments", "0"}, "0 context segments for 40 examples"},
      {{"simulate", "icl", "--segments", "1,x"}, "expects comma-separated integers, got 'x'"},
      {{"simulate", "icl", "--examples", "0"}, "the example count is 0"},
      {{"simulate", "serving", "--repeats", "0"}, "0 repeats; each step runs at least once"},
      {{"simulate", "serving", "--clock", "tsc"}, "option --clock expects wall or cpu, got 'tsc'"},
  };
  for (const bad& b : cases) {
    CAPTURE(b.args);
    const scratch s;
    std::vector<std::string> args = b.args;
    if (args.size() > 1 && args[1] != "training") {
      args.push_back("--svg");
      args.push_back((s.out / "chart.svg").string());
    }
    const result r = run(s, args);
    CHECK(r.code == 2);
    CHECK(contains(r.err, b.message));
    CHECK(s.empty());
  }
}

#endif
