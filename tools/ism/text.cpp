#include "text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace ism_cli {

std::string wrap(std::string_view text, std::size_t width, std::string_view indent) {
  std::string out;
  const auto new_line = [&] {
    if (!out.empty()) out += '\n';
  };
  while (true) {
    const std::size_t end_of_line = text.find('\n');
    const std::string_view line = text.substr(0, end_of_line);
    if (line.empty()) {
      new_line();
    } else if (line.front() == ' ') {
      new_line();
      out += indent;
      out += line;
    } else {
      std::size_t column = 0;
      std::size_t pos = 0;
      while (pos < line.size()) {
        const std::size_t word_end = std::min(line.find(' ', pos), line.size());
        const std::string_view word = line.substr(pos, word_end - pos);
        if (!word.empty()) {
          if (column == 0 || column + 1 + word.size() > width) {
            new_line();
            out += indent;
            column = indent.size();
          } else {
            out += ' ';
            ++column;
          }
          out += word;
          column += word.size();
        }
        pos = word_end + 1;
      }
    }
    if (end_of_line == std::string_view::npos) break;
    text.remove_prefix(end_of_line + 1);
  }
  return out;
}

std::string grouped(std::int64_t value) {
  // Unsigned negation keeps the most negative value representable.
  const auto magnitude =
      value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  const std::string digits = std::to_string(magnitude);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string percent(double fraction) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.1f%%", fraction * 100.0);
  return buffer.data();
}

std::string human_bytes(std::uint64_t bytes) {
  constexpr std::array<const char*, 6> units{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < units.size()) {
    value /= 1024.0;
    ++unit;
  }
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.1f %s", value, units[unit]);
  return buffer.data();
}

}  // namespace ism_cli
