// The text form of a layout (docs/semantics.md#layouts), both directions:
//   system:6,user:5,assistant:7 | user:4,assistant:2
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ism/layout.hpp"

namespace ism {
inline namespace v0 {

namespace detail {

// The length of the UTF-8 character that starts at text[at]: 1 for ASCII, 2 to
// 4 for a well-formed sequence (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF), 0 when the bytes there are not a character.
constexpr std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  // The second byte's range is narrower after E0, ED, F0 and F4.
  std::size_t length = 0;
  unsigned char second_lo = 0x80, second_hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_lo = 0xA0;
    if (lead == 0xED) second_hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_lo = 0x90;
    if (lead == 0xF4) second_hi = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - at < length || byte(1) < second_lo || byte(1) > second_hi) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  return length;
}

// How far escaped() and quote_excerpt() step from text[at]: one character, or
// one byte where the bytes are not UTF-8.
constexpr std::size_t excerpt_step(std::string_view text, std::size_t at) {
  const std::size_t length = utf8_length(text, at);
  return length == 0 ? 1 : length;
}

// `text` with every byte that is not printable ASCII escaped, so a message
// shows it whole on any terminal: no NUL that ends a C string, no control
// character, no half of a UTF-8 character.
inline std::string escaped(std::string_view text) {
  constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t step = excerpt_step(text, at);
    const auto byte = static_cast<unsigned char>(text[at]);
    if (step > 1) {
      // Decode the code point: the lead's payload bits, then 6 bits per byte.
      std::uint32_t code = byte & (0x7Fu >> step);
      for (std::size_t i = 1; i < step; ++i)
        code = (code << 6) | (static_cast<unsigned char>(text[at + i]) & 0x3Fu);
      std::string digits;
      for (; code != 0; code >>= 4) digits.insert(digits.begin(), hex[code & 0xF]);
      out += "\\u{" + digits + "}";
    } else if (byte == '\\' || byte == '\'') {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte >= 0x20 && byte < 0x7F) {
      out += static_cast<char>(byte);
    } else if (byte == '\0') {
      out += "\\0";
    } else if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    }
    at += step;
  }
  return out;
}

}  // namespace detail

// How many bytes of the text quote_excerpt shows on each side of the position:
// enough to recognise the spot, and a message stays one line however long the
// text is.
inline constexpr std::size_t excerpt_context = 20;

// `text` quoted for an error message about byte `position`: in single quotes,
// printable ASCII as is, \0 \t \n \r \\ \' for those bytes, \u{...} for a
// well-formed UTF-8 character and \xNN for any other byte; cut to about
// excerpt_context bytes on each side of `position`, with "..." outside the
// quotes where text is left out. A cut never splits a UTF-8 character. The
// text u:4,a:3 followed by a NUL byte, for example, is quoted as 'u:4,a:3\0'.
inline std::string quote_excerpt(std::string_view text, std::size_t position) {
  position = std::min(position, text.size());
  std::size_t begin = position - std::min(position, excerpt_context);
  // Start at the beginning of a character that the cut would split.
  for (std::size_t back = 1; back <= 3 && back <= begin; ++back)
    if (detail::utf8_length(text, begin - back) > back) {
      begin -= back;
      break;
    }
  const std::size_t limit = std::min(text.size(), position + excerpt_context);
  std::size_t end = begin;
  while (end < limit) end += detail::excerpt_step(text, end);
  return (begin > 0 ? "...'" : "'") + detail::escaped(text.substr(begin, end - begin)) +
         (end < text.size() ? "'..." : "'");
}

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
      fail("unexpected character '" + escaped(text_.substr(pos_, excerpt_step(text_, pos_))) +
           "'; expected ',' or '|'");
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
      fail("unknown role " + quote_excerpt(name, 0) +
               "; expected system, user, tool, assistant or s, u, t, a",
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
    throw layout_parse_error(message, at, quote_excerpt(text_, at));
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
