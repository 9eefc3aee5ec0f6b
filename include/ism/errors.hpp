// The exceptions ism throws. Every one names what is wrong and where, so a
// caller can show the message to a person unchanged.
#pragma once

#include <stdexcept>
#include <string>

namespace ism {
inline namespace v0 {

// A layout that violates SPEC.md section 2: empty document, zero length, ...
class layout_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Text that is not a layout. `position()` is the 0-based character offset of the
// offending token in the parsed string.
class layout_parse_error : public layout_error {
 public:
  layout_parse_error(const std::string& message, std::size_t position)
      : layout_error(message + " (at character " + std::to_string(position) + ")"),
        position_(position) {}
  std::size_t position() const noexcept { return position_; }

 private:
  std::size_t position_;
};

// A paradigm name that names no known paradigm.
class unknown_paradigm_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Arrays, chunks or tensors whose sizes do not fit together.
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// An argument outside its domain: a negative window, a non-finite scale, ...
class argument_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Reading or writing a file failed.
class io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace v0
}  // namespace ism
