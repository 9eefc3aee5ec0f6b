// Reading NumPy array files: the .npy and .npz files that numpy.save, numpy.savez,
// numpy.savez_compressed and ism's own writer (npy.hpp) produce, so masks made
// elsewhere can be checked.
//
// The input is untrusted. Every length and offset is checked against the bytes at
// hand before it is used, no size read from a file allocates past the caller's
// limit, every loop consumes input, and every failure is an io_error that names
// the file or member and what is wrong.
//
// .npy: format versions 1.0, 2.0 and 3.0. The header dict is parsed as the Python
// literal numpy writes, accepting what numpy.load's ast.literal_eval accepts for
// it: keys in any order, either quote, any spacing, trailing commas. Big-endian
// items are converted to native order. Fortran-order arrays (numpy.save of a
// transposed array) are reordered to C order, which takes a second buffer the
// size of the data.
// .npz: a ZIP archive, read through its central directory (ZIP64 sizes and
// offsets, data descriptors), whose members are stored or deflated (RFC 1951);
// each member's CRC-32 and size are checked.
//
// float64 ('<f8') is not read: npy_dtype has no such value.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ism/config.hpp"
#include "ism/errors.hpp"
#include "ism/npy.hpp"

namespace ism {
inline namespace v0 {

// One array read from a file: items in native byte order, C order.
struct npy_owned_array {
  npy_dtype dtype = npy_dtype::uint8;
  std::vector<index_t> shape;
  std::vector<std::byte> data;

  // A non-owning npy_array over `data`, valid while this array lives unchanged.
  npy_array view() const { return {dtype, shape, data}; }

  // The product of the shape. Throws shape_error for a negative extent and
  // overflow_error past index_t, which no array read by this header has.
  index_t size() const {
    const std::uint64_t count = detail::npy_item_count(shape);
    if (count > static_cast<std::uint64_t>(max_index))
      throw overflow_error("npy_owned_array: " + std::to_string(count) +
                           " items are more than index_t holds");
    return static_cast<index_t>(count);
  }
};

struct named_owned_array {
  std::string name;
  npy_owned_array array;
};

namespace detail {

// Hostile names and header text reach messages: bytes outside printable ASCII are
// shown as \xNN, and long text is cut, so a message stays one readable line.
inline constexpr std::size_t message_text_limit = 120;

inline std::string printable(std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < message_text_limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  if (text.size() > message_text_limit) out += "...";
  return out;
}

inline std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

[[noreturn]] inline void read_fail(std::string_view what, const std::string& problem) {
  throw io_error(std::string(what) + ": " + problem);
}

// The `size` bytes at `at`, or an io_error naming `name` when they pass `end`
// (at most bytes.size()): the one bounds check in front of every record read.
inline std::span<const std::byte> record_at(std::span<const std::byte> bytes, std::uint64_t at,
                                            std::uint64_t size, std::uint64_t end,
                                            std::string_view what, std::string_view name) {
  ISM_ASSERT(end <= bytes.size());
  if (at > end || end - at < size)
    read_fail(what, std::string(name) + " (" + std::to_string(size) + " bytes at byte " +
                        std::to_string(at) + ") runs past byte " + std::to_string(end));
  return bytes.subspan(static_cast<std::size_t>(at), static_cast<std::size_t>(size));
}

// Little-endian fields read in order from a record whose size record_at checked.
class le_fields {
 public:
  explicit le_fields(std::span<const std::byte> record) : record_(record) {}

  template <std::unsigned_integral U>
  U next() {
    ISM_ASSERT(at_ + sizeof(U) <= record_.size());
    U value = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      value = static_cast<U>(value | (std::to_integer<U>(record_[at_ + i]) << (8 * i)));
    at_ += sizeof(U);
    return value;
  }
  void skip(std::size_t bytes) { at_ += bytes; }

 private:
  std::span<const std::byte> record_;
  std::size_t at_ = 0;
};

// ---------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------

// NumPy 2's NPY_MAXDIMS; NumPy 1 allows 32.
inline constexpr std::size_t npy_max_dims = 64;

// The dtypes read, each known by its descr's kind and size ("i4") in any byte order.
inline constexpr std::array<npy_dtype, 8> npy_read_dtypes{
    npy_dtype::boolean, npy_dtype::uint8,    npy_dtype::int32,  npy_dtype::int64,
    npy_dtype::float16, npy_dtype::bfloat16, npy_dtype::float32, npy_dtype::float64};

inline std::string npy_shape_text(std::span<const index_t> shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

struct npy_header_fields {
  std::string descr;
  bool fortran_order = false;
  std::vector<index_t> shape;
};

// The header dict, a Python literal such as
//   {'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }
// Errors give the character of the header text where parsing stopped.
class npy_header_parser {
 public:
  npy_header_parser(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  npy_header_fields parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<index_t>> shape;
    skip_space();
    expect('{', "the header dict to open with '{'");
    for (skip_space(); !accept('}'); skip_space()) {
      const std::size_t key_at = pos_;
      const std::string_view key = quoted();
      skip_space();
      expect(':', "':' after a key");
      skip_space();
      if (key == "descr") {
        if (peek() == '[') fail("'descr' is a list, a structured dtype, which ism does not read");
        set_once(descr, std::string(quoted()), key, key_at);
      } else if (key == "fortran_order") {
        set_once(fortran_order, boolean(), key, key_at);
      } else if (key == "shape") {
        set_once(shape, shape_tuple(), key, key_at);
      } else {
        fail("unknown key '" + printable(key) + "' (a header holds descr, fortran_order, shape)",
             key_at);
      }
      skip_space();
      if (!accept(',')) {
        expect('}', "',' or '}' after a value");
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("text after the dict's closing '}'");
    const auto lacks = [&](const char* key) {
      read_fail(what_, std::string("the header dict lacks the key '") + key +
                           "' (header: " + printable(text_) + ")");
    };
    if (!descr) lacks("descr");
    if (!fortran_order) lacks("fortran_order");
    if (!shape) lacks("shape");
    return {std::move(*descr), *fortran_order, std::move(*shape)};
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { fail(problem, pos_); }
  [[noreturn]] void fail(const std::string& problem, std::size_t at) const {
    read_fail(what_, "header dict unparsable at character " + std::to_string(at) + ": " + problem +
                         " (header: " + printable(text_) + ")");
  }

  template <class T>
  void set_once(std::optional<T>& slot, T value, std::string_view key, std::size_t key_at) const {
    if (slot) fail("the key '" + std::string(key) + "' appears twice", key_at);
    slot = std::move(value);
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  // Python's whitespace between tokens, and numpy's padding after the dict.
  void skip_space() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\n\r\f").find(text_[pos_]) != std::string_view::npos)
      ++pos_;
  }

  bool accept(char c) {
    if (pos_ == text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  void expect(char c, const char* wanted) {
    if (!accept(c)) fail(std::string("expected ") + wanted);
  }

  std::string_view quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t begin = pos_ + 1;
    const std::size_t end = text_.find(quote, begin);
    if (end == std::string_view::npos) fail("a string is not closed");
    const std::string_view body = text_.substr(begin, end - begin);
    // numpy writes no escapes, and a backslash would change where the string ends.
    if (const std::size_t odd = body.find_first_of("\\\n"); odd != std::string_view::npos)
      fail("escapes and line breaks in strings are not read", begin + odd);
    pos_ = end + 1;
    return body;
  }

  bool boolean() {
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}})
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += word.size();
        return value;
      }
    fail("expected True or False");
  }

  // A Python tuple of extents: (), (5,), (3, 2), (3, 2,).
  std::vector<index_t> shape_tuple() {
    const std::size_t open = pos_;
    expect('(', "'(' opening the shape tuple");
    std::vector<index_t> shape;
    bool comma = false;
    for (skip_space(); !accept(')'); skip_space()) {
      if (!shape.empty() && !comma) fail("expected ',' or ')' in the shape");
      if (shape.size() == npy_max_dims)
        fail("the shape has more than " + std::to_string(npy_max_dims) + " dimensions");
      shape.push_back(extent());
      skip_space();
      comma = accept(',');
    }
    if (shape.size() == 1 && !comma)
      fail("the shape is a number in parentheses, not a tuple (a 1-d shape is written (N,))", open);
    return shape;
  }

  index_t extent() {
    const std::size_t begin = pos_;
    if (peek() == '-') fail("a negative extent");
    if (peek() < '0' || peek() > '9') fail("expected a non-negative integer extent");
    std::uint64_t value = 0;
    for (; peek() >= '0' && peek() <= '9'; ++pos_) {
      const auto digit = static_cast<std::uint64_t>(peek() - '0');
      if (value > (static_cast<std::uint64_t>(max_index) - digit) / 10)
        fail("an extent is larger than 2^63 - 1", begin);
      value = value * 10 + digit;
    }
    accept('L');  // numpy under Python 2 wrote long integers as 3L
    return static_cast<index_t>(value);
  }

  std::string_view text_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

struct npy_item_format {
  npy_dtype dtype;
  bool swap;  // the file's byte order is not the host's
};

inline npy_item_format npy_item_format_of(std::string_view descr, std::string_view what) {
  const char order = descr.empty() ? '\0' : descr[0];
  const bool order_known = std::string_view("<>=|").find(order) != std::string_view::npos;
  for (const npy_dtype dtype : npy_read_dtypes) {
    if (descr.size() != 3 || !order_known || npy_descr(dtype).substr(1) != descr.substr(1))
      continue;
    const std::size_t item = npy_item_size(dtype);
    if (item > 1 && order == '|')
      read_fail(what, "'" + std::string(descr) + "' gives no byte order for " +
                          std::to_string(item) + "-byte items");
    const bool swap = item > 1 && ((order == '<' && std::endian::native != std::endian::little) ||
                                   (order == '>' && std::endian::native != std::endian::big));
    return {dtype, swap};
  }
  std::string known;
  for (const npy_dtype dtype : npy_read_dtypes)
    known += (known.empty() ? "" : ", ") + std::string(npy_descr(dtype));
  read_fail(what, "'" + printable(descr) + "' is not a dtype ism reads (it reads " + known +
                      " in either byte order, '<u2' as bfloat16 bits)");
}

// What a .npy header says, checked against the bytes that follow it.
struct npy_layout {
  npy_item_format format;
  bool fortran_order;
  std::vector<index_t> shape;
  std::size_t data_offset;
};

inline npy_layout read_npy_header(std::span<const std::byte> bytes, std::string_view what) {
  const std::string_view file = as_chars(bytes);
  if (!file.starts_with(npy_magic))
    read_fail(what, "not a .npy file: bad magic '" + printable(file.substr(0, npy_magic.size())) +
                        "' (a .npy file starts with '\\x93NUMPY')");
  const std::size_t version_at = npy_magic.size();
  le_fields version(record_at(bytes, version_at, 2, bytes.size(), what, "the format version"));
  const auto major = version.next<std::uint8_t>();
  const auto minor = version.next<std::uint8_t>();
  // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 (UTF-8 header) in 4.
  std::size_t length_bytes = 0;
  if (major == 1 && minor == 0)
    length_bytes = 2;
  else if ((major == 2 || major == 3) && minor == 0)
    length_bytes = 4;
  else
    read_fail(what, "format version " + std::to_string(major) + "." + std::to_string(minor) +
                        " is not one ism reads (1.0, 2.0 or 3.0)");
  const std::size_t length_at = version_at + 2;
  le_fields length(
      record_at(bytes, length_at, length_bytes, bytes.size(), what, "the header length"));
  const std::uint64_t header_length =
      length_bytes == 2 ? length.next<std::uint16_t>() : length.next<std::uint32_t>();
  const std::size_t header_at = length_at + length_bytes;
  if (header_length > bytes.size() - header_at)
    read_fail(what, "truncated header: it claims " + std::to_string(header_length) +
                        " bytes but the file holds " + std::to_string(bytes.size() - header_at) +
                        " after the preamble");
  npy_header_fields fields =
      npy_header_parser(file.substr(header_at, static_cast<std::size_t>(header_length)), what)
          .parse();
  const npy_item_format format = npy_item_format_of(fields.descr, what);

  const std::size_t data_offset = header_at + static_cast<std::size_t>(header_length);
  const std::uint64_t available = bytes.size() - data_offset;
  std::uint64_t needed = 0;
  try {
    needed = npy_data_bytes(fields.shape, format.dtype);
  } catch (const shape_error&) {
    read_fail(what, "shape " + npy_shape_text(fields.shape) + " of '" + fields.descr +
                        "' holds more than 2^64 bytes");
  }
  if (needed != available)
    read_fail(what, (needed > available ? "data shorter than the shape needs: "
                                        : "data longer than the shape needs: ") +
                        std::to_string(available) + " bytes follow the header, but shape " +
                        npy_shape_text(fields.shape) + " of '" + fields.descr + "' needs " +
                        std::to_string(needed));
  return {format, fields.fortran_order, std::move(fields.shape), data_offset};
}

// Reorders Fortran-order items (first index fastest) into C order (last index
// fastest), walking the C-order output with an odometer over the indices.
inline std::vector<std::byte> fortran_to_c_order(std::span<const std::byte> items,
                                                 std::span<const index_t> shape, std::size_t item) {
  std::vector<std::byte> out(items.size());
  if (items.empty()) return out;
  const std::size_t dims = shape.size();
  std::vector<std::size_t> stride(dims);  // in items, of the Fortran-order input
  std::vector<std::size_t> index(dims, 0);
  std::size_t step = 1;
  for (std::size_t k = 0; k < dims; ++k) {
    stride[k] = step;
    step *= static_cast<std::size_t>(shape[k]);
  }
  std::size_t from = 0;
  for (std::size_t to = 0; to < out.size(); to += item) {
    std::memcpy(out.data() + to, items.data() + from * item, item);
    for (std::size_t k = dims; k-- > 0;) {
      if (++index[k] < static_cast<std::size_t>(shape[k])) {
        from += stride[k];
        break;
      }
      index[k] = 0;
      from -= stride[k] * (static_cast<std::size_t>(shape[k]) - 1);
    }
  }
  return out;
}

// Native byte order, C order, and bools that are 0 or 1 (any other byte is not a
// bool value in C++), all on `data` which holds exactly the header's items.
inline npy_owned_array settle_npy_items(npy_layout layout, std::vector<std::byte> data,
                                        std::string_view what) {
  const std::size_t item = npy_item_size(layout.format.dtype);
  if (layout.format.swap)
    for (auto it = data.begin(); it != data.end(); it += static_cast<std::ptrdiff_t>(item))
      std::reverse(it, it + static_cast<std::ptrdiff_t>(item));
  if (layout.format.dtype == npy_dtype::boolean) {
    const auto bad =
        std::find_if(data.begin(), data.end(), [](std::byte b) { return b > std::byte{1}; });
    if (bad != data.end())
      read_fail(what, "bool item " + std::to_string(bad - data.begin()) + " holds byte value " +
                          std::to_string(std::to_integer<int>(*bad)) + "; a bool is 0 or 1");
  }
  if (layout.fortran_order && layout.shape.size() > 1)
    data = fortran_to_c_order(data, layout.shape, item);
  return {layout.format.dtype, std::move(layout.shape), std::move(data)};
}

// read_npy over bytes it may keep: the data is moved out of `bytes`, so a file
// read into memory is not copied again.
inline npy_owned_array read_npy(std::vector<std::byte>&& bytes, std::string_view what) {
  npy_layout layout = read_npy_header(bytes, what);
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(layout.data_offset));
  return settle_npy_items(std::move(layout), std::move(bytes), what);
}

// ---------------------------------------------------------------------------
// Inflate (RFC 1951): the members of numpy.savez_compressed.
// ---------------------------------------------------------------------------

// Section 3.2.5: base values and extra bits of length symbols 257..285 and of
// distance symbols 0..29.
inline constexpr std::array<std::uint16_t, 29> inflate_length_base{
    3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
inline constexpr std::array<std::uint8_t, 29> inflate_length_extra{
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
inline constexpr std::array<std::uint16_t, 30> inflate_distance_base{
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
inline constexpr std::array<std::uint8_t, 30> inflate_distance_extra{
    0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// Section 3.2.7: the order of the code length code lengths in a dynamic block.
inline constexpr std::array<std::uint8_t, 19> inflate_code_length_order{
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
inline constexpr unsigned inflate_max_code_bits = 15;
inline constexpr std::uint16_t inflate_end_of_block = 256;
inline constexpr std::size_t inflate_max_literal_codes = 286;
inline constexpr std::size_t inflate_max_distance_codes = 30;
// The fixed literal/length code also assigns 286 and 287, which never occur.
inline constexpr std::size_t inflate_fixed_literal_codes = 288;
// Deflate's largest expansion: a 258-byte match coded in 2 bits, 1032 bytes out
// per byte in, so a member's declared size can be refused before allocating.
inline constexpr std::uint64_t inflate_max_ratio = 258 * 8 / 2;
// Codes up to this many bits decode with one table look-up, longer ones bit by bit.
inline constexpr unsigned inflate_fast_bits = 9;
inline constexpr unsigned inflate_symbol_bits = 9;  // a fast entry: (length << 9) | symbol

// A canonical Huffman code (section 3.2.2) given by its code lengths.
struct inflate_code {
  std::array<std::uint16_t, inflate_max_code_bits + 1> count{};     // codes of each length
  std::array<std::uint16_t, inflate_fixed_literal_codes> symbol{};  // by length, then symbol
  std::array<std::uint16_t, 1u << inflate_fast_bits> fast{};        // 0: longer code or no code
  std::size_t used = 0;                                             // symbols with a code
  std::uint32_t unused = 0;  // code space left, in units of a 15-bit code; 0 when complete

  // zlib's rule: a literal or distance code may be incomplete only when it is a
  // single one-bit code (or, for distances, empty), what encoders emit for a
  // block with one distinct symbol.
  bool acceptable_incomplete() const { return used == count[1]; }
};

inline inflate_code make_inflate_code(std::span<const std::uint8_t> lengths, std::string_view what,
                                      std::string_view which) {
  ISM_ASSERT(lengths.size() <= inflate_fixed_literal_codes);
  inflate_code code;
  for (const std::uint8_t length : lengths) ++code.count[length];
  code.used = lengths.size() - code.count[0];
  std::int64_t left = 1;
  for (unsigned length = 1; length <= inflate_max_code_bits; ++length) {
    left = 2 * left - code.count[length];
    if (left < 0)
      read_fail(what, "deflate data: the " + std::string(which) + " code is over-subscribed");
  }
  code.unused = static_cast<std::uint32_t>(left);

  std::array<std::uint16_t, inflate_max_code_bits + 2> offset{};
  for (unsigned length = 1; length <= inflate_max_code_bits; ++length)
    offset[length + 1] = static_cast<std::uint16_t>(offset[length] + code.count[length]);
  for (std::size_t symbol = 0; symbol < lengths.size(); ++symbol)
    if (lengths[symbol] != 0)
      code.symbol[offset[lengths[symbol]]++] = static_cast<std::uint16_t>(symbol);

  // Codes are read most significant bit first, so a table indexed by the next
  // bits in stream order holds each short code bit-reversed, in every slot its
  // longer continuations would take.
  std::uint32_t next_code = 0;
  std::size_t index = 0;
  for (unsigned length = 1; length <= inflate_fast_bits; ++length, next_code <<= 1) {
    for (unsigned k = 0; k < code.count[length]; ++k, ++next_code, ++index) {
      std::uint32_t reversed = 0;
      for (unsigned bit = 0; bit < length; ++bit)
        reversed |= ((next_code >> bit) & 1u) << (length - 1 - bit);
      const auto entry =
          static_cast<std::uint16_t>((length << inflate_symbol_bits) | code.symbol[index]);
      for (std::uint32_t slot = reversed; slot < code.fast.size(); slot += 1u << length)
        code.fast[slot] = entry;
    }
  }
  return code;
}

// The bits of a deflate stream, least significant first within each byte.
class inflate_bits {
 public:
  inflate_bits(std::span<const std::byte> in, std::string_view what) : in_(in), what_(what) {}

  // The next n (at most 32) bits; past the end of the input they read as zero,
  // and consume() refuses them.
  std::uint32_t peek(unsigned n) {
    while (count_ <= 56 && next_ < in_.size()) {
      bits_ |= std::uint64_t{std::to_integer<std::uint8_t>(in_[next_++])} << count_;
      count_ += 8;
    }
    return static_cast<std::uint32_t>(bits_ & ((std::uint64_t{1} << n) - 1));
  }
  void consume(unsigned n) {
    if (n > count_) read_fail(what_, "deflate data ends in the middle of a block");
    bits_ >>= n;
    count_ -= n;
  }
  std::uint32_t take(unsigned n) {
    const std::uint32_t value = peek(n);
    consume(n);
    return value;
  }
  // Bits buffered after the last peek().
  unsigned buffered() const { return count_; }

  void skip_to_byte() { consume(count_ % 8); }
  // n whole bytes, at a byte boundary.
  std::span<const std::byte> take_bytes(std::size_t n) {
    ISM_ASSERT(count_ % 8 == 0);
    next_ -= count_ / 8;  // hand back the whole bytes still buffered
    bits_ = 0;
    count_ = 0;
    if (n > in_.size() - next_) read_fail(what_, "deflate data ends inside a stored block");
    const auto out = in_.subspan(next_, n);
    next_ += n;
    return out;
  }
  // Input bytes used, counting a partly used last byte.
  std::size_t bytes_used() const { return next_ - count_ / 8; }

 private:
  std::span<const std::byte> in_;
  std::string_view what_;
  std::size_t next_ = 0;
  std::uint64_t bits_ = 0;
  unsigned count_ = 0;
};

// Decodes one raw deflate stream into exactly `size` bytes, the size the ZIP
// directory declares: writing past it, or stopping short, is an error, so the
// output never outgrows the allocation the caller sized and limited.
class inflater {
 public:
  inflater(std::span<const std::byte> in, std::uint64_t size, std::string_view what)
      : in_(in), bits_(in, what), out_(static_cast<std::size_t>(size)), what_(what) {}

  std::vector<std::byte> run() && {
    for (bool final_block = false; !final_block;) {
      final_block = bits_.take(1) == 1;
      switch (bits_.take(2)) {
        case 0:
          stored_block();
          break;
        case 1:
          fixed_block();
          break;
        case 2:
          dynamic_block();
          break;
        default:
          fail("block type 3, which is reserved");
      }
    }
    if (produced_ != out_.size())
      fail("it inflates to " + std::to_string(produced_) + " bytes, but the directory declares " +
           std::to_string(out_.size()));
    if (bits_.bytes_used() != in_.size())
      fail(std::to_string(in_.size() - bits_.bytes_used()) +
           " bytes follow the end of the deflate stream");
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    read_fail(what_, "deflate data: " + problem);
  }
  [[noreturn]] void overflow() const {
    fail("it inflates to more than the " + std::to_string(out_.size()) +
         " bytes the directory declares");
  }

  void stored_block() {
    bits_.skip_to_byte();
    const std::uint32_t length = bits_.take(16);
    const std::uint32_t complement = bits_.take(16);
    if ((length ^ complement) != 0xFFFF)
      fail("a stored block's length " + std::to_string(length) + " and its complement " +
           std::to_string(complement) + " disagree");
    const auto bytes = bits_.take_bytes(length);
    if (bytes.size() > out_.size() - produced_) overflow();
    std::copy(bytes.begin(), bytes.end(), out_.begin() + static_cast<std::ptrdiff_t>(produced_));
    produced_ += bytes.size();
  }

  // Section 3.2.6. Built once: every fixed block uses the same codes.
  static const std::pair<inflate_code, inflate_code>& fixed_codes() {
    static const std::pair<inflate_code, inflate_code> codes = [] {
      std::array<std::uint8_t, inflate_fixed_literal_codes> literal_lengths{};
      std::fill_n(literal_lengths.begin(), 144, std::uint8_t{8});
      std::fill(literal_lengths.begin() + 144, literal_lengths.begin() + 256, std::uint8_t{9});
      std::fill(literal_lengths.begin() + 256, literal_lengths.begin() + 280, std::uint8_t{7});
      std::fill(literal_lengths.begin() + 280, literal_lengths.end(), std::uint8_t{8});
      std::array<std::uint8_t, inflate_max_distance_codes> distance_lengths{};
      distance_lengths.fill(5);
      return std::pair{make_inflate_code(literal_lengths, "fixed code", "literal/length"),
                       make_inflate_code(distance_lengths, "fixed code", "distance")};
    }();
    return codes;
  }

  void fixed_block() {
    const auto& [literals, distances] = fixed_codes();
    codes(literals, distances);
  }

  void dynamic_block() {
    // Section 3.2.7.
    const std::size_t literal_count = bits_.take(5) + 257;
    const std::size_t distance_count = bits_.take(5) + 1;
    const std::size_t length_code_count = bits_.take(4) + 4;
    if (literal_count > inflate_max_literal_codes || distance_count > inflate_max_distance_codes)
      fail("a dynamic block declares " + std::to_string(literal_count) + " literal/length and " +
           std::to_string(distance_count) + " distance codes (at most 286 and 30)");
    std::array<std::uint8_t, inflate_code_length_order.size()> length_lengths{};
    for (std::size_t i = 0; i < length_code_count; ++i)
      length_lengths[inflate_code_length_order[i]] = static_cast<std::uint8_t>(bits_.take(3));
    const inflate_code length_code = make_inflate_code(length_lengths, what_, "code length");
    if (length_code.unused != 0) fail("the code length code is incomplete");

    std::array<std::uint8_t, inflate_max_literal_codes + inflate_max_distance_codes> lengths{};
    const std::size_t total = literal_count + distance_count;
    for (std::size_t i = 0; i < total;) {
      const unsigned symbol = decode(length_code);
      if (symbol < 16) {
        lengths[i++] = static_cast<std::uint8_t>(symbol);
        continue;
      }
      std::uint8_t value = 0;
      std::size_t repeat = 0;
      if (symbol == 16) {
        if (i == 0) fail("a dynamic block repeats a code length before giving one");
        value = lengths[i - 1];
        repeat = 3 + bits_.take(2);
      } else if (symbol == 17) {
        repeat = 3 + bits_.take(3);
      } else {
        repeat = 11 + bits_.take(7);
      }
      if (repeat > total - i)
        fail("a dynamic block's code lengths run past the " + std::to_string(total) +
             " codes it declares");
      std::fill_n(lengths.begin() + static_cast<std::ptrdiff_t>(i), repeat, value);
      i += repeat;
    }
    if (lengths[inflate_end_of_block] == 0) fail("a dynamic block has no end-of-block code");
    const auto all = std::span<const std::uint8_t>(lengths);
    const inflate_code literals =
        make_inflate_code(all.first(literal_count), what_, "literal/length");
    const inflate_code distances =
        make_inflate_code(all.subspan(literal_count, distance_count), what_, "distance");
    if (literals.unused != 0 && !literals.acceptable_incomplete())
      fail("the literal/length code is incomplete");
    if (distances.unused != 0 && !distances.acceptable_incomplete())
      fail("the distance code is incomplete");
    codes(literals, distances);
  }

  unsigned decode(const inflate_code& code) {
    const std::uint32_t window = bits_.peek(inflate_max_code_bits);
    const std::uint16_t entry = code.fast[window & ((1u << inflate_fast_bits) - 1)];
    if (entry != 0) {
      bits_.consume(entry >> inflate_symbol_bits);
      return entry & ((1u << inflate_symbol_bits) - 1);
    }
    // Longer codes: canonical decoding one bit at a time, as zlib's puff.c does.
    std::int64_t value = 0;
    std::int64_t first = 0;  // the first code of the current length
    std::int64_t index = 0;  // its position in code.symbol
    for (unsigned length = 1; length <= inflate_max_code_bits; ++length) {
      value |= (window >> (length - 1)) & 1u;
      const std::int64_t count = code.count[length];
      if (value - first < count) {
        bits_.consume(length);
        return code.symbol[static_cast<std::size_t>(index + value - first)];
      }
      index += count;
      first = (first + count) << 1;
      value <<= 1;
    }
    // Fewer bits than the longest code left: the code was cut off, which consume() reports.
    if (bits_.buffered() < inflate_max_code_bits) bits_.consume(inflate_max_code_bits);
    fail("a bit pattern that is no code of its block");
  }

  void codes(const inflate_code& literals, const inflate_code& distances) {
    for (;;) {
      const unsigned symbol = decode(literals);
      if (symbol < inflate_end_of_block) {
        if (produced_ == out_.size()) overflow();
        out_[produced_++] = static_cast<std::byte>(symbol);
        continue;
      }
      if (symbol == inflate_end_of_block) return;
      const std::size_t length_symbol = symbol - inflate_end_of_block - 1;
      if (length_symbol >= inflate_length_base.size())
        fail("length symbol " + std::to_string(symbol) + ", which is not a valid length");
      const std::size_t length =
          inflate_length_base[length_symbol] + bits_.take(inflate_length_extra[length_symbol]);
      const unsigned distance_symbol = decode(distances);
      ISM_ASSERT(distance_symbol < inflate_distance_base.size());  // codes hold at most 30
      const std::size_t distance = inflate_distance_base[distance_symbol] +
                                   bits_.take(inflate_distance_extra[distance_symbol]);
      if (distance > produced_)
        fail("a match reaches " + std::to_string(distance) + " bytes back when only " +
             std::to_string(produced_) + " bytes precede it");
      if (length > out_.size() - produced_) overflow();
      // Byte by byte: a match may overlap the bytes it produces.
      for (std::size_t k = 0; k < length; ++k, ++produced_)
        out_[produced_] = out_[produced_ - distance];
    }
  }

  std::span<const std::byte> in_;
  inflate_bits bits_;
  std::vector<std::byte> out_;
  std::size_t produced_ = 0;
  std::string_view what_;
};

// ---------------------------------------------------------------------------
// ZIP (PKWARE APPNOTE 6.3): what numpy.savez and numpy.savez_compressed write.
// ---------------------------------------------------------------------------

inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::uint64_t zip64_end_record_bytes = 56;
inline constexpr std::uint64_t zip64_locator_bytes = 20;
inline constexpr std::uint16_t zip64_extra_id = 0x0001;
inline constexpr std::uint64_t zip_max_comment_bytes = 0xFFFF;
// A 32-bit size or offset (16-bit disk number) of all ones: "see the ZIP64 extra field".
inline constexpr std::uint32_t zip64_marker = 0xFFFFFFFFu;
inline constexpr std::uint16_t zip64_disk_marker = 0xFFFF;
inline constexpr std::uint16_t zip_flag_encrypted = 1u << 0;
inline constexpr std::uint16_t zip_flag_strong_encryption = 1u << 6;
inline constexpr std::uint16_t zip_method_stored = 0;
inline constexpr std::uint16_t zip_method_deflate = 8;

inline std::string zip_method_name(std::uint16_t method) {
  switch (method) {
    case 9:
      return "9 (deflate64)";
    case 12:
      return "12 (bzip2)";
    case 14:
      return "14 (LZMA)";
    case 93:
      return "93 (Zstandard)";
    case 95:
      return "95 (xz)";
    default:
      return std::to_string(method);
  }
}

struct zip_directory {
  std::uint64_t entries = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// The end of central directory record (and its ZIP64 form, when a locator
// precedes it) gives where the directory is; it must end where they begin.
inline zip_directory find_zip_directory(std::span<const std::byte> bytes, std::string_view what) {
  if (bytes.size() < zip_end_record_bytes)
    read_fail(what, "not a ZIP archive: " + std::to_string(bytes.size()) +
                        " bytes are too few for its end record");
  // The record is the last thing in the file but for a comment of up to 64 KiB,
  // whose length it states.
  const std::uint64_t last = bytes.size() - zip_end_record_bytes;
  const std::uint64_t lowest = last > zip_max_comment_bytes ? last - zip_max_comment_bytes : 0;
  std::optional<std::uint64_t> end_at;
  for (std::uint64_t at = last + 1; at-- > lowest && !end_at;) {
    le_fields record(bytes.subspan(static_cast<std::size_t>(at), zip_end_record_bytes));
    if (record.next<std::uint32_t>() != zip_end_signature) continue;
    record.skip(16);
    if (record.next<std::uint16_t>() == last - at) end_at = at;
  }
  if (!end_at)
    read_fail(what,
              "no ZIP end of central directory record (the archive is truncated, or not a ZIP)");

  le_fields end(bytes.subspan(static_cast<std::size_t>(*end_at), zip_end_record_bytes));
  end.skip(4);
  std::uint64_t disk = end.next<std::uint16_t>();
  std::uint64_t directory_disk = end.next<std::uint16_t>();
  std::uint64_t disk_entries = end.next<std::uint16_t>();
  zip_directory directory;
  directory.entries = end.next<std::uint16_t>();
  directory.size = end.next<std::uint32_t>();
  directory.offset = end.next<std::uint32_t>();
  std::uint64_t directory_end = *end_at;

  if (*end_at >= zip64_locator_bytes) {
    const std::uint64_t locator_at = *end_at - zip64_locator_bytes;
    le_fields locator(bytes.subspan(static_cast<std::size_t>(locator_at), zip64_locator_bytes));
    if (locator.next<std::uint32_t>() == zip64_locator_signature) {
      const std::uint64_t record_disk = locator.next<std::uint32_t>();
      const std::uint64_t record_at_byte = locator.next<std::uint64_t>();
      const std::uint64_t disks = locator.next<std::uint32_t>();
      if (record_disk != 0 || disks > 1)
        read_fail(what, "the ZIP archive spans several disks, which ism does not read");
      le_fields record(record_at(bytes, record_at_byte, zip64_end_record_bytes, locator_at, what,
                                 "the ZIP64 end of central directory record"));
      if (record.next<std::uint32_t>() != zip64_end_signature)
        read_fail(what, "the ZIP64 end of central directory record at byte " +
                            std::to_string(record_at_byte) + " has the wrong signature");
      record.skip(8 + 2 + 2);  // record size, version made by, version needed
      disk = record.next<std::uint32_t>();
      directory_disk = record.next<std::uint32_t>();
      disk_entries = record.next<std::uint64_t>();
      directory.entries = record.next<std::uint64_t>();
      directory.size = record.next<std::uint64_t>();
      directory.offset = record.next<std::uint64_t>();
      directory_end = record_at_byte;
    }
  }
  if (disk != 0 || directory_disk != 0 || disk_entries != directory.entries)
    read_fail(what, "the ZIP archive spans several disks, which ism does not read");
  if (directory.offset > directory_end || directory_end - directory.offset != directory.size)
    read_fail(what, "the central directory (" + std::to_string(directory.size) + " bytes at byte " +
                        std::to_string(directory.offset) +
                        ") does not end where the end record begins (byte " +
                        std::to_string(directory_end) + ")");
  if (directory.entries > directory.size / zip_central_header_bytes)
    read_fail(what, std::to_string(directory.entries) +
                        " entries cannot fit a central directory of " +
                        std::to_string(directory.size) + " bytes");
  return directory;
}

struct zip_entry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed = 0;
  std::uint64_t uncompressed = 0;
  std::uint64_t local_offset = 0;
};

// Replaces the entry's fields that are all ones with the ZIP64 extra field's
// values, which hold exactly those fields in this order (APPNOTE 4.5.3).
inline void read_zip64_extra(std::span<const std::byte> extra, zip_entry& entry, bool disk_marked,
                             std::string_view what) {
  const bool uncompressed = entry.uncompressed == zip64_marker;
  const bool compressed = entry.compressed == zip64_marker;
  const bool offset = entry.local_offset == zip64_marker;
  if (!uncompressed && !compressed && !offset && !disk_marked) return;
  const std::string member = "entry '" + printable(entry.name) + "'";
  for (std::uint64_t at = 0; at < extra.size();) {
    le_fields header(
        record_at(extra, at, 4, extra.size(), what, "an extra field header of " + member));
    const std::uint16_t id = header.next<std::uint16_t>();
    const std::uint16_t size = header.next<std::uint16_t>();
    const auto data =
        record_at(extra, at + 4, size, extra.size(), what, "an extra field of " + member);
    if (id == zip64_extra_id) {
      const std::size_t needed = 8 * static_cast<std::size_t>(uncompressed + compressed + offset) +
                                 4 * static_cast<std::size_t>(disk_marked);
      if (data.size() < needed)
        read_fail(what, "the ZIP64 extra field of " + member + " holds " +
                            std::to_string(data.size()) + " bytes, fewer than the " +
                            std::to_string(needed) + " its marked fields need");
      le_fields values(data);
      if (uncompressed) entry.uncompressed = values.next<std::uint64_t>();
      if (compressed) entry.compressed = values.next<std::uint64_t>();
      if (offset) entry.local_offset = values.next<std::uint64_t>();
      if (disk_marked && values.next<std::uint32_t>() != 0)
        read_fail(what, member + " lies on another disk, which ism does not read");
      return;
    }
    at += 4 + size;
  }
  read_fail(what, member + " marks sizes or its offset as ZIP64 but has no ZIP64 extra field");
}

inline std::vector<zip_entry> read_zip_entries(std::span<const std::byte> bytes,
                                               const zip_directory& directory,
                                               std::string_view what) {
  const std::uint64_t end = directory.offset + directory.size;
  std::vector<zip_entry> entries;
  entries.reserve(static_cast<std::size_t>(directory.entries));
  std::uint64_t at = directory.offset;
  for (std::uint64_t i = 0; i < directory.entries; ++i) {
    const std::string place = "central directory entry " + std::to_string(i);
    le_fields record(record_at(bytes, at, zip_central_header_bytes, end, what, place));
    if (record.next<std::uint32_t>() != zip_central_signature)
      read_fail(what, place + " at byte " + std::to_string(at) + " has the wrong signature");
    zip_entry entry;
    record.skip(2 + 2);  // version made by, version needed
    entry.flags = record.next<std::uint16_t>();
    entry.method = record.next<std::uint16_t>();
    record.skip(2 + 2);  // time, date
    entry.crc = record.next<std::uint32_t>();
    entry.compressed = record.next<std::uint32_t>();
    entry.uncompressed = record.next<std::uint32_t>();
    const std::uint16_t name_length = record.next<std::uint16_t>();
    const std::uint16_t extra_length = record.next<std::uint16_t>();
    const std::uint16_t comment_length = record.next<std::uint16_t>();
    const std::uint16_t disk = record.next<std::uint16_t>();
    record.skip(2 + 4);  // internal and external attributes
    entry.local_offset = record.next<std::uint32_t>();
    const std::uint64_t name_at = at + zip_central_header_bytes;
    entry.name =
        std::string(as_chars(record_at(bytes, name_at, name_length, end, what, place + "'s name")));
    const auto extra =
        record_at(bytes, name_at + name_length, extra_length, end, what, place + "'s extra fields");
    record_at(bytes, name_at + name_length + extra_length, comment_length, end, what,
              place + "'s comment");
    if (disk != 0 && disk != zip64_disk_marker)
      read_fail(what, "entry '" + printable(entry.name) +
                          "' lies on another disk, which ism does not read");
    read_zip64_extra(extra, entry, disk == zip64_disk_marker, what);
    entries.push_back(std::move(entry));
    at = name_at + name_length + extra_length + comment_length;
  }
  if (at != end)
    read_fail(what, "the central directory holds " + std::to_string(end - at) + " bytes past its " +
                        std::to_string(directory.entries) + " entries");
  return entries;
}

// A member's bytes, decompressed and checked against the directory's size and
// CRC-32. Members lie before the central directory, which bounds every read.
inline std::vector<std::byte> zip_member_bytes(std::span<const std::byte> bytes,
                                               std::uint64_t directory_offset,
                                               const zip_entry& entry, std::string_view member) {
  le_fields local(record_at(bytes, entry.local_offset, zip_local_header_bytes, directory_offset,
                            member, "the local header"));
  if (local.next<std::uint32_t>() != zip_local_signature)
    read_fail(member, "no local header signature at byte " + std::to_string(entry.local_offset));
  local.skip(2 + 2);  // version needed, flags
  const std::uint16_t method = local.next<std::uint16_t>();
  local.skip(2 + 2 + 4 + 4 + 4);  // time, date, CRC and sizes (zero or ZIP64 markers when deferred)
  const std::uint16_t name_length = local.next<std::uint16_t>();
  const std::uint16_t extra_length = local.next<std::uint16_t>();
  if (method != entry.method)
    read_fail(member, "the local header gives compression method " + std::to_string(method) +
                          ", the central directory " + std::to_string(entry.method));
  const std::uint64_t name_at = entry.local_offset + zip_local_header_bytes;
  const std::string_view local_name =
      as_chars(record_at(bytes, name_at, name_length, directory_offset, member, "the local name"));
  if (local_name != entry.name)
    read_fail(member, "the local header names it '" + printable(local_name) + "'");
  const auto data = record_at(bytes, name_at + name_length + extra_length, entry.compressed,
                              directory_offset, member, "the member data");

  std::vector<std::byte> out;
  if (entry.method == zip_method_stored) {
    if (entry.compressed != entry.uncompressed)
      read_fail(member, "a stored member of " + std::to_string(entry.compressed) +
                            " bytes declares " + std::to_string(entry.uncompressed) +
                            " uncompressed");
    out.assign(data.begin(), data.end());
  } else {
    out = inflater(data, entry.uncompressed, member).run();
  }
  const std::uint32_t crc = crc32_update(0, out);
  if (crc != entry.crc) {
    const auto hex = [](std::uint32_t v) {
      std::string text(8, '0');
      for (std::size_t i = 0; i < 8; ++i) text[7 - i] = "0123456789abcdef"[(v >> (4 * i)) & 0xF];
      return "0x" + text;
    };
    read_fail(member, "CRC-32 mismatch: the directory says " + hex(entry.crc) +
                          ", the data gives " + hex(crc));
  }
  return out;
}

inline bool has_zip_signature(std::span<const std::byte> bytes) {
  std::uint32_t signature = 0;
  if (bytes.size() >= 4) signature = le_fields(bytes.first(4)).next<std::uint32_t>();
  // A local header opens an archive with members, the end record an empty one.
  return signature == zip_local_signature || signature == zip_end_signature;
}

}  // namespace detail

// .npy bytes -> one array. Throws io_error naming `what` (the file or member)
// and the problem: bad magic, an unsupported version, a truncated or unparsable
// header, a dtype ism does not read, data that does not match the shape, a bool
// byte other than 0 or 1.
inline npy_owned_array read_npy(std::span<const std::byte> bytes, std::string_view what) {
  detail::npy_layout layout = detail::read_npy_header(bytes, what);
  std::vector<std::byte> data(bytes.begin() + static_cast<std::ptrdiff_t>(layout.data_offset),
                              bytes.end());
  return detail::settle_npy_items(std::move(layout), std::move(data), what);
}

// .npz bytes -> its arrays, in archive order, named without ".npy". The members'
// decompressed sizes may total at most max_bytes; this is checked from the
// directory before anything is decoded. Throws io_error naming `what`, the member
// and the problem: no end record, a directory out of place, an encrypted member,
// a compression method other than stored or deflate, a member that is not a
// .npy, two members of one name, corrupt deflate data, a CRC-32 mismatch, and
// every read_npy error.
inline std::vector<named_owned_array> read_npz(std::span<const std::byte> bytes,
                                               std::string_view what, std::uint64_t max_bytes) {
  const detail::zip_directory directory = detail::find_zip_directory(bytes, what);
  const std::vector<detail::zip_entry> entries = detail::read_zip_entries(bytes, directory, what);
  const auto member_what = [&](const detail::zip_entry& entry) {
    return std::string(what) + " member '" + detail::printable(entry.name) + "'";
  };
  std::set<std::string_view> names;
  std::uint64_t total = 0;
  for (const detail::zip_entry& entry : entries) {
    const std::string member = member_what(entry);
    if (entry.flags & (detail::zip_flag_encrypted | detail::zip_flag_strong_encryption))
      detail::read_fail(member, "the member is encrypted");
    if (entry.method != detail::zip_method_stored && entry.method != detail::zip_method_deflate)
      detail::read_fail(member, "unsupported compression method " +
                                    detail::zip_method_name(entry.method) +
                                    " (ism reads stored and deflate members)");
    if (entry.method == detail::zip_method_deflate &&
        entry.uncompressed / detail::inflate_max_ratio > entry.compressed)
      detail::read_fail(member, "a deflate member of " + std::to_string(entry.compressed) +
                                    " bytes cannot inflate to the " +
                                    std::to_string(entry.uncompressed) + " it declares");
    if (!std::string_view(entry.name).ends_with(npz_member_suffix))
      detail::read_fail(member, "not an .npy member, so numpy.load would not read it as an array");
    if (!names.insert(entry.name).second) detail::read_fail(member, "duplicate member name");
    if (entry.uncompressed > max_bytes - total)
      detail::read_fail(member, "the members decode to more than the limit of " +
                                    std::to_string(max_bytes) + " bytes (this one declares " +
                                    std::to_string(entry.uncompressed) + ")");
    total += entry.uncompressed;
  }
  std::vector<named_owned_array> arrays;
  arrays.reserve(entries.size());
  for (const detail::zip_entry& entry : entries) {
    const std::string member = member_what(entry);
    std::vector<std::byte> npy = detail::zip_member_bytes(bytes, directory.offset, entry, member);
    arrays.push_back({entry.name.substr(0, entry.name.size() - npz_member_suffix.size()),
                      detail::read_npy(std::move(npy), member)});
  }
  return arrays;
}

// A file: an .npz by its ZIP signature, else an .npy, named after the file stem.
// Refuses a file over max_bytes before reading it, and an archive whose members
// decode to more than max_bytes before decoding them; a Fortran-order array
// briefly takes a second buffer of its size. Throws io_error naming the file.
inline std::vector<named_owned_array> read_array_file(const std::filesystem::path& path,
                                                      std::uint64_t max_bytes) {
  const std::string what = path.string();
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (error) detail::read_fail(what, "cannot read the file: " + error.message());
  if (!std::filesystem::is_regular_file(status)) detail::read_fail(what, "not a regular file");
  const std::uint64_t size = std::filesystem::file_size(path, error);
  if (error) detail::read_fail(what, "cannot read the file's size: " + error.message());
  if (size > max_bytes)
    detail::read_fail(what, "the file is " + std::to_string(size) +
                                " bytes, more than the limit of " + std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::read_fail(what, "cannot open the file");
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uint64_t>(in.gcount()) != size)
    detail::read_fail(what, "read " + std::to_string(in.gcount()) + " of the file's " +
                                std::to_string(size) + " bytes");
  if (detail::has_zip_signature(bytes)) return read_npz(bytes, what, max_bytes);
  std::vector<named_owned_array> arrays;
  arrays.push_back({path.stem().string(), detail::read_npy(std::move(bytes), what)});
  return arrays;
}

}  // namespace v0
}  // namespace ism
