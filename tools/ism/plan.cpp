// `ism plan`: a context-parallel plan for a layout under a paradigm, with each
// rank's work beside the baselines' (docs/context_parallel.md), as aligned
// text or JSON. Several --layout options are a batch, planned jointly; one is
// the batch of one, printed as a row.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "json.hpp"
#include "table.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

// The plan holds the interval mask and, for it and each of the three
// baselines, a permutation, its owners and its restore: about five times the
// mask's 16 bytes a token.
constexpr std::uint64_t plan_bytes_per_interval_byte = 5;

struct named_sharding {
  const char* name;
  const ism::batch_sharding* sharding;
};

std::string runs_json(const std::vector<ism::token_run>& runs) {
  std::string out = "[";
  for (std::size_t i = 0; i < runs.size(); ++i)
    out += (i > 0 ? ", [" : "[") + std::to_string(runs[i].begin) + ", " +
           std::to_string(runs[i].end) + "]";
  return out + "]";
}

// A rank's runs: of the row, or for a batch a list of each row's.
std::string rank_runs_json(const ism::batch_sharding& s, ism::index_t r) {
  if (s.rows().size() == 1) return runs_json(s.row(0).runs(r));
  std::string out = "[";
  for (std::size_t b = 0; b < s.rows().size(); ++b)
    out += (b > 0 ? ", " : "") + runs_json(s.rows()[b].runs(r));
  return out + "]";
}

// "imbalance", "tile_imbalance" and "ranks", at `indent`.
void print_sharding_json(std::ostream& os, const ism::batch_sharding& s,
                         const std::string& indent) {
  os << indent << "\"imbalance\": " << json_number(s.imbalance()) << ",\n"
     << indent << "\"tile_imbalance\": " << json_number(s.tile_imbalance()) << ",\n"
     << indent << "\"ranks\": [";
  for (ism::index_t r = 0; r < s.ranks(); ++r) {
    const ism::rank_work& w = s.work()[static_cast<std::size_t>(r)];
    os << (r > 0 ? "," : "") << "\n"
       << indent << "  {\"rank\": " << r << ", \"tokens\": " << w.tokens
       << ", \"pairs\": " << w.pairs << ", \"tiles\": " << w.tiles
       << ", \"runs\": " << rank_runs_json(s, r) << "}";
  }
  os << "\n" << indent << "]";
}

void print_json(const std::vector<ism::layout>& rows, const ism::any_paradigm& paradigm,
                const ism::batch_context_parallel_plan& p) {
  const std::vector<named_sharding> baselines{
      {"even", &p.even},
      {"head_tail", &p.head_tail},
      {"per_document_head_tail", &p.per_document_head_tail}};
  std::ostream& os = std::cout;
  os << "{\n";
  if (rows.size() == 1) {
    os << "  \"layout\": " << json_string(ism::to_text(rows.front())) << ",\n";
  } else {
    os << "  \"rows\": " << rows.size() << ",\n  \"layouts\": [";
    for (std::size_t b = 0; b < rows.size(); ++b)
      os << (b > 0 ? ", " : "") << json_string(ism::to_text(rows[b]));
    os << "],\n";
  }
  os << "  \"paradigm\": " << json_string(paradigm.name()) << ",\n"
     << "  \"tokens\": " << rows.front().size() << ",\n"
     << "  \"block\": " << p.balanced.block() << ",\n";
  print_sharding_json(os, p.balanced, "  ");
  os << ",\n  \"baselines\": {";
  for (std::size_t i = 0; i < baselines.size(); ++i) {
    os << (i > 0 ? "," : "") << "\n    " << json_string(baselines[i].name) << ": {\n";
    print_sharding_json(os, *baselines[i].sharding, "      ");
    os << "\n    }";
  }
  os << "\n  }\n}\n";
}

std::string ratio(double value) {
  std::string text = std::to_string(value);
  return text.substr(0, text.find('.') + 4);
}

