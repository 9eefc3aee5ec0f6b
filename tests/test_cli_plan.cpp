// `ism plan`, run as a separate process: the JSON states the library's plan
// and baselines rank by rank and is valid JSON, the text shows the same
// figures, a batch of rows (--layout given once a row) states the batch's
// totals, and every error exits 2 with a message.
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

std::string runs_json(const std::vector<ism::token_run>& runs) {
  std::string out;
  for (const ism::token_run& run : runs)
    out += (out.empty() ? "[" : ", [") + std::to_string(run.begin) + ", " +
           std::to_string(run.end) + "]";
  return "[" + out + "]";
}

// A batch: each rank's totals, and its runs as a list of every row's.
void check_batch_json(const std::string& json, const ism::batch_sharding& s) {
  CHECK(contains(json, "\"imbalance\": " + shortest(s.imbalance()) + ","));
  CHECK(contains(json, "\"tile_imbalance\": " + shortest(s.tile_imbalance()) + ","));
  for (index_t r = 0; r < s.ranks(); ++r) {
    const ism::rank_work& w = s.work()[static_cast<std::size_t>(r)];
    std::string runs;
    for (const ism::sharding& row : s.rows()) runs += (runs.empty() ? "" : ", ") + runs_json(row.runs(r));
    CHECK(contains(json, "{\"rank\": " + std::to_string(r) +
                             ", \"tokens\": " + std::to_string(w.tokens) +
                             ", \"pairs\": " + std::to_string(w.pairs) +
                             ", \"tiles\": " + std::to_string(w.tiles) + ", \"runs\": [" + runs +
                             "]}"));
  }
}

void check_valid_json(const scratch& s, const std::string& json) {
  if (std::system("python3 -c 'import json' > /dev/null 2>&1") != 0) return;
  const fs::path file = s.root / "plan.json";
  std::ofstream(file) << json;
  CHECK(std::system(
            ("python3 -m json.tool " + cli_runner::quote(file.string()) + " > /dev/null").c_str()) ==
        0);
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
    CHECK(!contains(r.out, "\"rows\""));
    check_valid_json(s, r.out);
  }
}

TEST_CASE("cli plan: --layout once a row plans a batch, and the JSON states its totals") {
  scratch s;
  const std::vector<std::string> texts{"system:40,user:30,assistant:50 | user:20,assistant:60",
                                       "user:100,assistant:100", "tool:10,user:90 | assistant:100"};
  std::vector<ism::layout> rows;
  std::vector<ism::interval_mask> masks;
  for (const std::string& text : texts) {
    rows.push_back(ism::parse_layout(text));
    masks.push_back(ism::make_interval_mask(rows.back(), ism::paradigm_from_name("ism")));
  }
  const ism::batch_context_parallel_plan p = ism::plan_context_parallel(rows, masks, 3, 16);
  std::vector<std::string> args{"plan", "--paradigm", "ism", "--ranks", "3", "--block", "16",
                                "--json"};
  for (const std::string& text : texts) args.insert(args.end(), {"--layout", text});
  const result r = run(s, args);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "{\n  \"rows\": 3,\n  \"layouts\": [\"" + ism::to_text(rows[0]) +
                            "\", \"" + ism::to_text(rows[1]) + "\", \"" +
                            ism::to_text(rows[2]) + "\"],\n  \"paradigm\": \"ism\",\n"));
  CHECK(contains(r.out, "\"tokens\": 200,\n  \"block\": 16,\n"));
  const std::size_t baselines = r.out.find("\"baselines\"");
  const std::size_t head_tail = r.out.find("\"head_tail\"");
  const std::size_t per_document = r.out.find("\"per_document_head_tail\"");
  REQUIRE(baselines != std::string::npos);
  REQUIRE(head_tail != std::string::npos);
  REQUIRE(per_document != std::string::npos);
  check_batch_json(r.out.substr(0, baselines), p.balanced);
  check_batch_json(r.out.substr(baselines, head_tail - baselines), p.even);
  check_batch_json(r.out.substr(head_tail, per_document - head_tail), p.head_tail);
  check_batch_json(r.out.substr(per_document), p.per_document_head_tail);
  check_valid_json(s, r.out);

  // The text says it is a batch and shows the totals.
  std::erase(args, std::string("--json"));
  const result text = run(s, args);
  REQUIRE(text.code == 0);
  CHECK(contains(text.out, "batch      3 rows of 200 tokens, planned jointly\nrow 0      " +
                               ism::to_text(rows[0]) + "\n"));
  CHECK(contains(text.out, "tokens     600 on 3 ranks, in blocks of 16"));
  CHECK(contains(text.out, "summed over the batch's rows"));
  std::string pairs = std::to_string(p.balanced.work()[0].pairs);
  for (auto at = static_cast<std::ptrdiff_t>(pairs.size()) - 3; at > 0; at -= 3)
    pairs.insert(static_cast<std::size_t>(at), ",");
  CHECK(contains(text.out, "     0     " + std::to_string(p.balanced.work()[0].tokens) + "  "));
  CHECK(contains(text.out, pairs));
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
  const auto check_refused = [&](const bad& b) {
    std::vector<std::string> args = base;
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    CAPTURE(b.message);
    const result r = run(s, args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(contains(r.err, b.message));
  };
  for (const bad& b : std::vector<bad>{
           {{"--ranks", "0"}, "0 ranks; a plan needs at least one"},
           {{"--ranks", "9"}, "9 ranks for a row of 8 tokens"},
           {{"--ranks", "2", "--block", "0"}, "block 0 must be at least one token"},
           {{"--ranks", "two"}, "--ranks"},
           {{}, "--ranks"},
           {{"--ranks", "2", "--max-memory", "10"}, "planning this layout would hold about"},
       })
    check_refused(b);
  // A batch: rows of one length, each a layout; the error names the row.
  for (const bad& b : std::vector<bad>{
           {{"--layout", "user:7", "--ranks", "2"}, "row 1 has 7 tokens but row 0 has 8"},
           {{"--layout", "bot:8", "--ranks", "2"}, "invalid --layout (row 1): unknown role 'bot'"},
           {{"--layout", "user:8", "--ranks", "9"}, "9 ranks for a row of 8 tokens"},
           {{"--layout", "user:8", "--ranks", "2", "--max-memory", "10"},
            "planning this batch would hold about"},
       })
    check_refused(b);
  const result unknown =
      run(s, {"plan", "--layout", "user:8", "--paradigm", "nope", "--ranks", "2"});
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.err, "unknown paradigm 'nope'"));
  CHECK(contains(run(s, {"plan", "--help"}).out, "head-tail"));
}

#endif  // ISM_CLI_PATH && !_WIN32
