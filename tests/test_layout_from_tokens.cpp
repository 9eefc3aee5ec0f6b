// layout_from_token_roles: per-token roles plus cu_seqlens-style document bounds.
#include <doctest/doctest.h>

#include <array>
#include <ism/layout_from_tokens.hpp>
#include <span>
#include <string>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;
using ism::role;

ism::layout from_tokens(const std::vector<role>& roles, const std::vector<index_t>& bounds) {
  return ism::layout_from_token_roles(roles, bounds);
}

}  // namespace

TEST_CASE("layout_from_tokens: runs of one role become segments") {
  const std::vector<role> roles = {role::system,    role::system, role::user,      role::assistant,
                                   role::assistant, role::user,   role::assistant, role::tool};
  const ism::layout l = from_tokens(roles, {0, 5, 8});
  CHECK(l == ism::layout_builder{}
                 .system(2)
                 .user(1)
                 .assistant(2)
                 .next_document()
                 .user(1)
                 .assistant(1)
                 .tool(1)
                 .build());
}

TEST_CASE("layout_from_tokens: a run crossing a document bound is split there") {
  const std::vector<role> roles(4, role::user);
  const ism::layout l = from_tokens(roles, {0, 1, 3, 4});
  CHECK(l == ism::layout_builder{}.user(1).next_document().user(2).next_document().user(1).build());
}

TEST_CASE("layout_from_tokens: random layouts, with same-role neighbours merged") {
  random_layouts::for_random_layouts(3000, 1000, [](auto&, const oracle::declared_layout& d) {
    const oracle::row o = oracle::describe(d);
    std::vector<role> roles;
    for (const oracle::token& t : o.tokens) roles.push_back(t.kind);
    std::vector<index_t> bounds{0};
    for (const auto& doc : o.documents) bounds.push_back(doc.second);
    // Expected: adjacent segments of one role inside a document merge.
    oracle::declared_layout merged;
    for (const auto& doc : d) {
      auto& out = merged.emplace_back();
      for (const ism::segment& s : doc) {
        if (!out.empty() && out.back().kind == s.kind)
          out.back().length += s.length;
        else
          out.push_back(s);
      }
    }
    CHECK(ism::layout_from_token_roles(roles, bounds) == ism::layout(merged));
  });
}

TEST_CASE("layout_from_tokens: errors") {
  const std::vector<role> five(5, role::user);
  SUBCASE("too few bounds") {
    CHECK(contains(layout_error_message([&] { return from_tokens(five, {}); }), "at least 2"));
    CHECK(contains(layout_error_message([&] { return from_tokens(five, {0}); }), "got 1"));
  }
  SUBCASE("bounds not starting at 0") {
    CHECK(contains(layout_error_message([&] {
                     return from_tokens(five, {1, 5});
                   }),
                   "document_bounds[0] is 1"));
    CHECK(contains(layout_error_message([&] {
                     return from_tokens(five, {-1, 5});
                   }),
                   "document_bounds[0] is -1"));
  }
  SUBCASE("bounds not ending at the token count") {
    const std::string m = layout_error_message([&] { return from_tokens(five, {0, 4}); });
    CHECK(contains(m, "ends at 4"));
    CHECK(contains(m, "5 tokens"));
    CHECK(contains(layout_error_message([&] { return from_tokens(five, {0, 6}); }), "ends at 6"));
  }
  SUBCASE("non-increasing bounds") {
    const std::string m = layout_error_message([&] { return from_tokens(five, {0, 2, 2, 5}); });
    CHECK(contains(m, "document 1"));
    CHECK(contains(m, "empty"));
    CHECK(contains(layout_error_message([&] { return from_tokens({}, {0, 0}); }), "document 0"));
  }
  SUBCASE("a bound past the token count is rejected before any role is read") {
    // Five tokens; the storage beyond them holds a value that names no role, so
    // reading past roles.size() shows in the message instead of going unnoticed.
    std::array<role, 8> storage{};
    storage.fill(role::user);
    storage[5] = storage[6] = storage[7] = static_cast<role>(9);
    const std::span<const role> roles(storage.data(), 5);
    const std::vector<index_t> bounds{0, 8, 5};
    const std::string m =
        layout_error_message([&] { return ism::layout_from_token_roles(roles, bounds); });
    CAPTURE(m);
    CHECK(contains(m, "bounds"));
    CHECK_FALSE(contains(m, "token 5"));
  }
  SUBCASE("a role value that names no role") {
    std::vector<role> roles = five;
    roles[3] = static_cast<role>(4);
    const std::string m = layout_error_message([&] { return from_tokens(roles, {0, 5}); });
    CHECK(contains(m, "token 3"));
    CHECK(contains(m, "role value 4"));
  }
}
