// Arrays a test owns and may change: a well-formed export (or a file read
// back) copied, then broken on purpose one element, one shape or one array at
// a time, and handed to a decoder as named_array views.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ism/npy_read.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace owned_arrays {

using index = std::int64_t;

class arrays {
  // Defined first: the members below deduce their types from them.
  template <class Self>
  static auto& find(Self& self, std::string_view name) {
    REQUIRE(self.has(name));
    return std::find_if(self.owned_.begin(), self.owned_.end(),
                        [&](const ism::named_owned_array& a) { return a.name == name; })
        ->array;
  }

  template <class Self>
  static auto* item(Self& self, std::string_view name, index i, std::size_t size) {
    auto& a = find(self, name);
    REQUIRE(ism::npy_item_size(a.dtype) == size);
    REQUIRE(0 <= i);
    REQUIRE(static_cast<std::size_t>(i + 1) * size <= a.data.size());
    return a.data.data() + static_cast<std::size_t>(i) * size;
  }

 public:
  arrays() = default;
  explicit arrays(std::span<const ism::named_array> from) {
    for (const ism::named_array& a : from)
      owned_.push_back({a.name,
                        {a.array.dtype, a.array.shape,
                         std::vector<std::byte>(a.array.data.begin(), a.array.data.end())}});
  }
  explicit arrays(std::vector<ism::named_owned_array> from) : owned_(std::move(from)) {}

  bool has(std::string_view name) const {
    return std::any_of(owned_.begin(), owned_.end(),
                       [&](const ism::named_owned_array& a) { return a.name == name; });
  }

  ism::npy_owned_array& operator[](std::string_view name) { return find(*this, name); }
  const ism::npy_owned_array& operator[](std::string_view name) const { return find(*this, name); }

  // Item i of an array, in C order, read and written as T, which must be the
  // size of the array's items.
  template <class T>
  T get(std::string_view name, index i) const {
    T value;
    std::memcpy(&value, item(*this, name, i, sizeof(T)), sizeof(T));
    return value;
  }
  template <class T>
  void set(std::string_view name, index i, T value) {
    std::memcpy(item(*this, name, i, sizeof(T)), &value, sizeof(T));
  }

  // A copy with item i of `name` set to `value`.
  template <class T>
  arrays with(std::string_view name, index i, T value) const {
    arrays out = *this;
    out.set(name, i, value);
    return out;
  }

  void remove(std::string_view name) {
    REQUIRE(has(name));
    std::erase_if(owned_, [&](const ism::named_owned_array& a) { return a.name == name; });
  }
  void add(std::string name, ism::npy_owned_array array) {
    owned_.push_back({std::move(name), std::move(array)});
  }

  // Views for a decoder; valid while this object lives unchanged.
  std::vector<ism::named_array> views() const {
    std::vector<ism::named_array> out;
    for (const ism::named_owned_array& a : owned_) out.push_back({a.name, a.array.view()});
    return out;
  }

 private:
  std::vector<ism::named_owned_array> owned_;
};

// An array of `values` in C order, shaped `shape`.
template <class T>
ism::npy_owned_array make_owned(const std::vector<T>& values, std::vector<index> shape) {
  const auto bytes = std::as_bytes(std::span(values));
  return {ism::npy_dtype_of<T>, std::move(shape),
          std::vector<std::byte>(bytes.begin(), bytes.end())};
}

// A FlexAttention list pair (counts [rows], indices [rows, width]): takes
// `block` out of row `i` or puts it in, keeping the row ascending and the
// padding past the count 0, so the lists stay well-formed.
inline std::vector<std::int32_t> listed_blocks(const arrays& a, const std::string& counts,
                                               const std::string& indices, index i, index width) {
  std::vector<std::int32_t> out;
  for (index j = 0; j < a.get<std::int32_t>(counts, i); ++j)
    out.push_back(a.get<std::int32_t>(indices, i * width + j));
  return out;
}

inline void write_listed_blocks(arrays& a, const std::string& counts, const std::string& indices,
                                index i, index width, const std::vector<std::int32_t>& blocks) {
  a.set(counts, i, static_cast<std::int32_t>(blocks.size()));
  for (index j = 0; j < width; ++j)
    a.set(indices, i * width + j,
          j < static_cast<index>(blocks.size()) ? blocks[static_cast<std::size_t>(j)] : 0);
}

inline void unlist_block(arrays& a, const std::string& counts, const std::string& indices, index i,
                         index width, std::int32_t block) {
  std::vector<std::int32_t> blocks = listed_blocks(a, counts, indices, i, width);
  REQUIRE(std::erase(blocks, block) == 1);
  write_listed_blocks(a, counts, indices, i, width, blocks);
}

inline void list_block(arrays& a, const std::string& counts, const std::string& indices, index i,
                       index width, std::int32_t block) {
  std::vector<std::int32_t> blocks = listed_blocks(a, counts, indices, i, width);
  blocks.insert(std::upper_bound(blocks.begin(), blocks.end(), block), block);
  write_listed_blocks(a, counts, indices, i, width, blocks);
}

}  // namespace owned_arrays
