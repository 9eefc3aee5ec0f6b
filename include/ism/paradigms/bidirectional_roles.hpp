// A paradigm described by data instead of code: segments whose role is in a set
// are bidirectional blocks, every other segment is causal, and every token sees
// all earlier segments of its document. {system, user, tool} is exactly ISM;
// {tool} reads only tool results bidirectionally. Its run-time name is
// `bidirectional-roles:ROLE[,ROLE...]`, so users outside C++ (the CLI, Python)
// define such paradigms without compiling anything.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "ism/errors.hpp"
#include "ism/paradigm.hpp"

namespace ism {
inline namespace v0 {

struct bidirectional_roles {
  static constexpr std::string_view name = "bidirectional-roles";

  std::uint8_t roles = 0;  // bit r set: segments of role r are bidirectional blocks

  constexpr bidirectional_roles() = default;
  constexpr bidirectional_roles(std::initializer_list<role> block_roles) {
    for (const role r : block_roles) roles |= bit(r);
  }

  ISM_HOST_DEVICE constexpr bool is_block(role r) const noexcept { return (roles & bit(r)) != 0; }

  ISM_HOST_DEVICE constexpr row_interval interval(const token_context& t) const noexcept {
    return {t.document.begin, is_block(t.segment.kind) ? t.segment.end - 1 : t.position};
  }

  // "bidirectional-roles:system,user": the roles in the order of ism::role.
  std::string spelled() const {
    std::string out(name);
    char separator = ':';
    for (const role r : {role::system, role::user, role::tool, role::assistant}) {
      if (!is_block(r)) continue;
      out += separator;
      out += role_name(r);
      separator = ',';
    }
    return out;
  }

  // Reads the list after "bidirectional-roles:": role names or letters
  // separated by commas, at least one, none twice. Throws
  // unknown_paradigm_error naming the bad entry.
  static bidirectional_roles parse(std::string_view list) {
    bidirectional_roles out;
    const std::string whole(list);
    const auto fail = [&](const std::string& why) {
      throw unknown_paradigm_error("paradigm '" + std::string(name) + ":" + whole +
                                   "': " + why +
                                   "; expected roles such as bidirectional-roles:system,user,tool");
    };
    if (list.empty()) fail("no role is listed");
    while (true) {
      const std::size_t comma = list.find(',');
      const std::string_view entry = list.substr(0, comma);
      const auto r = role_from_name(entry);
      if (!r) fail("'" + std::string(entry) + "' is not a role");
      if (out.is_block(*r)) fail("role '" + std::string(role_name(*r)) + "' is listed twice");
      out.roles |= bit(*r);
      if (comma == std::string_view::npos) return out;
      list.remove_prefix(comma + 1);
    }
  }

 private:
  ISM_HOST_DEVICE static constexpr std::uint8_t bit(role r) noexcept {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(r));
  }
};

}  // namespace v0
}  // namespace ism
