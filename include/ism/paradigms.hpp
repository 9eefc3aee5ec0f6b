// The four built-in paradigms, and choosing one by name at run time (the CLI,
// configuration files). Compile-time code names the policy type directly.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "ism/errors.hpp"
#include "ism/paradigms/bidirectional.hpp"
#include "ism/paradigms/causal.hpp"
#include "ism/paradigms/ism.hpp"
#include "ism/paradigms/prefix.hpp"
#include "ism/segment_function.hpp"

namespace ism {
inline namespace v0 {

enum class paradigm_kind { causal, prefix, ism, bidirectional };

inline constexpr std::array<paradigm_kind, 4> all_paradigms{
    paradigm_kind::causal, paradigm_kind::prefix, paradigm_kind::ism, paradigm_kind::bidirectional};

// Calls f with the policy object of `kind`; returns what f returns.
template <class F>
decltype(auto) visit_paradigm(paradigm_kind kind, F&& f) {
  switch (kind) {
    case paradigm_kind::causal:
      return f(causal{});
    case paradigm_kind::prefix:
      return f(prefix{});
    case paradigm_kind::ism:
      return f(intermittent{});
    case paradigm_kind::bidirectional:
      return f(bidirectional{});
  }
  throw unknown_paradigm_error("paradigm_kind value " + std::to_string(static_cast<int>(kind)) +
                               " names no paradigm");
}

inline std::string_view paradigm_name(paradigm_kind kind) {
  return visit_paradigm(kind, [](auto p) { return std::string_view(decltype(p)::name); });
}

// Throws unknown_paradigm_error listing the accepted names.
inline paradigm_kind paradigm_from_name(std::string_view name) {
  for (paradigm_kind kind : all_paradigms)
    if (paradigm_name(kind) == name) return kind;
  throw unknown_paradigm_error("unknown paradigm '" + std::string(name) +
                               "'; expected causal, prefix, ism or bidirectional");
}

inline interval_mask make_interval_mask(const layout& sequence, paradigm_kind kind) {
  return visit_paradigm(kind, [&](auto p) { return make_interval_mask(sequence, p); });
}

}  // namespace v0
}  // namespace ism
