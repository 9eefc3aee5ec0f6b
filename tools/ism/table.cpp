#include "table.hpp"

#include <algorithm>
#include <stdexcept>

namespace ism_cli {

namespace {

constexpr std::size_t column_gap = 2;

std::string pad(const std::string& text, std::size_t width, align alignment) {
  const std::string fill(width - std::min(width, text.size()), ' ');
  return alignment == align::left ? text + fill : fill + text;
}

std::string trim_right(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  return line;
}

}  // namespace

table& table::group(std::string title, std::size_t span) {
  groups_.push_back({std::move(title), span});
  return *this;
}

table& table::row(std::vector<std::string> cells) {
  if (cells.size() != columns_.size())
    throw std::invalid_argument("table row has " + std::to_string(cells.size()) + " cells for " +
                                std::to_string(columns_.size()) + " columns");
  rows_.push_back(std::move(cells));
  return *this;
}

table& table::rule() {
  rows_.emplace_back();
  return *this;
}

void table::print(std::ostream& os, const std::string& indent) const {
  std::vector<std::size_t> widths;
  for (const column& c : columns_) widths.push_back(c.header.size());
  for (const auto& cells : rows_)
    for (std::size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], cells[i].size());

  // Widen the last column of a group whose title is wider than its columns.
  std::size_t first = 0;
  for (const group_title& g : groups_) {
    const std::size_t end = std::min(first + g.span, widths.size());
    if (end == first) break;
    std::size_t spanned = (end - first - 1) * column_gap;
    for (std::size_t i = first; i < end; ++i) spanned += widths[i];
    if (g.title.size() > spanned) widths[end - 1] += g.title.size() - spanned;
    first = end;
  }

  const auto line = [&](const auto& cell_text, const auto& cell_align) {
    std::string out = indent;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (i > 0) out.append(column_gap, ' ');
      out += pad(cell_text(i), widths[i], cell_align(i));
    }
    os << trim_right(out) << '\n';
  };
  const auto column_align = [&](std::size_t i) { return columns_[i].alignment; };
  const std::string dashes_line = [&] {
    std::string out = indent;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      if (i > 0) out.append(column_gap, ' ');
      out.append(widths[i], '-');
    }
    return out;
  }();

  if (!groups_.empty()) {
    std::string out = indent;
    std::size_t column_index = 0;
    for (const group_title& g : groups_) {
      std::size_t spanned = 0;
      for (std::size_t i = column_index; i < std::min(column_index + g.span, widths.size()); ++i)
        spanned += widths[i] + column_gap;
      out += pad(g.title, spanned, align::left);
      column_index += g.span;
    }
    os << trim_right(out) << '\n';
  }
  line([&](std::size_t i) { return columns_[i].header; }, column_align);
  os << dashes_line << '\n';
  for (const auto& cells : rows_) {
    if (cells.empty())
      os << dashes_line << '\n';
    else
      line([&](std::size_t i) { return cells[i]; }, column_align);
  }
}

}  // namespace ism_cli
