// Writing SVG by hand: numbers, escaped text and the few elements the
// pictures of the CLI draw (ism show's masks, ism simulate's charts).
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

namespace ism_cli {

inline constexpr std::string_view svg_font = "DejaVu Sans, Helvetica, Arial, sans-serif";
// Sans-serif glyphs average about this fraction of the font size in width.
inline constexpr double glyph_width = 0.62;

// Shortest decimal with at most two digits after the point.
inline std::string num(double value) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.2f", value);
  std::string out = buffer.data();
  out.erase(out.find_last_not_of('0') + 1);
  if (out.back() == '.') out.pop_back();
  return out == "-0" ? "0" : out;
}

inline std::string escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

class svg_builder {
 public:
  void rect(double x, double y, double w, double h, std::string_view fill) {
    body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
             num(h) + "\" fill=\"" + std::string(fill) + "\"/>\n";
  }
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width) {
    body_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
             num(y2) + "\" stroke=\"" + std::string(stroke) + "\" stroke-width=\"" + num(width) +
             "\"/>\n";
  }
  // anchor: start, middle or end.
  void text(double x, double y, std::string_view content, double size, std::string_view fill,
            std::string_view anchor = "start", std::string_view weight = "normal") {
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) +
             "\" fill=\"" + std::string(fill) + "\" text-anchor=\"" + std::string(anchor) + "\"";
    if (weight != "normal") body_ += " font-weight=\"" + std::string(weight) + "\"";
    body_ += ">" + escape(content) + "</text>\n";
  }
  void raw(const std::string& element) { body_ += element; }

  std::string finish(double width, double height, std::string_view title) const {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" +
           num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
           "\" font-family=\"" + std::string(svg_font) + "\">\n<title>" + escape(title) +
           "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n" + body_ +
           "</svg>\n";
  }

 private:
  std::string body_;
};


inline double text_width(std::string_view text, double font_size) {
  return static_cast<double>(text.size()) * font_size * glyph_width;
}

}  // namespace ism_cli
