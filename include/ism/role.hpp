// Segment roles. system, user and tool are context roles (the ISM paper's
// "query"); assistant is the answer role.
#pragma once

#include <optional>
#include <string_view>

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {

enum class role : std::uint8_t { system, user, tool, assistant };

ISM_HOST_DEVICE constexpr bool is_context(role r) noexcept {
  return r != role::assistant;
}
ISM_HOST_DEVICE constexpr bool is_answer(role r) noexcept {
  return r == role::assistant;
}

constexpr std::string_view role_name(role r) noexcept {
  switch (r) {
    case role::system:
      return "system";
    case role::user:
      return "user";
    case role::tool:
      return "tool";
    case role::assistant:
      return "assistant";
  }
  return "?";
}

// Accepts the full names and the one-letter abbreviations of docs/semantics.md#layouts.
constexpr std::optional<role> role_from_name(std::string_view name) noexcept {
  if (name == "system" || name == "s") return role::system;
  if (name == "user" || name == "u") return role::user;
  if (name == "tool" || name == "t") return role::tool;
  if (name == "assistant" || name == "a") return role::assistant;
  return std::nullopt;
}

}  // namespace v0
}  // namespace ism
