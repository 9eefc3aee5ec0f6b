// An SVG line chart on a logarithmic y axis, one line per series, for the
// studies of `ism simulate`: time to first token per turn, error per layer.
#pragma once

#include <string>
#include <vector>

namespace ism_cli {

struct chart_series {
  std::string name;
  std::vector<double> y;  // at x = 1, 2, ...
};

struct line_chart {
  std::string title;
  std::string subtitle;
  std::string x_label;
  std::string y_label;
  std::vector<chart_series> series;
};

// Throws ism::argument_error for a chart without points or a value that is
// not positive and finite (a logarithmic axis has no place for it).
std::string render_line_chart(const line_chart& chart);

}  // namespace ism_cli
