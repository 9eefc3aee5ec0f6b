// NumPy arrays in and out of the library without copies: the library's own
// buffers handed to NumPy with an owner that keeps them alive, and the
// caller's arrays read in place after their dtype, shape and strides are
// checked, with ism's typed errors for the ones that do not fit.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <ism/ism.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ism_python {

namespace nb = nanobind;

using ism::index_t;

// An array that NumPy reads as its own, and the object that keeps its bytes.
using numpy_array = nb::ndarray<nb::numpy>;

// Hands a heap object to Python: the capsule deletes it with the last array
// that points into it.
template <class T>
nb::capsule owner_capsule(T* object) {
  return nb::capsule(object, [](void* p) noexcept { delete static_cast<T*>(p); });
}

// The dtype NumPy gets for an npy_dtype. bfloat16 leaves as its uint16 bits,
// as in the CLI's files; the Python layer views it as ml_dtypes.bfloat16.
inline nb::dlpack::dtype dlpack_dtype(ism::npy_dtype d) {
  switch (d) {
    case ism::npy_dtype::boolean:
      return nb::dtype<bool>();
    case ism::npy_dtype::uint8:
      return nb::dtype<std::uint8_t>();
    case ism::npy_dtype::int32:
      return nb::dtype<std::int32_t>();
    case ism::npy_dtype::int64:
      return nb::dtype<std::int64_t>();
    case ism::npy_dtype::float16:
      return {static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float), 16, 1};
    case ism::npy_dtype::bfloat16:
      return nb::dtype<std::uint16_t>();
    case ism::npy_dtype::float32:
      return nb::dtype<float>();
    case ism::npy_dtype::float64:
      return nb::dtype<double>();
  }
  throw ism::argument_error("dtype value " + std::to_string(static_cast<int>(d)) +
                            " names no dtype");
}

// A read-only NumPy view of `data`, kept alive by `owner`.
inline numpy_array view_array(const void* data, ism::npy_dtype dtype,
                              const std::vector<index_t>& shape, nb::handle owner) {
  std::vector<std::size_t> extents(shape.begin(), shape.end());
  return numpy_array(const_cast<void*>(data), extents.size(), extents.data(), owner, nullptr,
                     dlpack_dtype(dtype));
}

// A fresh writable array that owns `values`, moved, not copied.
template <class T>
nb::ndarray<nb::numpy, T> owned_array(std::vector<T> values, std::vector<std::size_t> shape) {
  auto* held = new std::vector<T>(std::move(values));
  return nb::ndarray<nb::numpy, T>(held->data(), shape.size(), shape.data(), owner_capsule(held));
}

// `count` items of T for C++ to fill, and the capsule that frees them with
// the last array that points into them.
template <class T>
struct buffer {
  T* items;
  nb::capsule owner;
};

template <class T>
buffer<T> make_buffer(std::size_t count) {
  auto* held = new std::unique_ptr<T[]>(new T[count]);
  return {held->get(), owner_capsule(held)};
}

// A caller's array as the library reads it: dtype, shape and bytes in C order.
// Throws argument_error naming `what` for a dtype ism does not read, or an
// array that is not C-contiguous.
inline ism::npy_array read_array(const nb::ndarray<nb::ro, nb::device::cpu>& a,
                                 const std::string& what) {
  const nb::dlpack::dtype d = a.dtype();
  const auto code = static_cast<nb::dlpack::dtype_code>(d.code);
  std::optional<ism::npy_dtype> dtype;
  if (d.lanes == 1) {
    if (code == nb::dlpack::dtype_code::Bool && d.bits == 8) dtype = ism::npy_dtype::boolean;
    if (code == nb::dlpack::dtype_code::UInt && d.bits == 8) dtype = ism::npy_dtype::uint8;
    if (code == nb::dlpack::dtype_code::UInt && d.bits == 16) dtype = ism::npy_dtype::bfloat16;
    if (code == nb::dlpack::dtype_code::Bfloat && d.bits == 16) dtype = ism::npy_dtype::bfloat16;
    if (code == nb::dlpack::dtype_code::Int && d.bits == 32) dtype = ism::npy_dtype::int32;
    if (code == nb::dlpack::dtype_code::Int && d.bits == 64) dtype = ism::npy_dtype::int64;
    if (code == nb::dlpack::dtype_code::Float && d.bits == 16) dtype = ism::npy_dtype::float16;
    if (code == nb::dlpack::dtype_code::Float && d.bits == 32) dtype = ism::npy_dtype::float32;
    if (code == nb::dlpack::dtype_code::Float && d.bits == 64) dtype = ism::npy_dtype::float64;
  }
  if (!dtype)
    throw ism::argument_error(what + " has a dtype ism does not read (code " +
                              std::to_string(d.code) + ", " + std::to_string(d.bits) +
                              " bits); expected bool, uint8, uint16 (bfloat16 bits), int32, "
                              "int64, float16, bfloat16, float32 or float64");
  std::vector<index_t> shape;
  std::int64_t expected_stride = 1;
  // An array with no element is contiguous whatever its strides say.
  for (std::size_t i = a.ndim(); a.size() > 0 && i-- > 0;) {
    if (a.shape(i) > 1 && a.stride(i) != expected_stride)
      throw ism::argument_error(what + " is not C-contiguous; pass numpy.ascontiguousarray(" +
                                "...) or tensor.contiguous()");
    expected_stride *= static_cast<std::int64_t>(a.shape(i));
  }
  for (std::size_t i = 0; i < a.ndim(); ++i) shape.push_back(static_cast<index_t>(a.shape(i)));
  const std::size_t bytes = a.size() * ism::npy_item_size(*dtype);
  return {*dtype, std::move(shape),
          std::span<const std::byte>(static_cast<const std::byte*>(a.data()), bytes)};
}

// An export's arrays as a dict of NumPy views into the export itself.
inline nb::dict arrays_to_dict(ism::encoded_arrays encoded) {
  auto* owner = new std::shared_ptr<const void>(std::move(encoded.owner));
  const nb::capsule keep = owner_capsule(owner);
  nb::dict out;
  for (const ism::named_array& a : encoded.arrays)
    out[a.name.c_str()] = view_array(a.array.data.data(), a.array.dtype, a.array.shape, keep);
  return out;
}

}  // namespace ism_python
