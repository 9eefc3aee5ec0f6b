#include "line_chart.hpp"

#include <algorithm>
#include <cmath>
#include <ism/errors.hpp>
#include <string_view>

#include "svg_builder.hpp"

namespace ism_cli {

namespace {

// Geometry in SVG user units (pixels).
constexpr double width = 720;
constexpr double height = 440;
constexpr double left = 80;
constexpr double right = 170;  // room for the legend
constexpr double top = 64;
constexpr double bottom = 56;
constexpr double font_size = 12;

// Colour-blind-safe (Okabe and Ito), in series order.
constexpr std::string_view palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                        "#e69f00", "#56b4e9", "#000000"};

std::string decade_label(int exponent) {
  if (exponent >= 0 && exponent <= 3) return num(std::pow(10.0, exponent));
  return "1e" + std::to_string(exponent);
}

}  // namespace

std::string render_line_chart(const line_chart& chart) {
  double low = HUGE_VAL, high = 0;
  std::size_t points = 0;
  for (const chart_series& s : chart.series) {
    points = std::max(points, s.y.size());
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      if (!(std::isfinite(s.y[i]) && s.y[i] > 0))
        throw ism::argument_error("chart '" + chart.title + "': point " + std::to_string(i + 1) +
                                  " of " + s.name + " is " + std::to_string(s.y[i]) +
                                  "; a logarithmic axis needs positive values");
      low = std::min(low, s.y[i]);
      high = std::max(high, s.y[i]);
    }
  }
  if (points == 0) throw ism::argument_error("chart '" + chart.title + "' has no points");
  const int first_decade = static_cast<int>(std::floor(std::log10(low)));
  const int last_decade = std::max(static_cast<int>(std::ceil(std::log10(high))), first_decade + 1);
  const double plot_w = width - left - right;
  const double plot_h = height - top - bottom;
  const auto x_at = [&](std::size_t i) {
    return points == 1 ? left + plot_w / 2
                       : left + plot_w * static_cast<double>(i) / static_cast<double>(points - 1);
  };
  const auto y_at = [&](double v) {
    return top + plot_h * (last_decade - std::log10(v)) / (last_decade - first_decade);
  };

  svg_builder svg;
  svg.text(left, 24, chart.title, 16, "#111111", "start", "bold");
  svg.text(left, 44, chart.subtitle, font_size, "#444444");
  for (int e = first_decade; e <= last_decade; ++e) {
    const double y = y_at(std::pow(10.0, e));
    svg.line(left, y, left + plot_w, y, "#e0e0e0", 1);
    svg.text(left - 6, y + 4, decade_label(e), font_size, "#333333", "end");
  }
  // About eight ticks along x, at round steps.
  const std::size_t step = std::max<std::size_t>(1, (points + 7) / 8);
  for (std::size_t i = 0; i < points; i += step)
    svg.text(x_at(i), top + plot_h + 18, std::to_string(i + 1), font_size, "#333333", "middle");
  svg.raw("<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(plot_w) +
          "\" height=\"" + num(plot_h) + "\" fill=\"none\" stroke=\"#111111\"/>\n");
  svg.text(left + plot_w / 2, height - 14, chart.x_label, font_size, "#111111", "middle");
  svg.raw("<text x=\"18\" y=\"" + num(top + plot_h / 2) + "\" font-size=\"" + num(font_size) +
          "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " + num(top + plot_h / 2) +
          ")\">" + escape(chart.y_label) + "</text>\n");

  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const chart_series& s = chart.series[k];
    const std::string_view colour = palette[k % std::size(palette)];
    std::string line = "<polyline fill=\"none\" stroke=\"" + std::string(colour) +
                       "\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < s.y.size(); ++i)
      line += (i > 0 ? " " : "") + num(x_at(i)) + "," + num(y_at(s.y[i]));
    svg.raw(line + "\"/>\n");
    const double legend_y = top + 8 + 20 * static_cast<double>(k);
    svg.line(left + plot_w + 14, legend_y, left + plot_w + 36, legend_y, colour, 2);
    svg.text(left + plot_w + 42, legend_y + 4, s.name, font_size, "#111111");
  }
  return svg.finish(width, height, chart.title);
}

}  // namespace ism_cli
