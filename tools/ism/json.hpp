// The two JSON scalars the commands print: numbers and strings.
#pragma once

#include <string>
#include <string_view>

namespace ism_cli {

// Shortest text that reads back as the same double; JSON has no NaN or inf,
// and callers print finite values only.
std::string json_number(double value);

std::string json_string(std::string_view text);

}  // namespace ism_cli
