// The text form of a layout (docs/semantics.md#layouts): the grammar, whitespace, the
// canonical form, and every parse error with its message and character position.
#include <doctest/doctest.h>

#include <ism/layout_text.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::role;
using segs = std::vector<std::vector<ism::segment>>;

struct parse_failure {
  std::string message;
  std::size_t position;
};

// The layout_parse_error that parsing `text` throws, or nothing.
std::optional<parse_failure> parse_failure_of(const std::string& text) {
  try {
    (void)ism::parse_layout(text);
  } catch (const ism::layout_parse_error& e) {
    return parse_failure{e.what(), e.position()};
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("layout_text: the example of docs/semantics.md") {
  const ism::layout l =
      ism::parse_layout("system:6,user:5,assistant:7,user:3,assistant:4 | user:4,assistant:2");
  const ism::layout expected(segs{{{role::system, 6},
                                   {role::user, 5},
                                   {role::assistant, 7},
                                   {role::user, 3},
                                   {role::assistant, 4}},
                                  {{role::user, 4}, {role::assistant, 2}}});
  CHECK(l == expected);
  CHECK(ism::to_text(l) ==
        "system:6, user:5, assistant:7, user:3, assistant:4 | user:4, assistant:2");
}

TEST_CASE("layout_text: abbreviations and whitespace variants are accepted") {
  const ism::layout expected(
      segs{{{role::system, 1}, {role::user, 22}, {role::tool, 3}, {role::assistant, 4}},
           {{role::assistant, 5}}});
  for (const char* text : {
           "s:1,u:22,t:3,a:4|a:5", "system:1,user:22,tool:3,assistant:4|assistant:5",
           " s : 1 , u : 22 , t : 3 , a : 4 | a : 5 ", "\ts:1,\nu:22,\r\nt:3 ,a:4\t|\ta:5\n",
           "s:1, user:22, t:3, assistant:4 |a:5",
           "s:001,u:22,t:03,a:4|a:5",  // leading zeros are still decimal
       }) {
    CAPTURE(text);
    CHECK(ism::parse_layout(text) == expected);
  }
}

TEST_CASE("layout_text: parse and to_text round-trip random layouts") {
  random_layouts::for_random_layouts(2000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    // The tests' own writer, with full names.
    CHECK(ism::parse_layout(random_layouts::text(d)) == l);
    // The canonical writer.
    const std::string canonical = ism::to_text(l);
    CHECK(canonical == random_layouts::text(d));
    CHECK(ism::parse_layout(canonical) == l);
  });
}

TEST_CASE("layout_text: the largest length parses, one more overflows") {
  const std::string max = std::to_string(ism::layout::max_tokens);
  CHECK(ism::parse_layout("user:" + max).size() == ism::layout::max_tokens);
  const auto over = parse_failure_of("user:" + std::to_string(ism::layout::max_tokens + 1));
  REQUIRE(over);
  CHECK(over->position == 5);
  // Each length fits but the row does not: a parse error at the segment that
  // overflows it, so a person can find it in the text.
  const auto row_over = parse_failure_of("user:" + max + ",assistant:1");
  REQUIRE(row_over);
  CHECK(row_over->position == ("user:" + max + ",assistant:").size());
  CHECK(contains(row_over->message, "longer than " + max + " tokens"));
}

TEST_CASE("layout_text: every parse error names the problem and its position") {
  struct error_case {
    const char* text;
    std::size_t position;
    const char* says;  // a part of the message naming the problem
  };
  const error_case cases[] = {
      // unknown role, with and without surrounding space
      {"user:2,bot:3", 7, "unknown role 'bot'"},
      {"  System:3", 2, "unknown role 'System'"},
      {"user:2 | ai:1", 9, "unknown role 'ai'"},
      // zero and negative lengths
      {"user:0", 5, "length must be >= 1"},
      {"user:2,assistant:000", 17, "length must be >= 1"},
      {"user:-3", 5, "segment length"},
      // a length that overflows
      {"user:99999999999", 5, "larger than"},
      {"user:2,assistant:2147483648", 17, "larger than"},
      // empty text
      {"", 0, "empty"},
      {"   \t", 4, "empty"},
      // empty documents and dangling separators
      {"|", 0, "empty document"},
      {"user:1|", 7, "empty document"},
      {"user:1 | ", 9, "empty document"},
      {"user:1||user:2", 7, "empty document"},
      {"user:1,", 7, "dangling ','"},
      {"user:1,|user:2", 7, "dangling ','"},
      {"user:1,,user:2", 7, "dangling ','"},
      {",user:1", 0, "dangling ','"},
      // missing pieces
      {"user 4", 5, "expected ':'"},
      {"user", 4, "expected ':'"},
      {"user:", 5, "expected a segment length"},
      {"user:,assistant:1", 5, "expected a segment length"},
      {":4", 0, "expected a role"},
      // garbage after a valid layout or inside a segment
      {"user:4x", 6, "unexpected character 'x'"},
      {"user:4 5", 7, "unexpected character '5'"},
      {"user:4;assistant:1", 6, "unexpected character ';'"},
      {"user:4,assistant:1 )", 19, "unexpected character ')'"},
      {"user1:4", 4, "expected ':'"},
  };
  for (const error_case& c : cases) {
    CAPTURE(c.text);
    const auto failure = parse_failure_of(c.text);
    REQUIRE(failure);
    CAPTURE(failure->message);
    CHECK(failure->position == c.position);
    CHECK(contains(failure->message, c.says));
    CHECK(contains(failure->message, "(at character " + std::to_string(c.position) + ")"));
    // The parse error is a layout_error and an invalid_argument.
    CHECK_THROWS_AS(ism::parse_layout(c.text), ism::layout_error);
    CHECK_THROWS_AS(ism::parse_layout(c.text), std::invalid_argument);
  }
}

TEST_CASE("layout_text: quote_excerpt escapes every byte that is not printable ASCII") {
  using namespace std::string_view_literals;
  CHECK(ism::quote_excerpt("user:3"sv, 0) == "'user:3'");
  CHECK(ism::quote_excerpt(""sv, 0) == "''");
  CHECK(ism::quote_excerpt("a\0b\n\t\r\\'\x01\x7f"sv, 0) == R"('a\0b\n\t\r\\\'\x01\x7f')");
  // Well-formed UTF-8 as code points: e-acute, the euro sign, an emoji.
  CHECK(ism::quote_excerpt("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"sv, 0) ==
        R"('\u{e9}\u{20ac}\u{1f600}')");
  // Anything else byte by byte: a lone continuation byte, a cut-off sequence,
  // an overlong form, a surrogate, a byte that never starts a character.
  CHECK(ism::quote_excerpt("\x80 \xe2\x82 \xc0\x80 \xed\xa0\x80 \xf5"sv, 0) ==
        R"('\x80 \xe2\x82 \xc0\x80 \xed\xa0\x80 \xf5')");
}

TEST_CASE("layout_text: quote_excerpt keeps excerpt_context bytes each side of the position") {
  static_assert(ism::excerpt_context == 20, "the expected excerpts below assume 20");
  std::string text(100, 'a');
  text[50] = 'X';
  CHECK(ism::quote_excerpt(text, 50) ==
        "...'" + std::string(20, 'a') + "X" + std::string(19, 'a') + "'...");
  CHECK(ism::quote_excerpt(text, 5) == "'" + std::string(25, 'a') + "'...");
  CHECK(ism::quote_excerpt(text, 100) == "...'" + std::string(20, 'a') + "'");
  CHECK(ism::quote_excerpt(text, 1000) == "...'" + std::string(20, 'a') + "'");
  // A cut that would split a character moves to its edge: 30 euro signs of 3
  // bytes, position 45, show the characters from byte 24 to byte 66.
  std::string euros;
  for (int i = 0; i < 30; ++i) euros += "\xe2\x82\xac";
  std::string fourteen;
  for (int i = 0; i < 14; ++i) fourteen += R"(\u{20ac})";
  CHECK(ism::quote_excerpt(euros, 45) == "...'" + fourteen + "'...");
  // However long the text and whatever its bytes, the quote stays short.
  const std::string controls(1 << 20, '\x01');
  CHECK(ism::quote_excerpt(controls, 1 << 19).size() <= 4 * (2 * ism::excerpt_context + 3) + 8);
}

TEST_CASE("layout_text: parse errors quote the text escaped and shortened") {
  using namespace std::string_view_literals;
  struct hostile_case {
    std::string text;
    std::string message;  // the whole of what()
  };
  std::string repeated;
  for (int i = 0; i < 10000; ++i) repeated += "user:1,";
  const std::string long_text = repeated + "bot:2," + repeated.substr(0, repeated.size() - 1);
  const hostile_case cases[] = {
      // A NUL byte no longer ends the message early.
      {std::string("u:4,a:3\0"sv),
       R"(unexpected character '\0'; expected ',' or '|' (at character 7) in 'u:4,a:3\0')"},
      {"user:4\xc3\xa9",
       R"(unexpected character '\u{e9}'; expected ',' or '|' (at character 6) in 'user:4\u{e9}')"},
      // Half a character, as a cut command line may leave it.
      {"user:4\xc3",
       R"(unexpected character '\xc3'; expected ',' or '|' (at character 6) in 'user:4\xc3')"},
      {"user:2,\x1b[31m:3",
       "expected a role (system, user, tool, assistant or s, u, t, a) (at character 7) in "
       R"('user:2,\x1b[31m:3')"},
      {"user:2\n|\t", R"(empty document after '|' (at character 9) in 'user:2\n|\t')"},
      {long_text,
       "unknown role 'bot'; expected system, user, tool, assistant or s, u, t, a (at character "
       "70000) in ...'ser:1,user:1,user:1,bot:2,user:1,user:1,'..."},
      {std::string(100000, 'b') + ":1",
       "unknown role 'bbbbbbbbbbbbbbbbbbbb'...; expected system, user, tool, assistant or s, u, "
       "t, a (at character 0) in 'bbbbbbbbbbbbbbbbbbbb'..."},
  };
  for (const hostile_case& c : cases) {
    CAPTURE(c.message);
    const auto failure = parse_failure_of(c.text);
    REQUIRE(failure);
    CHECK(failure->message == c.message);
  }
}
