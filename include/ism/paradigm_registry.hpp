// Paradigms by name, in one table. The process-wide registry, ism::paradigms(),
// starts with the four built-in paradigms and the data-driven family
// `bidirectional-roles:ROLE[,ROLE...]`; a program adds its own paradigm types
// under their names at start-up, and from then on everything that takes a
// paradigm name (the CLI, the exports by name, verify, the Python package)
// accepts them:
//
//   ism::paradigms().add(tool_results_bidirectional{});
//   ism::any_paradigm p = ism::paradigm_from_name("tool-bidirectional");
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ism/any_paradigm.hpp"
#include "ism/errors.hpp"
#include "ism/paradigms/bidirectional.hpp"
#include "ism/paradigms/bidirectional_roles.hpp"
#include "ism/paradigms/causal.hpp"
#include "ism/paradigms/ism.hpp"
#include "ism/paradigms/prefix.hpp"

namespace ism {
inline namespace v0 {

class paradigm_registry {
 public:
  // A family of paradigms that share a name before ':' and read the rest as
  // parameters, such as bidirectional-roles:tool.
  struct family {
    std::string prefix;  // without the ':'
    std::string usage;   // for messages: "bidirectional-roles:ROLE[,ROLE...]"
    std::function<any_paradigm(std::string_view parameters)> make;
  };

  // Throws argument_error for a name that is empty, holds characters other
  // than letters, digits, '-', '_' and '.', or is taken.
  void add(any_paradigm p) {
    const std::lock_guard<std::mutex> hold(lock_);
    check_new_name(p.name());
    entries_.push_back(std::move(p));
  }

  template <paradigm P>
  void add(P policy = {}, std::string name = std::string(P::name)) {
    add(any_paradigm(std::move(policy), std::move(name)));
  }

  void add_family(family f) {
    const std::lock_guard<std::mutex> hold(lock_);
    check_new_name(f.prefix);
    families_.push_back(std::move(f));
  }

  // Throws unknown_paradigm_error listing what is accepted.
  any_paradigm find(std::string_view name) const {
    const std::lock_guard<std::mutex> hold(lock_);
    for (const any_paradigm& p : entries_)
      if (p.name() == name) return p;
    const std::size_t colon = name.find(':');
    if (colon != std::string_view::npos)
      for (const family& f : families_)
        if (name.substr(0, colon) == f.prefix) return f.make(name.substr(colon + 1));
    throw unknown_paradigm_error("unknown paradigm '" + std::string(name) + "'; expected " +
                                 accepted_locked());
  }

  // Every named paradigm, in the order added (families are not listed).
  std::vector<any_paradigm> all() const {
    const std::lock_guard<std::mutex> hold(lock_);
    return entries_;
  }

  // "causal, prefix, ism, bidirectional or bidirectional-roles:ROLE[,ROLE...]"
  std::string accepted() const {
    const std::lock_guard<std::mutex> hold(lock_);
    return accepted_locked();
  }

 private:
  void check_new_name(std::string_view name) const {
    const bool plain = !name.empty() && name.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_.") == std::string_view::npos;
    if (!plain)
      throw argument_error("paradigm name '" + std::string(name) +
                           "' must be letters, digits, '-', '_' or '.'");
    bool taken = false;
    for (const any_paradigm& p : entries_) taken = taken || p.name() == name;
    for (const family& f : families_) taken = taken || f.prefix == name;
    if (taken) throw argument_error("paradigm name '" + std::string(name) + "' is taken");
  }

  std::string accepted_locked() const {
    std::vector<std::string> names;
    for (const any_paradigm& p : entries_) names.emplace_back(p.name());
    for (const family& f : families_) names.push_back(f.usage);
    return detail::spelled_choices(names);
  }

  mutable std::mutex lock_;
  std::vector<any_paradigm> entries_;
  std::vector<family> families_;
};

namespace detail {

inline void add_builtin_paradigms(paradigm_registry& r) {
  r.add(causal{});
  r.add(prefix{});
  r.add(intermittent{});
  r.add(bidirectional{});
  r.add_family({std::string(bidirectional_roles::name),
                std::string(bidirectional_roles::name) + ":ROLE[,ROLE...]",
                [](std::string_view roles) {
                  const bidirectional_roles p = bidirectional_roles::parse(roles);
                  return any_paradigm(p, p.spelled());
                }});
}

}  // namespace detail

// The process-wide registry. Add paradigms before other threads read it; a
// lock keeps concurrent additions and look-ups safe.
inline paradigm_registry& paradigms() {
  static paradigm_registry registry;
  static const bool filled = (detail::add_builtin_paradigms(registry), true);
  static_cast<void>(filled);
  return registry;
}

// Throws unknown_paradigm_error listing the accepted names.
inline any_paradigm paradigm_from_name(std::string_view name) {
  return paradigms().find(name);
}

}  // namespace v0
}  // namespace ism
