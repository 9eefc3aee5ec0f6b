// A strict reader for the .npy and .npz files ism writes, for the tests. It
// shares no code with include/ism/npy.hpp: it checks every byte of the layout
// (magic, version 1.0, 64-byte alignment, the exact header dict text, the data
// size) and, for .npz, the ZIP local headers, central directory and end record,
// recomputing each CRC-32 bit by bit. Any deviation throws std::runtime_error.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace npy_reader {

struct array {
  std::string descr;                // '<f4', '|b1', ...
  std::vector<std::int64_t> shape;  // C order
  std::size_t data_offset = 0;      // where the data starts in the file
  std::string data;                 // the raw little-endian bytes

  std::int64_t count() const {
    std::int64_t n = 1;
    for (const std::int64_t e : shape) n *= e;
    return n;
  }
  // The data as items of T, which must have the descr's size.
  template <class T>
  std::vector<T> values() const {
    if (data.size() % sizeof(T) != 0)
      throw std::runtime_error("npy: data is not a whole number of items");
    std::vector<T> out(data.size() / sizeof(T));
    std::memcpy(out.data(), data.data(), data.size());
    return out;
  }
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

[[noreturn]] inline void fail_with(const std::string& why) {
  throw std::runtime_error(why);
}

inline std::uint64_t le(std::string_view bytes, std::size_t at, std::size_t size) {
  if (at + size > bytes.size()) throw std::runtime_error("truncated file");
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i)
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return value;
}

inline std::size_t item_size(const std::string& descr) {
  if (descr == "|b1" || descr == "|u1") return 1;
  if (descr == "<f2" || descr == "<u2") return 2;
  if (descr == "<i4" || descr == "<f4") return 4;
  if (descr == "<i8") return 8;
  throw std::runtime_error("npy: unexpected descr '" + descr + "'");
}

// Parses one .npy file held in memory.
inline array parse_npy(std::string_view bytes) {
  const auto fail = [](const std::string& why) { fail_with("npy: " + why); };
  if (bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6)) fail("bad magic");
  if (bytes.size() < 10 || bytes[6] != 1 || bytes[7] != 0) fail("not format version 1.0");
  const std::size_t header_length = le(bytes, 8, 2);
  const std::size_t data_offset = 10 + header_length;
  if (data_offset % 64 != 0)
    fail("data offset " + std::to_string(data_offset) + " is not a multiple of 64");
  if (header_length == 0 || bytes.size() < data_offset) fail("truncated header");
  std::string_view header = bytes.substr(10, header_length);
  if (header.back() != '\n') fail("header does not end with a newline");

  array out;
  out.data_offset = data_offset;
  const auto expect = [&](std::string_view text) {
    if (!header.starts_with(text))
      fail("header '" + std::string(header) + "' lacks '" + std::string(text) + "'");
    header.remove_prefix(text.size());
  };
  expect("{'descr': '");
  out.descr = std::string(header.substr(0, header.find('\'')));
  header.remove_prefix(out.descr.size());
  expect("', 'fortran_order': False, 'shape': (");
  const std::size_t close = header.find(')');
  if (close == std::string_view::npos) fail("shape is not closed");
  std::string_view dims = header.substr(0, close);
  header.remove_prefix(close);
  expect("), }");
  for (const char c : header.substr(0, header.size() - 1))
    if (c != ' ') fail("padding is not spaces");
  while (!dims.empty()) {
    std::size_t digits = 0;
    while (digits < dims.size() && dims[digits] >= '0' && dims[digits] <= '9') ++digits;
    if (digits == 0) fail("bad shape entry");
    out.shape.push_back(std::stoll(std::string(dims.substr(0, digits))));
    dims.remove_prefix(digits);
    if (dims.starts_with(", ")) {
      dims.remove_prefix(2);
    } else if (dims == ",") {
      if (out.shape.size() != 1) fail("trailing comma in a shape of several dimensions");
      dims = {};
    } else if (!dims.empty()) {
      fail("bad shape separator");
    } else if (out.shape.size() == 1) {
      fail("one-dimensional shape without its trailing comma");
    }
  }
  const std::uint64_t expected = static_cast<std::uint64_t>(out.count()) * item_size(out.descr);
  if (bytes.size() - data_offset != expected)
    fail(std::to_string(bytes.size() - data_offset) + " data bytes, expected " +
         std::to_string(expected));
  out.data = std::string(bytes.substr(data_offset));
  return out;
}

