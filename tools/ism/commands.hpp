// The subcommands of `ism`, and the options several of them share.
#pragma once

#include <ism/ism.hpp>
#include <string>

#include "args.hpp"

namespace ism_cli {

command demo_command();
command show_command();
command export_command();
command stats_command();

// --layout SPEC and --paradigm P, declared once so their help reads the same
// everywhere.
option layout_option();
option paradigm_option(bool required);

// Parses --layout text; the error names the option and repeats the text.
ism::layout layout_argument(const arguments& args);
// Throws ism::unknown_paradigm_error listing the accepted names.
ism::paradigm_kind paradigm_argument(const arguments& args);

}  // namespace ism_cli
