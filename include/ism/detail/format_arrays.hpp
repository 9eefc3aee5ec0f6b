// What every decoder does first: find its arrays by name and check their
// dtypes and shapes, with a format_error that names the format and the array.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ism/errors.hpp"
#include "ism/npy.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

inline std::string shape_text(std::span<const index_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// An extent that a decoder does not know in advance.
inline constexpr index_t any_extent = -1;

class format_arrays {
 public:
  // `expected` lists every array the format has; any other is an error, so a
  // file of another format is not half-read as this one.
  format_arrays(std::string_view format, std::span<const named_array> arrays,
                std::initializer_list<std::string_view> expected)
      : format_(format), arrays_(arrays) {
    for (const named_array& a : arrays_) {
      bool known = false;
      for (const std::string_view name : expected) known = known || a.name == name;
      if (!known) fail("unexpected array '" + a.name + "'");
    }
  }

  // The named array's dtype (one of `dtypes`), after checking its shape:
  // `shape` extents equal, any_extent extents free (read them with extent()).
  npy_dtype check(std::string_view name, std::initializer_list<npy_dtype> dtypes,
                  std::initializer_list<index_t> shape) const {
    const npy_array& a = find(name);
    bool dtype_ok = false;
    std::string accepted;
    for (const npy_dtype d : dtypes) {
      dtype_ok = dtype_ok || a.dtype == d;
      accepted += (accepted.empty() ? "" : " or ") + std::string(npy_dtype_name(d));
    }
    if (!dtype_ok)
      fail(std::string(name) + " has dtype " + std::string(npy_dtype_name(a.dtype)) +
           ", expected " + accepted);
    bool shape_ok = a.shape.size() == shape.size();
    for (std::size_t i = 0; shape_ok && i < shape.size(); ++i) {
      const index_t want = shape.begin()[i];
      shape_ok = want == any_extent || a.shape[i] == want;
    }
    if (!shape_ok) {
      std::string want = "[";
      for (std::size_t i = 0; i < shape.size(); ++i) {
        const index_t e = shape.begin()[i];
        want += (i > 0 ? ", " : "") + (e == any_extent ? std::string("*") : std::to_string(e));
      }
      fail(std::string(name) + " has shape " + shape_text(a.shape) + ", expected " + want + "]");
    }
    std::uint64_t needed = 0;
    try {
      needed = npy_data_bytes(a.shape, a.dtype);
    } catch (const shape_error& e) {
      fail(std::string(name) + ": " + e.what());
    }
    if (a.data.size() != needed)
      fail(std::string(name) + " holds " + std::to_string(a.data.size()) +
           " bytes, not what its shape needs");
    return a.dtype;
  }

  index_t extent(std::string_view name, std::size_t axis) const {
    return find(name).shape.at(axis);
  }

  // The items of an array already checked to have dtype npy_dtype_of<T>.
  template <npy_element T>
  std::span<const T> values(std::string_view name) const {
    const npy_array& a = find(name);
    ISM_ASSERT(a.dtype == npy_dtype_of<T>);
    if (reinterpret_cast<std::uintptr_t>(a.data.data()) % alignof(T) != 0)
      fail(std::string(name) + "'s data is not aligned for its dtype");
    return {reinterpret_cast<const T*>(a.data.data()), a.data.size() / sizeof(T)};
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw format_error(format_ + ": " + message);
  }

 private:
  const npy_array& find(std::string_view name) const {
    for (const named_array& a : arrays_)
      if (a.name == name) return a.array;
    fail("missing array '" + std::string(name) + "'");
  }

  std::string format_;
  std::span<const named_array> arrays_;
};

}  // namespace detail
}  // namespace v0
}  // namespace ism