inline array read_npy(const std::filesystem::path& path) {
  return parse_npy(read_file(path));
}

// CRC-32 of ZIP, bit by bit: slow, and independent of the table in ism/npy.hpp.
inline std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

struct zip_member {
  std::string name;
  std::string data;
};

// Parses a stored (uncompressed) ZIP archive and checks that the local headers,
// the central directory and the end record agree, and every CRC-32.
inline std::vector<zip_member> parse_zip(std::string_view bytes) {
  const auto fail = [](const std::string& why) { fail_with("zip: " + why); };
  if (bytes.size() < 22) fail("too short for an end record");
  const std::size_t end = bytes.size() - 22;  // ism writes no archive comment
  if (le(bytes, end, 4) != 0x06054b50) fail("no end of central directory record");
  const std::size_t entries = le(bytes, end + 10, 2);
  if (le(bytes, end + 8, 2) != entries) fail("entry counts disagree");
  const std::size_t directory_size = le(bytes, end + 12, 4);
  const std::size_t directory_offset = le(bytes, end + 16, 4);
  if (directory_offset + directory_size != end)
    fail("central directory does not end at the end record");

  std::vector<zip_member> members;
  std::size_t at = directory_offset;
  std::size_t expected_local = 0;  // members are stored back to back from offset 0
  for (std::size_t i = 0; i < entries; ++i) {
    if (le(bytes, at, 4) != 0x02014b50) fail("bad central directory signature");
    if (le(bytes, at + 10, 2) != 0) fail("member is not stored uncompressed");
    const std::uint64_t crc = le(bytes, at + 16, 4);
    const std::size_t compressed = le(bytes, at + 20, 4);
    const std::size_t size = le(bytes, at + 24, 4);
    const std::size_t name_length = le(bytes, at + 28, 2);
    const std::size_t extra = le(bytes, at + 30, 2);
    const std::size_t comment = le(bytes, at + 32, 2);
    const std::size_t local = le(bytes, at + 42, 4);
    const std::string name(bytes.substr(at + 46, name_length));
    if (compressed != size) fail(name + ": stored sizes differ");
    if (local != expected_local)
      fail(name + ": local header is not where the previous member ended");

    if (le(bytes, local, 4) != 0x04034b50) fail(name + ": bad local header signature");
    if (le(bytes, local + 8, 2) != 0) fail(name + ": local header is not stored");
    if (le(bytes, local + 14, 4) != crc || le(bytes, local + 18, 4) != compressed ||
        le(bytes, local + 22, 4) != size)
      fail(name + ": local header disagrees with the central directory");
    const std::size_t local_name = le(bytes, local + 26, 2);
    const std::size_t local_extra = le(bytes, local + 28, 2);
    if (bytes.substr(local + 30, local_name) != name) fail(name + ": local name differs");
    const std::size_t data_at = local + 30 + local_name + local_extra;
    if (data_at + size > directory_offset) fail(name + ": data runs into the directory");
    zip_member m{name, std::string(bytes.substr(data_at, size))};
    if (crc32(m.data) != crc) fail(name + ": CRC-32 mismatch");
    members.push_back(std::move(m));
    expected_local = data_at + size;
    at += 46 + name_length + extra + comment;
  }
  if (expected_local != directory_offset) fail("bytes between the last member and the directory");
  if (at != end) fail("central directory size disagrees with its entries");
  return members;
}

}  // namespace npy_reader
