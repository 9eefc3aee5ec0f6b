// The text form of a layout (SPEC.md section 2), both directions:
//   system:6,user:5,assistant:7 | user:4,assistant:2
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "ism/layout.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

// Recursive descent over the grammar; every error carries the character offset.
class layout_text_parser {
 public:
  explicit layout_text_parser(std::string_view text) : text_(text) {}

  layout parse() {
    std::vector<std::vector<segment>> documents;
    skip_space();
    if (at_end()) fail("layout is empty; expected a segment such as 'user:4'");
    documents.push_back(parse_document());
    while (peek('|')) {
      ++pos_;
      skip_space();
      if (at_end() || peek('|')) fail("empty document after '|'");
      documents.push_back(parse_document());
    }
    if (!at_end())
      fail(std::string("unexpected character '") + text_[pos_] + "'; expected ',' or '|'");
    return layout(documents);
  }

 private:
  std::vector<segment> parse_document() {
    std::vector<segment> segments{parse_segment()};
    while (peek(',')) {
      ++pos_;
      skip_space();
      if (at_end() || peek('|') || peek(','))
        fail("dangling ','; expected a segment such as 'assistant:7'");
      segments.push_back(parse_segment());
    }
    return segments;
  }

  segment parse_segment() {
    skip_space();
    const std::size_t role_begin = pos_;
    while (!at_end() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    const std::string_view name = text_.substr(role_begin, pos_ - role_begin);
    if (name.empty()) {
      if (peek('|')) fail("empty document: '|' with no segment before it");
      if (peek(',')) fail("dangling ',' with no segment before it");
      fail("expected a role (system, user, tool, assistant or s, u, t, a)");
    }
    const auto kind = role_from_name(name);
    if (!kind)
      fail("unknown role '" + std::string(name) +
               "'; expected system, user, tool, assistant or s, u, t, a",
           role_begin);
    skip_space();
    if (!peek(':')) fail("expected ':' after role '" + std::string(name) + "'");
    ++pos_;
    skip_space();
    const std::size_t length_begin = pos_;
    if (at_end() || !std::isdigit(static_cast<unsigned char>(text_[pos_])))
      fail("expected a segment length (a decimal integer >= 1)");
    index_t length = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      const int digit = text_[pos_] - '0';
      if (length > (layout::max_tokens - digit) / 10)
        fail("segment length is larger than " + std::to_string(layout::max_tokens), length_begin);
      length = length * 10 + digit;
      ++pos_;
    }
    if (length < 1) fail("segment length must be >= 1", length_begin);
    if (length > layout::max_tokens - tokens_)
      fail("this segment makes the row longer than " + std::to_string(layout::max_tokens) +
               " tokens",
           length_begin);
    tokens_ += length;
    skip_space();
    return {*kind, length};
  }

  bool at_end() const { return pos_ >= text_.size(); }
  bool peek(char c) const { return !at_end() && text_[pos_] == c; }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  [[noreturn]] void fail(const std::string& message) const { fail(message, pos_); }
  [[noreturn]] void fail(const std::string& message, std::size_t at) const {
    throw layout_parse_error(message, at);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  index_t tokens_ = 0;  // parsed so far, so an over-long row fails at its segment
};

}  // namespace detail

// Throws layout_parse_error (a layout_error) naming the character position, or
// layout_error for a structurally invalid layout such as one over max_tokens.
inline layout parse_layout(std::string_view text) {
  return detail::layout_text_parser(text).parse();
}

// The canonical text form: full role names, ", " between segments, " | " between
// documents. parse_layout(to_text(l)) == l.
inline std::string to_text(const layout& l) {
  std::string out;
  for (const document_span& doc : l.documents()) {
    if (!out.empty()) out += " | ";
    for (index_t s = doc.first_segment; s < doc.end_segment; ++s) {
      const segment_span& seg = l.segments()[s];
      if (s != doc.first_segment) out += ", ";
      out += role_name(seg.kind);
      out += ':';
      out += std::to_string(seg.length());
    }
  }
  return out;
}

}  // namespace v0
}  // namespace ism
