// `ism formats`: the export formats of the library's registry, one a line, so
// a person (or a script) sees what `ism export` and `ism verify` accept.
#include <iostream>
#include <ism/ism.hpp>
#include <string>

#include "commands.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

int run_formats(const arguments& args) {
  if (args.has("--names")) {
    for (const ism::export_format& f : ism::formats()) std::cout << f.name << '\n';
    return exit_ok;
  }
  for (const ism::export_format& f : ism::formats()) {
    std::string options;
    if (!f.dtypes.empty()) options += " --dtype";
    if (f.takes_block) options += " --block";
    if (f.takes_pad) options += " --pad";
    if (f.takes_causal) options += " (verify: --causal)";
    std::cout << f.name << (options.empty() ? "" : ":" + options) << '\n'
              << wrap(f.summary, 80, "  ") << '\n';
  }
  return exit_ok;
}

}  // namespace

command formats_command() {
  return {"formats",
          "List the export formats (what 'ism export' writes and 'ism verify' reads)",
          "Lists every format of the library's registry with its arrays and the options it "
          "takes; docs/formats.md describes each. With --names, only the names, one a line.",
          {{"--names", "", "", "Print the names only.", false}},
          run_formats};
}

}  // namespace ism_cli
