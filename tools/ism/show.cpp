// `ism show`: one mask as a text picture, and optionally as an SVG file.
#include <iostream>
#include <optional>
#include <string>

#include "atomic_file.hpp"
#include "commands.hpp"
#include "svg.hpp"

namespace ism_cli {

namespace {

// Wider pictures wrap in any terminal and stop being readable.
constexpr ism::index_t text_max_tokens = 256;

int run_show(const arguments& args) {
  const ism::layout sequence = layout_argument(args);
  const ism::any_paradigm paradigm = paradigm_argument(args);
  const std::optional<std::string> svg_path = args.find("--svg");
  // Size limits and the output file come first: a huge layout must be refused
  // before its mask is built, and a failure must come before anything is printed.
  if (svg_path) {
    check_svg_tokens(sequence.size());
  } else if (sequence.size() > text_max_tokens) {
    throw ism::argument_error("the layout has " + std::to_string(sequence.size()) +
                              " tokens; a text picture shows at most " +
                              std::to_string(text_max_tokens) +
                              " (draw it with --svg FILE, or write the mask with 'ism export')");
  }
  std::optional<atomic_file> svg_file;
  if (svg_path) svg_file.emplace(*svg_path);

  const ism::interval_mask mask = paradigm.intervals(sequence);
  const std::string_view name = paradigm.name();
  const auto print = [&] {
    std::cout << name << " mask of " << sequence.size()
              << (sequence.size() == 1 ? " token: " : " tokens: ") << ism::to_text(sequence)
              << '\n';
    if (sequence.size() <= text_max_tokens) {
      std::cout << "'#' visible, '.' hidden; row = query, column = key\n\n";
      ism::print_mask(std::cout, mask, sequence);
    } else {
      std::cout << "(too large for a text picture)\n";
    }
    if (svg_path)
      std::cout << (sequence.size() <= text_max_tokens ? "\n" : "") << "wrote " << *svg_path
                << '\n';
  };
  // With --svg everything is printed before the picture takes its name, so a
  // failure to print leaves no new file.
  if (svg_file)
    svg_file->write([&](std::ostream& os) { os << render_svg(sequence, mask, name); }, print);
  else
    print();
  return exit_ok;
}

}  // namespace

command show_command() {
  return {
      "show",
      "Draw one mask as text, and optionally as an SVG picture",
      "Prints the mask of one paradigm over a layout: '#' where the query row sees the key "
      "column, '.' where it does not, role letters along the edges, gaps between segments "
      "and rules between documents. With --svg it also writes a picture for documentation.\n"
      "\n"
      "Example:\n"
      "  ism show --layout system:2,user:3,assistant:4 --paradigm ism --svg ism.svg",
      {layout_option(),
       paradigm_option(true),
       {"--svg", "", "FILE", "Also write an SVG picture to FILE (at most 2048 tokens).", false}},
      run_show};
}

}  // namespace ism_cli
