// `ism verify`: does a file hold the mask the contract gives a layout under a
// paradigm? The file is decoded the way its engine reads it (the library's
// decoder for the format) and compared pair by pair with the contract.
// Exit 0: equal; 1: different, with the count and the first differing pairs;
// 2: bad input (a malformed file, a format that cannot hold the mask, ...).
#include <iostream>
#include <ism/ism.hpp>
#include <ism/npy_read.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

constexpr std::size_t shown_differences = 5;

// --causal true|false for cu_seqlens: the flag the engine is called with.
std::optional<bool> causal_argument(const arguments& args, const ism::export_format& format) {
  const std::optional<std::string> text = args.find("--causal");
  if (!text) return std::nullopt;
  if (!format.takes_causal)
    throw ism::argument_error("--causal applies to --format cu_seqlens only, not " + format.name);
  if (*text != "true" && *text != "false")
    throw usage_error("option --causal expects true or false, got '" + *text + "'", "ism verify");
  return *text == "true";
}

int run_verify(const arguments& args) {
  const std::uint64_t max_memory = memory_limit_argument(args);
  const ism::layout sequence = layout_argument(args);
  const ism::any_paradigm paradigm = paradigm_argument(args);
  const ism::export_format& format = ism::format_from_name(args.value("--format"));
  ism::export_options options;
  options.causal = causal_argument(args, format);
  const std::string& path = args.value("--file");

  // Within --max-memory: the contract's intervals (16 bytes a token) and a
  // decoder's scratch (up to 96 more); the file, which an .npz holds twice
  // while its arrays are unpacked, so it gets half of what is left; and the
  // decoded runs, whose budget is the rest, since a small hostile file can
  // describe rows cut into many runs.
  const std::uint64_t fixed = interval_bytes(sequence) * 7;
  check_memory(fixed, max_memory, "verifying this layout");
  const std::vector<ism::named_owned_array> owned =
      ism::read_array_file(path, (max_memory - fixed) / 2);
  std::vector<ism::named_array> arrays;
  std::uint64_t file_bytes = 0;
  for (const ism::named_owned_array& a : owned) {
    arrays.push_back({a.name, a.array.view()});
    file_bytes += a.array.data.size();
  }
  const auto max_runs = static_cast<ism::index_t>((max_memory - fixed - file_bytes) /
                                                  sizeof(ism::key_run));
  const ism::verify_report report = ism::verify(sequence, paradigm, format.name, arrays, options,
                                                shown_differences, max_runs);
  const std::string what = path + " as " + format.name + " under " + std::string(paradigm.name());
  if (report.equal()) {
    std::cout << "equal: " << what << " holds the contract's mask, all " << grouped(report.queries)
              << " x " << grouped(report.keys) << " pairs\n";
    return exit_ok;
  }
  std::cout << "different: " << what << " differs from the contract in "
            << grouped(report.differing_pairs) << " of " << grouped(report.queries) << " x "
            << grouped(report.keys) << " pairs; the first:\n";
  for (const ism::pair_difference& d : report.first_differences)
    std::cout << "  (q " << d.query << ", k " << d.key << "): file says "
              << (d.in_file ? "visible" : "hidden") << ", contract says "
              << (d.in_file ? "hidden" : "visible") << '\n';
  return exit_different;
}

}  // namespace

command verify_command() {
  static const std::string description =
      "Reads a .npy or .npz file that an engine or a person produced, decodes it the way the "
      "format's engine reads it, and compares every (query, key) pair with the mask the "
      "contract (docs/semantics.md) gives the layout under the paradigm. Prints 'equal' and "
      "exits 0 when they agree; otherwise prints the number of differing pairs and the first " +
      std::to_string(shown_differences) +
      " with what each side says, and exits 1. A malformed file (wrong dtype or shape, "
      "unsorted or out-of-range indices, counts past the end) or a format that cannot hold the "
      "paradigm's mask is an error: exit 2 with the reason.\n"
      "\n"
      "A .npy file is read as the format's one array whatever its name. flex files are read "
      "with the contract's intervals as mask_mod inside partial blocks, as the loaders attach "
      "them; cu_seqlens is read with the causal flag the paradigm needs unless --causal says "
      "which one the engine gets.\n"
      "\n"
      "Example:\n"
      "  ism verify --layout u:4,a:3 --paradigm ism --format dense --file mask.npy";
  static const std::string format_help = "Any format of 'ism export': " + ism::format_names() + ".";
  return {"verify",
          "Check that a .npy/.npz mask file equals the contract (for testing engines)",
          description,
          {layout_option(),
           paradigm_option(true),
           {"--format", "", "F", format_help, true},
           {"--file", "-f", "FILE", "The .npy or .npz file to check.", true},
           {"--causal", "", "true|false",
            "cu_seqlens only: the causal flag the engine is given (default: the one the "
            "paradigm needs).",
            false},
           memory_limit_option()},
          run_verify};
}

}  // namespace ism_cli
