// JSON text for the commands that print --json: numbers and strings written so
// that any JSON reader reads back the same values.
#pragma once

#include <string>
#include <string_view>

namespace ism_cli {

// Shortest text that reads back as the same double. JSON has no NaN or inf;
// callers print finite values only.
std::string json_number(double value);

// A quoted string, with quotes, backslashes and control characters escaped.
std::string json_string(std::string_view text);

}  // namespace ism_cli
