// The exceptions ism throws. Every one names what is wrong and where, so a
// caller can show the message to a person unchanged.
//
// All of them share the base class ism::error, so `catch (const ism::error&)`
// catches whatever the library throws on bad input, and each also derives from
// the standard category it belongs to (std::invalid_argument for bad input,
// std::runtime_error for failed I/O, std::overflow_error for counts past
// index_t), so code that catches those keeps working.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ism {
inline namespace v0 {

// The common base. It is not a std::exception itself, so a catch of
// std::exception& still finds exactly one base; what() reaches the message.
class error {
 public:
  virtual const char* what() const noexcept = 0;

 protected:
  error() = default;
  error(const error&) = default;
  error& operator=(const error&) = default;
  ~error() = default;
};

namespace detail {

// "a, b or c": the names an error message offers instead of a wrong one.
inline std::string spelled_choices(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

// An ism error of standard category Std.
template <class Std>
class basic_error : public Std, public error {
 public:
  explicit basic_error(const std::string& message) : Std(message) {}
  const char* what() const noexcept override { return Std::what(); }
};

}  // namespace detail

// A layout that breaks the rules of docs/semantics.md#layouts: an empty
// document, a zero length, a row over 2^31 tokens, ...
class layout_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// Text that is not a layout. `position()` is the 0-based byte offset of the
// offending token in the parsed string.
class layout_parse_error : public layout_error {
 public:
  // `excerpt` is the text around `position` as ism::quote_excerpt quotes it:
  // escaped and shortened, so the message shows no raw bytes of the input.
  layout_parse_error(const std::string& message, std::size_t position, const std::string& excerpt)
      : layout_error(message + " (at character " + std::to_string(position) + ") in " + excerpt),
        position_(position) {}
  std::size_t position() const noexcept { return position_; }

 private:
  std::size_t position_;
};

// A paradigm name that names no registered paradigm.
class unknown_paradigm_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// A paradigm that breaks its contract: an interval that is empty or leaves the
// token's document (docs/semantics.md#paradigms-and-the-segment-function).
class paradigm_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// Arrays, chunks or tensors whose sizes do not fit together.
class shape_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// An argument outside its domain: a negative window, a non-finite scale, ...
class argument_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// A block mask used with a mask it was not built from: its tiles would decide
// which pairs are computed at all, so the result would be silently wrong. Exact
// (up to a 64-bit hash) for interval-backed masks; for a mask without
// intervals the check samples pairs and can miss a difference
// (mask_fingerprint.hpp).
class block_mask_mismatch : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// An export format name that names no registered format.
class unknown_format_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// Arrays that are not a valid file of their format (wrong dtype or shape,
// unsorted or out-of-range indices, counts past the end), or a mask the format
// cannot express. The message names the format and the array.
class format_error : public detail::basic_error<std::invalid_argument> {
 public:
  using basic_error::basic_error;
};

// A count that does not fit index_t, such as attention pairs summed over many
// training samples.
class overflow_error : public detail::basic_error<std::overflow_error> {
 public:
  using basic_error::basic_error;
};

// Reading or writing a file failed.
class io_error : public detail::basic_error<std::runtime_error> {
 public:
  using basic_error::basic_error;
};

}  // namespace v0
}  // namespace ism
