// Layouts (docs/semantics.md#layouts): spans, the trailing answer start P, the builder and
// every constructor error.
#include <doctest/doctest.h>

#include <ism/layout.hpp>
#include <ism/role.hpp>
#include <string>
#include <type_traits>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;
using ism::role;

}  // namespace

TEST_CASE("layout: roles are context or answer (docs/semantics.md#layouts)") {
  static_assert(ism::is_context(role::system) && ism::is_context(role::user) &&
                ism::is_context(role::tool) && !ism::is_context(role::assistant));
  static_assert(ism::is_answer(role::assistant) && !ism::is_answer(role::user));
  static_assert(ism::role_name(role::tool) == "tool");
  static_assert(ism::role_from_name("a") == role::assistant);
  static_assert(ism::role_from_name("system") == role::system);
  static_assert(!ism::role_from_name("System").has_value());
  static_assert(!ism::role_from_name("").has_value());
  for (role r : {role::system, role::user, role::tool, role::assistant}) {
    CHECK(ism::role_from_name(ism::role_name(r)) == r);
    CHECK(ism::role_from_name(ism::role_name(r).substr(0, 1)) == r);
  }
}

TEST_CASE("layout: spans of a two-document row") {
  const ism::layout l = ism::layout_builder{}
                            .system(2)
                            .user(3)
                            .assistant(4)
                            .next_document()
                            .user(1)
                            .assistant(2)
                            .build();
  CHECK(l.size() == 12);
  REQUIRE(l.segments().size() == 5);
  CHECK(l.segments()[0] == ism::segment_span{role::system, 0, 2, 0});
  CHECK(l.segments()[1] == ism::segment_span{role::user, 2, 5, 0});
  CHECK(l.segments()[2] == ism::segment_span{role::assistant, 5, 9, 0});
  CHECK(l.segments()[3] == ism::segment_span{role::user, 9, 10, 1});
  CHECK(l.segments()[4] == ism::segment_span{role::assistant, 10, 12, 1});
  CHECK(l.segments()[2].length() == 4);
  REQUIRE(l.documents().size() == 2);
  CHECK(l.documents()[0] == ism::document_span{0, 9, 0, 3, 5});
  CHECK(l.documents()[1] == ism::document_span{9, 12, 3, 5, 10});
  CHECK(l.documents()[1].length() == 3);
}

TEST_CASE("layout: the trailing answer start P") {
  SUBCASE("a document ending with context is all prefix: P = d1") {
    const ism::layout l = ism::layout_builder{}.user(2).assistant(2).user(3).build();
    CHECK(l.documents()[0].trailing_answer_begin == 7);
  }
  SUBCASE("a run of answers at the end starts P") {
    const ism::layout l =
        ism::layout_builder{}.user(2).assistant(1).user(1).assistant(2).assistant(3).build();
    CHECK(l.documents()[0].trailing_answer_begin == 4);
  }
  SUBCASE("a document of answers only has P = d0") {
    const ism::layout l =
        ism::layout_builder{}.user(1).next_document().assistant(2).assistant(1).build();
    CHECK(l.documents()[0].trailing_answer_begin == 1);
    CHECK(l.documents()[1].trailing_answer_begin == 1);
  }
  SUBCASE("a single context token") {
    const ism::layout l = ism::layout_builder{}.tool(1).build();
    CHECK(l.documents()[0].trailing_answer_begin == 1);
  }
}

TEST_CASE("layout: spans agree with the oracle on random layouts") {
  random_layouts::for_random_layouts(1000, 1000, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row o = oracle::describe(d);
    CHECK(l.size() == o.size());
    CHECK(l.declared() == d);
    CHECK(ism::layout(l.declared()) == l);
    REQUIRE(l.documents().size() == o.documents.size());
    REQUIRE(l.segments().size() == o.segments.size());
    std::string mismatch;
    for (std::size_t s = 0; s < o.segments.size(); ++s) {
      const auto& a = l.segments()[s];
      const auto& b = o.segments[s];
      if (a.kind != b.kind || a.begin != b.begin || a.end != b.end || a.document != b.document)
        mismatch += "segment " + std::to_string(s) + "; ";
    }
    for (std::size_t doc = 0; doc < o.documents.size(); ++doc) {
      const auto& a = l.documents()[doc];
      const index_t begin = o.documents[doc].first;
      const index_t end = o.documents[doc].second;
      const index_t p = o.tokens[static_cast<std::size_t>(begin)].trailing_begin;
      if (a.begin != begin || a.end != end || a.trailing_answer_begin != p)
        mismatch += "document " + std::to_string(doc) + "; ";
      if (a.end_segment - a.first_segment != static_cast<index_t>(d[doc].size()))
        mismatch += "document " + std::to_string(doc) + " segment range; ";
    }
    CHECK(mismatch == "");
  });
}

