// ASCII pictures of masks: a hand-written expected picture, equal widths, and
// print_mask's stream form.
#include <doctest/doctest.h>

#include <ism/composition.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <ism/print.hpp>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

// A causal mask of n rows that records any question about a row it does not have.
struct probe_mask {
  ism::index_t n;
  bool* strayed;
  ism::index_t size() const { return n; }
  bool visible(ism::index_t q, ism::index_t k) const {
    if (q < 0 || q >= n || k < 0 || k >= n) *strayed = true;
    return k <= q;
  }
};
static_assert(ism::sized_mask<probe_mask>);

}  // namespace

TEST_CASE("print: render_ascii of ism over two documents") {
  const ism::layout l = ism::parse_layout("system:2,user:1,assistant:2 | user:1,assistant:1");
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(l);
  // Role letters on top and on the left; a blank between segments; '|' and a
  // rule of '-' between documents.
  // clang-format off
  const std::vector<std::string> expected = {
      "   ss u aa|u a",
      "s  ## . ..|. .",
      "s  ## . ..|. .",
      "          |   ",
      "u  ## # ..|. .",
      "          |   ",
      "a  ## # #.|. .",
      "a  ## # ##|. .",
      "   -------|---",
      "u  .. . ..|# .",
      "          |   ",
      "a  .. . ..|# #",
  };
  // clang-format on
  CHECK(ism::render_ascii(m, l) == expected);

  std::ostringstream os;
  ism::print_mask(os, m, l);
  std::string joined;
  for (const std::string& line : expected) joined += line + "\n";
  CHECK(os.str() == joined);
}

TEST_CASE("print: render_ascii of causal and prefix on one segment pair") {
  const ism::layout l = ism::parse_layout("tool:2,assistant:2");
  // clang-format off
  const std::vector<std::string> causal = {
      "   tt aa",
      "t  #. ..",
      "t  ## ..",
      "        ",
      "a  ## #.",
      "a  ## ##",
  };
  const std::vector<std::string> prefix = {
      "   tt aa",
      "t  ## ..",
      "t  ## ..",
      "        ",
      "a  ## #.",
      "a  ## ##",
  };
  // clang-format on
  CHECK(ism::render_ascii(ism::make_interval_mask<ism::causal>(l), l) == causal);
  CHECK(ism::render_ascii(ism::make_interval_mask<ism::prefix>(l), l) == prefix);
}

TEST_CASE("print: a single token and a composed mask") {
  const ism::layout one = ism::parse_layout("assistant:1");
  CHECK(ism::render_ascii(ism::make_interval_mask<ism::bidirectional>(one), one) ==
        std::vector<std::string>{"   a", "a  #"});
  const ism::layout l = ism::parse_layout("user:3");
  const auto m = ism::and_masks(ism::make_interval_mask<ism::bidirectional>(l),
                                [](ism::index_t q, ism::index_t k) { return q != k; });
  // clang-format off
  const std::vector<std::string> no_diagonal = {
      "   uuu",
      "u  .##",
      "u  #.#",
      "u  ##.",
  };
  // clang-format on
  CHECK(ism::render_ascii(m, l) == no_diagonal);
}

TEST_CASE("print: every line has the same width and the cells match the oracle") {
  random_layouts::for_random_layouts(30000, 200, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    random_layouts::for_each_paradigm([&](auto policy, std::string_view name, const ism::any_paradigm&) {
      CAPTURE(name);
      const std::vector<std::string> lines =
          ism::render_ascii(ism::make_interval_mask(l, policy), l);
      REQUIRE_FALSE(lines.empty());
      const oracle::mask om = oracle::mask_of(name, o);
      std::string problems;
      // One row line per token, in order, after the header; cells are the
      // characters left after the 3-column margin once separators are dropped.
      ism::index_t q = 0;
      for (std::size_t i = 1; i < lines.size(); ++i) {
        if (lines[i].size() != lines[0].size())
          problems += "width of line " + std::to_string(i) + "; ";
        if (lines[i][0] == ' ') continue;  // a rule between segments or documents
        std::string cells;
        for (std::size_t c = 3; c < lines[i].size(); ++c)
          if (lines[i][c] == '#' || lines[i][c] == '.') cells += lines[i][c];
        std::string want;
        for (ism::index_t k = 0; k < o.size(); ++k) want += om.visible(q, k) ? '#' : '.';
        if (cells != want) problems += "row " + std::to_string(q) + "; ";
        ++q;
      }
      CHECK(q == o.size());
      CHECK(problems == "");
    });
  });
}

TEST_CASE("print: a sized mask smaller than the layout is a shape_error") {
  // The analyses reject a mask of the wrong size with shape_error; render_ascii
  // asks the mask about rows it does not have (for an interval_mask: an
  // out-of-bounds read once NDEBUG drops ISM_ASSERT).
  bool strayed = false;
  const ism::layout l = ism::parse_layout("user:3,assistant:2");
  CHECK_NOTHROW(ism::render_ascii(probe_mask{5, &strayed}, l));
  CHECK_FALSE(strayed);
  CHECK_THROWS_AS(ism::render_ascii(probe_mask{3, &strayed}, l), ism::shape_error);
  CHECK_FALSE(strayed);
}

TEST_CASE("print: render_blocks draws one character per tile") {
  // s:4,u:6,a:6 in blocks of 4: the user segment ends inside key block 2, so
  // every row that sees it sees it only in part; the answer is causal.
  const auto m = ism::make_interval_mask<ism::intermittent>(
      ism::parse_layout("system:4,user:6,assistant:6"));
  const std::vector<std::string> expected{
      "#...",
      "##+.",
      "##+.",
      "###+",
  };
  CHECK(ism::render_blocks(ism::make_block_mask(m, ism::block_size{4, 4})) == expected);
  std::ostringstream os;
  ism::print_blocks(os, ism::make_block_mask(m, ism::block_size{8, 16}));
  CHECK(os.str() == "+\n+\n");
}

TEST_CASE("print: the block picture in docs/concepts.md is what print_blocks draws") {
  const auto row = ism::parse_layout(
      "system:16, user:24, assistant:40, user:16, assistant:32 | user:8, assistant:24");
  std::string expected = "causal       prefix       ism          bidirectional\n";
  std::vector<std::vector<std::string>> pictures;
  for (const ism::any_paradigm& kind : ism::paradigms().all())
    pictures.push_back(
        ism::render_blocks(ism::make_block_mask(ism::make_interval_mask(row, kind), {16, 16})));
  for (std::size_t line = 0; line < pictures[0].size(); ++line) {
    std::string text;
    for (const auto& picture : pictures) text += picture[line] + "   ";
    expected += text.substr(0, text.find_last_not_of(' ') + 1) + "\n";
  }
  std::ifstream doc(std::string(ISM_SOURCE_DIR) + "/docs/concepts.md");
  const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  CHECK(contains(text, "```\n" + expected + "```\n"));
}
