// The check every size setting of the studies and the reference decoder
// makes: at least one.
#pragma once

#include <string>
#include <string_view>

#include "ism/config.hpp"
#include "ism/errors.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Throws argument_error "<owner>: <name> is <value>; it must be >= 1".
inline void check_positive(index_t value, std::string_view owner, std::string_view name) {
  if (value < 1)
    throw argument_error(std::string(owner) + ": " + std::string(name) + " is " +
                         std::to_string(value) + "; it must be >= 1");
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