TEST_CASE("layout: always valid, and equality") {
  // No default constructor: a layout is valid once it exists.
  static_assert(!std::is_default_constructible_v<ism::layout>);
  static_assert(std::is_copy_constructible_v<ism::layout>);
  const ism::layout a = ism::layout_builder{}.user(2).assistant(1).build();
  const ism::layout b({{{role::user, 2}, {role::assistant, 1}}});
  const ism::layout c = ism::layout_builder{}.user(2).next_document().assistant(1).build();
  CHECK(a == b);
  CHECK_FALSE(a == c);  // same roles and lengths, another document split
  CHECK(ism::layout_builder{}.add(role::tool, 3).build() == ism::layout_builder{}.tool(3).build());
}

TEST_CASE("layout: constructor errors name segment k of document d") {
  using segs = std::vector<std::vector<ism::segment>>;
  SUBCASE("no document at all") {
    CHECK_THROWS_AS(ism::layout(segs{}), ism::layout_error);
  }
  SUBCASE("an empty document") {
    const std::string m = layout_error_message([] {
      return ism::layout(segs{{{role::user, 1}}, {}});
    });
    CHECK(m.find("document 1") != std::string::npos);
    CHECK(m.find("no segment") != std::string::npos);
  }
  SUBCASE("zero length") {
    const std::string m = layout_error_message([] {
      return ism::layout(segs{{{role::user, 1}}, {{role::user, 2}, {role::assistant, 0}}});
    });
    CHECK(m.find("segment 1 of document 1") != std::string::npos);
    CHECK(m.find("length 0") != std::string::npos);
  }
  SUBCASE("a role value that names no role") {
    const std::string m = layout_error_message([] {
      return ism::layout(segs{{{role::user, 2}, {static_cast<role>(7), 3}}});
    });
    CHECK(m.find("segment 1 of document 0") != std::string::npos);
    CHECK(m.find("role value 7") != std::string::npos);
    CHECK_THROWS_AS(ism::layout_builder{}.add(static_cast<role>(7), 3).build(), ism::layout_error);
  }
  SUBCASE("negative length") {
    const std::string m = layout_error_message([] {
      return ism::layout(segs{{{role::system, -3}}});
    });
    CHECK(m.find("segment 0 of document 0") != std::string::npos);
    CHECK(m.find("-3") != std::string::npos);
  }
  SUBCASE("over max_tokens") {
    const index_t half = ism::layout::max_tokens / 2 + 1;
    const std::string m = layout_error_message([&] {
      return ism::layout(segs{{{role::user, half}}, {{role::user, 1}, {role::assistant, half}}});
    });
    CHECK(m.find("segment 1 of document 1") != std::string::npos);
    CHECK(m.find(std::to_string(ism::layout::max_tokens)) != std::string::npos);
    // Exactly max_tokens is still a layout.
    CHECK(ism::layout(segs{{{role::user, ism::layout::max_tokens}}}).size() ==
          ism::layout::max_tokens);
    CHECK_THROWS_AS(ism::layout(segs{{{role::user, ism::layout::max_tokens}, {role::user, 1}}}),
                    ism::layout_error);
  }
  SUBCASE("the builder reports the same errors") {
    CHECK(layout_error_message([] { return ism::layout_builder{}.build(); }).find("document 0") !=
          std::string::npos);
    CHECK(layout_error_message([] {
            return ism::layout_builder{}.user(1).next_document().build();
          }).find("document 1") != std::string::npos);
    CHECK(layout_error_message([] {
            return ism::layout_builder{}.user(1).assistant(0).build();
          }).find("segment 1 of document 0") != std::string::npos);
    CHECK(layout_error_message([] {
            return ism::layout_builder{}
                .user(ism::layout::max_tokens)
                .next_document()
                .tool(1)
                .build();
          }).find("segment 0 of document 1") != std::string::npos);
  }
  static_assert(std::is_base_of_v<std::invalid_argument, ism::layout_error>);
}
