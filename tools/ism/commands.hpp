// The subcommands of `ism`, and the options several of them share.
#pragma once

#include <ism/ism.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "args.hpp"

namespace ism_cli {

command demo_command();
command show_command();
command export_command();
command stats_command();
command verify_command();
command formats_command();
command simulate_serving_command();
command simulate_training_command();
command simulate_icl_command();
command plan_command();

// --layout L and --paradigm P, declared once so their help reads the same
// everywhere.
option layout_option();
option paradigm_option(bool required);

// Parses --layout text; the error names the option and repeats the text.
ism::layout layout_argument(const arguments& args);
// Throws ism::unknown_paradigm_error listing the accepted names.
ism::any_paradigm paradigm_argument(const arguments& args);

// --max-memory N: a bound on what a command holds, checked from the layout
// before any work (2 GiB by default).
option memory_limit_option();
std::uint64_t memory_limit_argument(const arguments& args);
// The bytes of a layout's interval mask: 16 a token.
std::uint64_t interval_bytes(const ism::layout& sequence);
// Throws ism::argument_error naming `what` when bytes pass limit.
void check_memory(std::uint64_t bytes, std::uint64_t limit, std::string_view what);

}  // namespace ism_cli
