// NumPy array files: `.npy` (one array) and `.npz` (several named arrays in a
// stored, uncompressed ZIP archive), the container of every export in docs/formats.md.
//
// Files are format version 1.0, little-endian, C order, with the header padded so
// the data starts at a multiple of 64 bytes, as numpy.save writes them. NumPy has
// no bfloat16: npy_dtype::bfloat16 is written as '<u2' holding the raw bit
// patterns; a reader reinterprets them (torch: `.view(torch.bfloat16)`, NumPy with
// ml_dtypes: `.view(ml_dtypes.bfloat16)`).
//
// Sizes come before data: npy_bytes and npz_bytes give the exact file size from
// shapes alone, so a caller can refuse an output before building it.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ism/config.hpp"
#include "ism/detail/eigen.hpp"
#include "ism/errors.hpp"

namespace ism {
inline namespace v0 {

// float64 is read (a verifier meets it in files NumPy wrote by default) but no
// export writes it.
enum class npy_dtype : std::uint8_t {
  boolean,
  uint8,
  int32,
  int64,
  float16,
  bfloat16,
  float32,
  float64
};

// The descr string of the header: '|b1', '<f4', ... (bfloat16 is '<u2', see above).
constexpr std::string_view npy_descr(npy_dtype dtype) {
  switch (dtype) {
    case npy_dtype::boolean:
      return "|b1";
    case npy_dtype::uint8:
      return "|u1";
    case npy_dtype::int32:
      return "<i4";
    case npy_dtype::int64:
      return "<i8";
    case npy_dtype::float16:
      return "<f2";
    case npy_dtype::bfloat16:
      return "<u2";
    case npy_dtype::float32:
      return "<f4";
    case npy_dtype::float64:
      return "<f8";
  }
  throw argument_error("npy: dtype value " + std::to_string(static_cast<int>(dtype)) +
                       " names no dtype");
}

// The dtype's name as NumPy spells it: "bool", "int32", "bfloat16", ...
constexpr std::string_view npy_dtype_name(npy_dtype dtype) {
  switch (dtype) {
    case npy_dtype::boolean:
      return "bool";
    case npy_dtype::uint8:
      return "uint8";
    case npy_dtype::int32:
      return "int32";
    case npy_dtype::int64:
      return "int64";
    case npy_dtype::float16:
      return "float16";
    case npy_dtype::bfloat16:
      return "bfloat16";
    case npy_dtype::float32:
      return "float32";
    case npy_dtype::float64:
      return "float64";
  }
  throw argument_error("npy: dtype value " + std::to_string(static_cast<int>(dtype)) +
                       " names no dtype");
}

// Throws argument_error for a value outside the enumeration (a cast integer).
constexpr std::size_t npy_item_size(npy_dtype dtype) {
  switch (dtype) {
    case npy_dtype::boolean:
    case npy_dtype::uint8:
      return 1;
    case npy_dtype::float16:
    case npy_dtype::bfloat16:
      return 2;
    case npy_dtype::int32:
    case npy_dtype::float32:
      return 4;
    case npy_dtype::int64:
    case npy_dtype::float64:
      return 8;
  }
  throw argument_error("npy: dtype value " + std::to_string(static_cast<int>(dtype)) +
                       " names no dtype");
}

// C++ element types with an npy dtype.
template <class T>
concept npy_element = std::same_as<T, bool> || std::same_as<T, std::uint8_t> ||
    std::same_as<T, std::int32_t> || std::same_as<T, std::int64_t> ||
    std::same_as<T, Eigen::half> || std::same_as<T, Eigen::bfloat16> || std::same_as<T, float>;

template <npy_element T>
inline constexpr npy_dtype npy_dtype_of = std::same_as<T, bool>              ? npy_dtype::boolean
                                          : std::same_as<T, std::uint8_t>    ? npy_dtype::uint8
                                          : std::same_as<T, std::int32_t>    ? npy_dtype::int32
                                          : std::same_as<T, std::int64_t>    ? npy_dtype::int64
                                          : std::same_as<T, Eigen::half>     ? npy_dtype::float16
                                          : std::same_as<T, Eigen::bfloat16> ? npy_dtype::bfloat16
                                                                             : npy_dtype::float32;

// Element bytes are copied as they lie in memory, so each type must be exactly its
// file item: a one-byte 0/1 bool, IEEE binary16 bits in Eigen::half, ...
static_assert(sizeof(bool) == 1 && sizeof(Eigen::half) == 2 && sizeof(Eigen::bfloat16) == 2 &&
                  sizeof(float) == 4,
              "ism/npy.hpp: an element type's size differs from its npy item size");

// One array to write: `data` holds product(shape) items in C order and native
// byte order.
struct npy_array {
  npy_dtype dtype = npy_dtype::uint8;
  std::vector<index_t> shape;
  std::span<const std::byte> data;
};

template <npy_element T>
npy_array make_npy_array(std::span<const T> values, std::vector<index_t> shape) {
  return {npy_dtype_of<T>, std::move(shape), std::as_bytes(values)};
}

// What an .npz member's name adds to its array's name; numpy.load looks it up.
inline constexpr std::string_view npz_member_suffix = ".npy";

// An .npz member: stored as `name + npz_member_suffix`.
struct named_array {
  std::string name;
  npy_array array;
};

namespace detail {

inline constexpr std::string_view npy_magic{"\x93NUMPY", 6};
// numpy aligns the data of every file it writes to 64 bytes (ARRAY_ALIGN).
inline constexpr std::size_t npy_alignment = 64;
// Magic, two version bytes and the uint16 header length.
inline constexpr std::size_t npy_preamble_bytes = npy_magic.size() + 2 + 2;

inline std::uint64_t npy_item_count(std::span<const index_t> shape) {
  std::uint64_t count = 1;
  for (const index_t extent : shape) {
    if (extent < 0)
      throw shape_error("npy: negative extent " + std::to_string(extent) + " in a shape");
    const auto e = static_cast<std::uint64_t>(extent);
    if (e != 0 && count > std::numeric_limits<std::uint64_t>::max() / e)
      throw shape_error("npy: the shape holds more than 2^64 items");
    count *= e;
  }
  return count;
}

inline std::uint64_t npy_data_bytes(std::span<const index_t> shape, npy_dtype dtype) {
  const std::uint64_t count = npy_item_count(shape);
  const std::uint64_t item = npy_item_size(dtype);
  if (count > std::numeric_limits<std::uint64_t>::max() / item)
    throw shape_error("npy: the array holds more than 2^64 bytes");
  return count * item;
}

// Writes through a stream that may or may not have exceptions enabled, turning
// either kind of failure into io_error.
inline void write_bytes(std::ostream& os, const void* data, std::size_t size, const char* what) {
  try {
    os.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  } catch (const std::ios_base::failure& e) {
    throw io_error(std::string("writing ") + what + " failed: " + e.what());
  }
  if (!os) throw io_error(std::string("writing ") + what + " failed");
}

inline void flush(std::ostream& os, const char* what) {
  try {
    os.flush();
  } catch (const std::ios_base::failure& e) {
    throw io_error(std::string("flushing ") + what + " failed: " + e.what());
  }
  if (!os) throw io_error(std::string("flushing ") + what + " failed");
}

inline void write_bytes(std::ostream& os, std::string_view bytes, const char* what) {
  write_bytes(os, bytes.data(), bytes.size(), what);
}

template <std::unsigned_integral U>
void append_le(std::string& out, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

// CRC-32 of ZIP (reflected polynomial 0xEDB88320), table driven.
inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}();

// Calls f with the bytes of `items` (of `item` bytes each, native order) in file
// order, little-endian. On little-endian hosts that is the bytes themselves; others
// reverse each item, a block at a time.
template <class F>
void for_each_le_block(std::span<const std::byte> items, std::size_t item, F&& f) {
  if constexpr (std::endian::native == std::endian::little) {
    static_cast<void>(item);
    f(items);
  } else {
    constexpr std::size_t block_items = 1 << 14;
    std::vector<std::byte> block;
    for (std::size_t begin = 0; begin < items.size(); begin += block_items * item) {
      const auto part = items.subspan(begin, std::min(block_items * item, items.size() - begin));
      block.assign(part.begin(), part.end());
      for (std::size_t i = 0; i < block.size(); i += item)
        std::reverse(block.begin() + static_cast<std::ptrdiff_t>(i),
                     block.begin() + static_cast<std::ptrdiff_t>(i + item));
      f(std::span<const std::byte>(block));
    }
  }
}

}  // namespace detail

// Continues a CRC-32 over more bytes; start from crc32_update(0, first_bytes).
inline std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::byte> bytes) noexcept {
  crc = ~crc;
  for (const std::byte b : bytes)
    crc = detail::crc32_table[(crc ^ static_cast<std::uint32_t>(b)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// The complete header, magic to the final '\n'; its length is a multiple of 64.
// Throws shape_error for a negative extent or a header over version 1.0's 64 KiB.
inline std::string npy_header(npy_dtype dtype, std::span<const index_t> shape) {
  detail::npy_item_count(shape);  // validates the extents
  std::string dict =
      "{'descr': '" + std::string(npy_descr(dtype)) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  dict += shape.size() == 1 ? ",), }" : "), }";
  const std::size_t unpadded = detail::npy_preamble_bytes + dict.size() + 1;  // + '\n'
  const std::size_t total =
      (unpadded + detail::npy_alignment - 1) / detail::npy_alignment * detail::npy_alignment;
  const std::size_t header_length = total - detail::npy_preamble_bytes;
  if (header_length > std::numeric_limits<std::uint16_t>::max())
    throw shape_error("npy: a shape of " + std::to_string(shape.size()) +
                      " dimensions does not fit a version 1.0 header");
  std::string out(detail::npy_magic);
  out += '\x01';
  out += '\x00';
  detail::append_le(out, static_cast<std::uint16_t>(header_length));
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out += '\n';
  return out;
}

// Exact size in bytes of the .npy file for `shape` and `dtype`.
inline std::uint64_t npy_bytes(std::span<const index_t> shape, npy_dtype dtype) {
  const std::uint64_t data = detail::npy_data_bytes(shape, dtype);
  const std::uint64_t header = npy_header(dtype, shape).size();
  if (data > std::numeric_limits<std::uint64_t>::max() - header)
    throw shape_error("npy: the file would hold more than 2^64 bytes");
  return header + data;
}

// Streams one .npy file: the constructor writes the header, write() appends items
// in C order, finish() checks that exactly product(shape) items arrived. This lets
// a caller produce an N x N array one block of rows at a time.
class npy_writer {
 public:
  // Throws shape_error for a bad shape, io_error when the stream fails.
  npy_writer(std::ostream& os, npy_dtype dtype, std::span<const index_t> shape)
      : os_(&os), dtype_(dtype), remaining_(detail::npy_item_count(shape)) {
    detail::write_bytes(*os_, npy_header(dtype, shape), "the .npy header");
  }

  npy_dtype dtype() const noexcept { return dtype_; }
  // Items still to write.
  std::uint64_t remaining() const noexcept { return remaining_; }

  // Throws argument_error when T is not the file's dtype.
  template <npy_element T>
  void write(std::span<const T> values) {
    if (npy_dtype_of<T> != dtype_)
      throw argument_error("npy_writer: items of dtype " + std::string(npy_descr(npy_dtype_of<T>)) +
                           " written to a file of dtype " + std::string(npy_descr(dtype_)));
    write_raw(std::as_bytes(values));
  }

  // Items of the file's dtype in native byte order, as raw bytes. Throws
  // shape_error for a partial item or more items than the shape holds.
  void write_raw(std::span<const std::byte> items) {
    const std::size_t item = npy_item_size(dtype_);
    if (items.size() % item != 0)
      throw shape_error("npy_writer: " + std::to_string(items.size()) +
                        " bytes are not a whole number of " + std::to_string(item) + "-byte items");
    const std::uint64_t count = items.size() / item;
    if (count > remaining_)
      throw shape_error("npy_writer: " + std::to_string(count) + " items written but only " +
                        std::to_string(remaining_) + " remain in the shape");
    detail::for_each_le_block(items, item, [&](std::span<const std::byte> block) {
      detail::write_bytes(*os_, block.data(), block.size(), ".npy data");
    });
    remaining_ -= count;
  }

  // Throws shape_error when items are missing, io_error when the flush fails.
  void finish() {
    if (remaining_ != 0)
      throw shape_error("npy_writer: finished with " + std::to_string(remaining_) +
                        " items missing");
    detail::flush(*os_, ".npy data");
  }

 private:
  std::ostream* os_;
  npy_dtype dtype_;
  std::uint64_t remaining_;
};

// Writes one .npy file. Throws shape_error when the data does not hold exactly
// product(shape) items, io_error when the stream fails.
inline void write_npy(std::ostream& os, const npy_array& array) {
  const std::uint64_t expected = detail::npy_data_bytes(array.shape, array.dtype);
  if (array.data.size() != expected)
    throw shape_error("write_npy: " + std::to_string(array.data.size()) + " data bytes for a " +
                      std::string(npy_descr(array.dtype)) + " array that needs " +
                      std::to_string(expected));
  npy_writer writer(os, array.dtype, array.shape);
  writer.write_raw(array.data);
  writer.finish();
}

namespace detail {

// Fixed ZIP header sizes and signatures (PKWARE APPNOTE 4.3.7, 4.3.12, 4.3.16).
inline constexpr std::uint64_t zip_local_header_bytes = 30;
inline constexpr std::uint64_t zip_central_header_bytes = 46;
inline constexpr std::uint64_t zip_end_record_bytes = 22;
inline constexpr std::uint32_t zip_local_signature = 0x04034b50;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50;
inline constexpr std::uint16_t zip_version = 20;                // 2.0: plain stored files
inline constexpr std::uint16_t zip_made_by = (3 << 8) | 20;     // Unix, 2.0: keeps the mode below
inline constexpr std::uint32_t zip_file_mode = 0100644u << 16;  // regular file, rw-r--r--
inline constexpr std::uint16_t zip_dos_date =
    (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible files
// Beyond this many members a ZIP needs ZIP64, which ism does not write.
inline constexpr std::size_t zip_max_entries = 0xFFFE;

inline std::string npz_member_name(const named_array& a) {
  return a.name + std::string(npz_member_suffix);
}

inline void check_npz_names(std::span<const named_array> arrays) {
  if (arrays.size() > zip_max_entries)
    throw argument_error("npz: " + std::to_string(arrays.size()) +
                         " arrays are more than a ZIP without ZIP64 holds");
  std::set<std::string_view> seen;
  for (const named_array& a : arrays) {
    if (a.name.empty()) throw argument_error("npz: an array has an empty name");
    if (a.name.find_first_of("/\\") != std::string::npos || a.name.size() > 1024)
      throw argument_error("npz: array name '" + a.name + "' is not a plain file name");
    if (!seen.insert(a.name).second)
      throw argument_error("npz: two arrays are named '" + a.name + "'");
  }
}

}  // namespace detail

// The largest .npz ism writes: a bigger archive needs the ZIP64 extension, which
// ism does not write. Callers compare npz_bytes against it to refuse early.
inline constexpr std::uint64_t npz_max_bytes = 0xFFFFFFFEu;

// Exact size in bytes of the .npz holding `arrays`. Reads names, dtypes and
// shapes only, so it can size an archive before the data exists.
inline std::uint64_t npz_bytes(std::span<const named_array> arrays) {
  std::uint64_t total = detail::zip_end_record_bytes;
  for (const named_array& a : arrays) {
    const std::uint64_t name = detail::npz_member_name(a).size();
    const std::uint64_t member = npy_bytes(a.array.shape, a.array.dtype);
    const std::uint64_t headers =
        detail::zip_local_header_bytes + detail::zip_central_header_bytes + 2 * name;
    if (member > std::numeric_limits<std::uint64_t>::max() - headers - total)
      throw shape_error("npz: the archive would hold more than 2^64 bytes");
    total += headers + member;
  }
  return total;
}

// Writes an .npz archive: one stored (uncompressed) `NAME.npy` member per array,
// in order. Throws argument_error for empty, duplicate or path-like names and for
// an archive over 4 GiB (it would need ZIP64), shape_error for data that does not
// match its shape, io_error when the stream fails. Nothing is written unless all
// checks pass.
inline void write_npz(std::ostream& os, std::span<const named_array> arrays) {
  detail::check_npz_names(arrays);
  const std::uint64_t total = npz_bytes(arrays);
  if (total > npz_max_bytes)
    throw argument_error("npz: the archive would be " + std::to_string(total) +
                         " bytes; archives over 4 GiB need ZIP64, which ism does not write");
  for (const named_array& a : arrays)
    if (a.array.data.size() != detail::npy_data_bytes(a.array.shape, a.array.dtype))
      throw shape_error("write_npz: array '" + a.name + "' has " +
                        std::to_string(a.array.data.size()) +
                        " data bytes, not what its shape needs");

  struct member {
    std::string name;
    std::string header;
    std::uint32_t crc;
    std::uint32_t size;
    std::uint32_t offset;
  };
  std::vector<member> members;
  std::uint64_t offset = 0;
  for (const named_array& a : arrays) {
    member m{detail::npz_member_name(a), npy_header(a.array.dtype, a.array.shape), 0, 0,
             static_cast<std::uint32_t>(offset)};
    const std::size_t item = npy_item_size(a.array.dtype);
    m.crc = crc32_update(0, std::as_bytes(std::span(m.header)));
    detail::for_each_le_block(a.array.data, item, [&](std::span<const std::byte> block) {
      m.crc = crc32_update(m.crc, block);
    });
    m.size = static_cast<std::uint32_t>(m.header.size() + a.array.data.size());

    std::string local;
    detail::append_le(local, detail::zip_local_signature);
    detail::append_le(local, detail::zip_version);
    detail::append_le(local, std::uint16_t{0});  // flags
    detail::append_le(local, std::uint16_t{0});  // method: stored
    detail::append_le(local, std::uint16_t{0});  // time 00:00
    detail::append_le(local, detail::zip_dos_date);
    detail::append_le(local, m.crc);
    detail::append_le(local, m.size);  // compressed
    detail::append_le(local, m.size);  // uncompressed
    detail::append_le(local, static_cast<std::uint16_t>(m.name.size()));
    detail::append_le(local, std::uint16_t{0});  // extra field
    local += m.name;
    local += m.header;
    detail::write_bytes(os, local, "an .npz member header");
    detail::for_each_le_block(a.array.data, item, [&](std::span<const std::byte> block) {
      detail::write_bytes(os, block.data(), block.size(), ".npz member data");
    });
    offset += local.size() + a.array.data.size();
    members.push_back(std::move(m));
  }

  std::string directory;
  for (const member& m : members) {
    detail::append_le(directory, detail::zip_central_signature);
    detail::append_le(directory, detail::zip_made_by);
    detail::append_le(directory, detail::zip_version);
    detail::append_le(directory, std::uint16_t{0});  // flags
    detail::append_le(directory, std::uint16_t{0});  // method: stored
    detail::append_le(directory, std::uint16_t{0});  // time
    detail::append_le(directory, detail::zip_dos_date);
    detail::append_le(directory, m.crc);
    detail::append_le(directory, m.size);
    detail::append_le(directory, m.size);
    detail::append_le(directory, static_cast<std::uint16_t>(m.name.size()));
    detail::append_le(directory, std::uint16_t{0});  // extra field
    detail::append_le(directory, std::uint16_t{0});  // comment
    detail::append_le(directory, std::uint16_t{0});  // disk number
    detail::append_le(directory, std::uint16_t{0});  // internal attributes
    detail::append_le(directory, detail::zip_file_mode);
    detail::append_le(directory, m.offset);
    directory += m.name;
  }
  const auto entries = static_cast<std::uint16_t>(members.size());
  std::string end;
  detail::append_le(end, detail::zip_end_signature);
  detail::append_le(end, std::uint16_t{0});  // this disk
  detail::append_le(end, std::uint16_t{0});  // disk with the directory
  detail::append_le(end, entries);
  detail::append_le(end, entries);
  detail::append_le(end, static_cast<std::uint32_t>(directory.size()));
  detail::append_le(end, static_cast<std::uint32_t>(offset));
  detail::append_le(end, std::uint16_t{0});  // comment
  detail::write_bytes(os, directory + end, "the .npz directory");
  detail::flush(os, ".npz data");
}

}  // namespace v0
}  // namespace ism
