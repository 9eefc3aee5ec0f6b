#include "svg.hpp"

#include <algorithm>
#include <vector>

#include "svg_builder.hpp"

namespace ism_cli {

namespace {

// Geometry in SVG user units (pixels).
constexpr double margin = 16;
constexpr double title_height = 50;
constexpr double label_width = 70;  // role names left of the grid
constexpr double band_size = 16;    // the coloured role strips
constexpr double band_gap = 2;
constexpr double grid_target = 560;  // the grid's side when cells are not capped
constexpr double max_cell = 22;
constexpr double min_cell = 1;
constexpr double grid_line_min_cell = 6;  // below this, cell outlines would hide the cells
constexpr double legend_gap = 20;
constexpr double legend_row = 20;
constexpr double legend_width = 470;  // room for the widest legend row

constexpr std::string_view visible_fill = "#2c3e50";
constexpr std::string_view hidden_fill = "#e8ecf1";
constexpr std::string_view segment_stroke = "#7f8fa6";
constexpr double segment_stroke_width = 2;
constexpr double document_stroke_width = 3;
constexpr std::string_view document_stroke = "#111111";

std::string_view role_colour(ism::role r) {
  switch (r) {
    case ism::role::system:
      return "#8e44ad";
    case ism::role::user:
      return "#2980b9";
    case ism::role::tool:
      return "#d68910";
    case ism::role::assistant:
      return "#27ae60";
  }
  return "#000000";
}

}  // namespace

void check_svg_tokens(ism::index_t tokens) {
  if (tokens > svg_max_tokens)
    throw ism::argument_error("the layout has " + std::to_string(tokens) +
                              " tokens; SVG pictures show at most " +
                              std::to_string(svg_max_tokens));
}

std::string render_svg(const ism::layout& sequence, const ism::interval_mask& mask,
                       std::string_view paradigm_name) {
  const ism::index_t n = sequence.size();
  check_svg_tokens(n);
  if (mask.size() != n)
    throw ism::argument_error("render_svg: the mask has " + std::to_string(mask.size()) +
                              " rows for a layout of " + std::to_string(n) + " tokens");

  const double cell = std::clamp(grid_target / static_cast<double>(n), min_cell, max_cell);
  const double grid = cell * static_cast<double>(n);
  const double band_top = margin + title_height;
  const double top = band_top + band_size + band_gap;
  const double band_left = margin + label_width;
  const double left = band_left + band_size + band_gap;
  const std::string heading =
      std::string(paradigm_name) + " mask, " + std::to_string(n) + (n == 1 ? " token" : " tokens");
  const std::string layout_text = ism::to_text(sequence);
  constexpr double heading_size = 17;
  constexpr double subtitle_size = 12;
  const double width = std::max({left + grid + margin, margin + legend_width,
                                 2 * margin + text_width(layout_text, subtitle_size)});

  svg_builder svg;
  svg.text(margin, margin + 18, heading, heading_size, "#111111", "start", "bold");
  svg.text(margin, margin + 38, layout_text, subtitle_size, "#444444");

  // Cells: one light square under the grid, then one dark run per row, merged
  // across consecutive rows with the same interval (bidirectional blocks).
  svg.rect(left, top, grid, grid, hidden_fill);
  for (ism::index_t q = 0; q < n;) {
    const ism::row_interval r = mask.interval(q);
    ism::index_t end = q + 1;
    while (end < n && mask.interval(end) == r) ++end;
    if (!r.empty())
      svg.rect(left + cell * static_cast<double>(r.lo), top + cell * static_cast<double>(q),
               cell * static_cast<double>(r.hi - r.lo + 1), cell * static_cast<double>(end - q),
               visible_fill);
    q = end;
  }
  if (cell >= grid_line_min_cell) {
    std::string path = "<path fill=\"none\" stroke=\"#ffffff\" stroke-width=\"1\" d=\"";
    for (ism::index_t i = 1; i < n; ++i) {
      path += "M" + num(left + cell * static_cast<double>(i)) + " " + num(top) + "v" + num(grid);
      path += "M" + num(left) + " " + num(top + cell * static_cast<double>(i)) + "h" + num(grid);
    }
    svg.raw(path + "\"/>\n");
  }

  // Role bands and labels.
  constexpr double band_font = 10;
  constexpr double label_font = 11;
  for (const ism::segment_span& seg : sequence.segments()) {
    const std::string_view colour = role_colour(seg.kind);
    const std::string_view name = ism::role_name(seg.kind);
    const double from = cell * static_cast<double>(seg.begin);
    const double extent = cell * static_cast<double>(seg.length());
    svg.rect(left + from, band_top, extent, band_size, colour);
    svg.rect(band_left, top + from, band_size, extent, colour);
    const std::string_view band_label = text_width(name, band_font) + 4 <= extent ? name
                                        : text_width("m", band_font) + 2 <= extent
                                            ? name.substr(0, 1)
                                            : std::string_view{};
    if (!band_label.empty())
      svg.text(left + from + extent / 2, band_top + band_size - 4.5, band_label, band_font,
               "#ffffff", "middle");
    if (extent >= label_font)
      svg.text(band_left - 5, top + from + extent / 2 + label_font * 0.35, name, label_font, colour,
               "end");
  }

  // Boundaries: thin between segments, thick between documents, both running
  // through the bands so a reader can follow them to the role names.
  for (const ism::segment_span& seg : sequence.segments()) {
    if (seg.begin == 0) continue;
    const bool document = sequence.documents()[seg.document].begin == seg.begin;
    const double at = cell * static_cast<double>(seg.begin);
    const std::string_view stroke = document ? document_stroke : segment_stroke;
    const double stroke_width = document ? document_stroke_width : segment_stroke_width;
    svg.line(left + at, band_top, left + at, top + grid, stroke, stroke_width);
    svg.line(band_left, top + at, left + grid, top + at, stroke, stroke_width);
  }
  svg.raw("<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(grid) +
          "\" height=\"" + num(grid) +
          "\" fill=\"none\" stroke=\"#111111\" stroke-width=\"1\"/>\n");

  // Legend: what the marks mean, then the roles present.
  constexpr double legend_font = 11;
  constexpr double swatch = 11;
  double y = top + grid + legend_gap;
  double x = margin;
  const auto swatch_item = [&](std::string_view fill, std::string_view label) {
    svg.rect(x, y, swatch, swatch, fill);
    svg.text(x + swatch + 5, y + swatch - 1.5, label, legend_font, "#333333");
    x += swatch + 5 + text_width(label, legend_font) + 14;
  };
  const auto line_item = [&](std::string_view stroke, double stroke_width, std::string_view label) {
    svg.line(x, y + swatch / 2, x + 16, y + swatch / 2, stroke, stroke_width);
    svg.text(x + 21, y + swatch - 1.5, label, legend_font, "#333333");
    x += 21 + text_width(label, legend_font) + 14;
  };
  swatch_item(visible_fill, "visible");
  swatch_item(hidden_fill, "hidden");
  line_item(segment_stroke, segment_stroke_width, "segment");
  if (sequence.documents().size() > 1) line_item(document_stroke, document_stroke_width, "document");
  svg.text(x, y + swatch - 1.5, "row = query, column = key", legend_font, "#666666");
  y += legend_row;
  x = margin;
  for (const ism::role r :
       {ism::role::system, ism::role::user, ism::role::tool, ism::role::assistant})
    if (std::any_of(sequence.segments().begin(), sequence.segments().end(),
                    [&](const ism::segment_span& s) { return s.kind == r; }))
      swatch_item(role_colour(r), ism::role_name(r));
  const double height = y + swatch + margin;

  return svg.finish(width, height, heading + ": " + layout_text);
}

}  // namespace ism_cli