void print_text(const std::vector<ism::layout>& rows, const ism::any_paradigm& paradigm,
                const ism::batch_context_parallel_plan& p) {
  const ism::index_t n = rows.front().size();
  if (rows.size() == 1) {
    std::cout << "layout     " << ism::to_text(rows.front()) << '\n';
  } else {
    std::cout << "batch      " << rows.size() << " rows of " << grouped(n)
              << " tokens, planned jointly\n";
    for (std::size_t b = 0; b < rows.size(); ++b) {
      std::string label = "row " + std::to_string(b);
      label.resize(std::max<std::size_t>(label.size() + 1, 11), ' ');
      std::cout << label << ism::to_text(rows[b]) << '\n';
    }
  }
  std::cout << "paradigm   " << paradigm.name() << '\n'
            << "tokens     " << grouped(n * static_cast<ism::index_t>(rows.size())) << " on "
            << p.balanced.ranks() << " ranks, in blocks of " << p.balanced.block() << "\n\n";
  table ranks({{"rank", align::right},
               {"tokens", align::right},
               {"runs", align::right},
               {"visible pairs", align::right},
               {"tiles", align::right}});
  for (ism::index_t r = 0; r < p.balanced.ranks(); ++r) {
    const ism::rank_work& w = p.balanced.work()[static_cast<std::size_t>(r)];
    std::size_t runs = 0;
    for (const ism::sharding& row : p.balanced.rows()) runs += row.runs(r).size();
    ranks.row({std::to_string(r), grouped(w.tokens), grouped(static_cast<ism::index_t>(runs)),
               grouped(w.pairs), grouped(w.tiles)});
  }
  std::cout << "The plan, rank by rank"
            << (rows.size() == 1 ? "" : ", summed over the batch's rows") << "\n";
  ranks.print(std::cout);

  table imbalance(
      {{"sharding"}, {"max/mean pairs", align::right}, {"max/mean tiles", align::right}});
  const std::vector<named_sharding> all{{"plan", &p.balanced},
                                        {"even", &p.even},
                                        {"head-tail", &p.head_tail},
                                        {"per-document head-tail", &p.per_document_head_tail}};
  for (const named_sharding& s : all)
    imbalance.row({s.name, ratio(s.sharding->imbalance()), ratio(s.sharding->tile_imbalance())});
  std::cout << "\nImbalance (1.000 is perfect)\n";
  imbalance.print(std::cout);
}

// Each --layout, a row of the batch; the error names the row when there are several.
std::vector<ism::layout> layout_rows(const arguments& args) {
  const std::vector<std::string> texts = args.values("--layout");
  std::vector<ism::layout> rows;
  for (std::size_t b = 0; b < texts.size(); ++b) {
    try {
      rows.push_back(ism::parse_layout(texts[b]));
    } catch (const ism::layout_error& e) {
      const std::string which = texts.size() == 1 ? "" : " (row " + std::to_string(b) + ")";
      throw ism::layout_error("invalid --layout" + which + ": " + e.what());
    }
  }
  return rows;
}

int run_plan(const arguments& args) {
  const std::uint64_t max_memory = memory_limit_argument(args);
  const std::vector<ism::layout> rows = layout_rows(args);
  const ism::any_paradigm paradigm = paradigm_argument(args);
  const auto ranks = static_cast<ism::index_t>(args.number("--ranks", 0));
  const auto block = static_cast<ism::index_t>(args.number("--block", ism::default_plan_block));
  std::uint64_t bytes = 0;
  for (const ism::layout& row : rows) bytes += plan_bytes_per_interval_byte * interval_bytes(row);
  check_memory(bytes, max_memory, rows.size() == 1 ? "planning this layout" : "planning this batch");
  std::vector<ism::interval_mask> masks;
  for (const ism::layout& row : rows) masks.push_back(paradigm.intervals(row));
  const ism::batch_context_parallel_plan p = ism::plan_context_parallel(rows, masks, ranks, block);
  if (args.has("--json"))
    print_json(rows, paradigm, p);
  else
    print_text(rows, paradigm, p);
  return exit_ok;
}

// --layout, given once a row, for a batch of rows of one length.
option layout_rows_option() {
  static const std::string help =
      std::string(layout_option().help) +
      " Give it once per row for a batch of rows of the same token count, planned jointly.";
  option out = layout_option();
  out.help = help;
  out.repeatable = true;
  return out;
}

}  // namespace

command plan_command() {
  return {"plan",
          "Balance a layout's attention work over context-parallel ranks",
          "Deals the query tokens of the layout to R ranks so that each rank computes the same "
          "number of visible (query, key) pairs under the paradigm's mask, every rank holding "
          "N/R tokens in runs of whole blocks. Prints each rank's tokens, runs, visible pairs and "
          "tiles (query blocks x key blocks), and max/mean pairs and tiles for the plan and for "
          "three baselines: the even contiguous split, the head-tail split (2R chunks, rank r "
          "holding chunks r and 2R-1-r) and the same per document. The JSON lists every rank's "
          "runs of tokens, [begin, end), which are the plan itself.\n"
          "\n"
          "Example:\n"
          "  ism plan --layout \"system:300,user:200,assistant:500\" --paradigm ism --ranks 4 "
          "--block 16",
          {layout_rows_option(),
           paradigm_option(true),
           {"--ranks", "", "R", "The number of ranks, from 1 to the layout's token count.", true},
           {"--block", "", "B",
            "The block size in tokens: the plan deals whole blocks, and tiles are B x B "
            "(default: 128).",
            false},
           {"--json", "", "", "Print JSON instead of tables.", false},
           memory_limit_option()},
          run_plan};
}

}  // namespace ism_cli
