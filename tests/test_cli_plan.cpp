// `ism plan`, run as a separate process: the JSON states the library's plan
// and baselines rank by rank and is valid JSON, the text shows the same
// figures, and every error exits 2 with a message.
#include <doctest/doctest.h>

#if defined(ISM_CLI_PATH) && !defined(_WIN32)

#include <array>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ism/context_parallel.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigm_registry.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "error_messages.hpp"

namespace {

namespace fs = std::filesystem;
using cli_runner::result;
using cli_runner::run;
using cli_runner::scratch;
using ism::index_t;

std::string shortest(double value) {
  std::array<char, 32> buffer{};
  const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
  return std::string(buffer.data(), end);
}

// Rank r of s as the CLI's JSON writes it.
std::string rank_json(const ism::sharding& s, index_t r) {
  const ism::rank_work& w = s.work()[static_cast<std::size_t>(r)];
  std::string runs;
  for (const ism::token_run& run : s.runs(r))
    runs += (runs.empty() ? "[" : ", [") + std::to_string(run.begin) + ", " +
            std::to_string(run.end) + "]";
  return "{\"rank\": " + std::to_string(r) + ", \"tokens\": " + std::to_string(w.tokens) +
         ", \"pairs\": " + std::to_string(w.pairs) + ", \"tiles\": " + std::to_string(w.tiles) +
         ", \"runs\": [" + runs + "]}";
}

void check_sharding_json(const std::string& json, const ism::sharding& s) {
  CHECK(contains(json, "\"imbalance\": " + shortest(s.imbalance()) + ","));
  CHECK(contains(json, "\"tile_imbalance\": " + shortest(s.tile_imbalance()) + ","));
  for (index_t r = 0; r < s.ranks(); ++r) CHECK(contains(json, rank_json(s, r)));
}

}  // namespace

TEST_CASE("cli plan: --json states the library's plan and baselines, and is valid JSON") {
  scratch s;
  const std::string text = "system:40,user:30,assistant:50 | user:20,assistant:60";
  const ism::layout row = ism::parse_layout(text);
  for (const std::string paradigm : {"causal", "ism", "bidirectional-roles:user"}) {
    CAPTURE(paradigm);
    const ism::interval_mask m = ism::make_interval_mask(row, ism::paradigm_from_name(paradigm));
    const ism::context_parallel_plan p = ism::plan_context_parallel(row, m, 3, 16);
    const result r = run(s, {"plan", "--layout", text, "--paradigm", paradigm, "--ranks", "3",
                             "--block", "16", "--json"});
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    CHECK(contains(r.out, "\"tokens\": 200,\n  \"block\": 16,\n  \"imbalance\": " +
                              shortest(p.balanced.imbalance()) + ","));
    const std::size_t baselines = r.out.find("\"baselines\"");
    REQUIRE(baselines != std::string::npos);
    check_sharding_json(r.out.substr(0, baselines), p.balanced);
    const std::size_t head_tail = r.out.find("\"head_tail\"");
    const std::size_t per_document = r.out.find("\"per_document_head_tail\"");
    REQUIRE(head_tail != std::string::npos);
    REQUIRE(per_document != std::string::npos);
    check_sharding_json(r.out.substr(baselines, head_tail - baselines), p.even);
    check_sharding_json(r.out.substr(head_tail, per_document - head_tail), p.head_tail);
    check_sharding_json(r.out.substr(per_document), p.per_document_head_tail);
    if (std::system("python3 -c 'import json' > /dev/null 2>&1") == 0) {
      const fs::path file = s.root / "plan.json";
      std::ofstream(file) << r.out;
      CHECK(
          std::system(("python3 -m json.tool " + cli_runner::quote(file.string()) + " > /dev/null")
                          .c_str()) == 0);
    }
  }
}

TEST_CASE("cli plan: the text shows every rank and the imbalance of each sharding") {
  scratch s;
  const result r = run(s, {"plan", "--layout", "user:64,assistant:64", "--paradigm", "causal",
                           "--ranks", "2", "--block", "16"});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "tokens     128 on 2 ranks, in blocks of 16"));
  // Causal rows see 1..128 keys: each rank computes half of 8,256 pairs.
  CHECK(contains(r.out, "4,128"));
  CHECK(contains(r.out, "per-document head-tail"));
  CHECK(contains(r.out, "1.000"));
  // Without --block, blocks are 128 tokens.
  const result fallback =
      run(s, {"plan", "--layout", "user:4096", "--paradigm", "causal", "--ranks", "2"});
  REQUIRE(fallback.code == 0);
  CHECK(contains(fallback.out, "in blocks of 128"));
}

TEST_CASE("cli plan: bad ranks, blocks and limits exit 2 with a message") {
  scratch s;
  const std::vector<std::string> base{"plan", "--layout", "user:5,assistant:3", "--paradigm",
                                      "ism"};
  struct bad {
    std::vector<std::string> extra;
    std::string message;
  };
  for (const bad& b : std::vector<bad>{
           {{"--ranks", "0"}, "0 ranks; a plan needs at least one"},
           {{"--ranks", "9"}, "9 ranks for a row of 8 tokens"},
           {{"--ranks", "2", "--block", "0"}, "block 0 must be at least one token"},
           {{"--ranks", "two"}, "--ranks"},
           {{}, "--ranks"},
           {{"--ranks", "2", "--max-memory", "10"}, "planning this layout would hold about"},
       }) {
    std::vector<std::string> args = base;
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    CAPTURE(b.message);
    const result r = run(s, args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(contains(r.err, b.message));
  }
  const result unknown =
      run(s, {"plan", "--layout", "user:8", "--paradigm", "nope", "--ranks", "2"});
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.err, "unknown paradigm 'nope'"));
  CHECK(contains(run(s, {"plan", "--help"}).out, "head-tail"));
}

#endif  // ISM_CLI_PATH && !_WIN32
