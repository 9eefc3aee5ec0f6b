// Aligned text tables for the terminal: a header row, a dashed rule, rows of
// cells padded to each column's widest entry, and optional group titles that
// span several columns. Cells are ASCII, so bytes are columns.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ism_cli {

enum class align { left, right };

struct column {
  std::string header;
  align alignment = align::left;
};

class table {
 public:
  explicit table(std::vector<column> columns) : columns_(std::move(columns)) {}

  // A title over the next `span` columns, for headers such as "causal" over
  // "reuse" and "compute". Groups are laid out left to right.
  table& group(std::string title, std::size_t span);

  // Throws std::invalid_argument when the row has another number of cells.
  table& row(std::vector<std::string> cells);

  // A dashed rule before the next row, e.g. above a total.
  table& rule();

  void print(std::ostream& os, const std::string& indent = "  ") const;

 private:
  struct group_title {
    std::string title;
    std::size_t span;
  };
  std::vector<column> columns_;
  std::vector<group_title> groups_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a rule
};

}  // namespace ism_cli
