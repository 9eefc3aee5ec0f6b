// Formatting for people reading a terminal: wrapped paragraphs, grouped
// integers, percentages and byte sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ism_cli {

// Wraps each line of `text` at `width` columns, every output line starting with
// `indent`. A line that starts with a space (an example, a picture) is kept as
// it is; an empty line stays empty. No trailing newline.
std::string wrap(std::string_view text, std::size_t width, std::string_view indent);

// 1234567 -> "1,234,567".
std::string grouped(std::int64_t value);

// 0.4291 -> "42.9%".
std::string percent(double fraction);

// 1073741824 -> "1.0 GiB"; below 1 KiB, "512 B".
std::string human_bytes(std::uint64_t bytes);

}  // namespace ism_cli
