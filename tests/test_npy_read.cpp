// Reading .npy / .npz files (include/ism/npy_read.hpp): round trips through
// ism's writer, files written by real numpy and zlib, hand-built headers and
// archives, and every refusal with its message.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ism/npy.hpp>
#include <ism/npy_read.hpp>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "error_messages.hpp"
#include "npy_reader.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto* begin = reinterpret_cast<const std::byte*>(text.data());
  return {begin, begin + text.size()};
}

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

template <class T>
std::vector<T> values_of(const ism::npy_owned_array& a) {
  REQUIRE(a.data.size() % sizeof(T) == 0);
  std::vector<T> out(a.data.size() / sizeof(T));
  std::memcpy(out.data(), a.data.data(), a.data.size());
  return out;
}

ism::npy_owned_array read_npy_text(std::string_view file) {
  return ism::read_npy(bytes_of(file), "m.npy");
}

std::string read_npy_error(std::string_view file) {
  return error_message<ism::io_error>([&] { read_npy_text(file); });
}

// A .npy file of format version `major`.0 around the header dict text, padded
// with spaces and a newline to 64 bytes as numpy pads it.
std::string npy_file(std::string_view dict, std::string_view data, int major = 1) {
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t preamble = 8 + length_bytes;
  std::string header(dict);
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < length_bytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + std::string(data);
}

template <class T>
std::string raw(const std::vector<T>& values) {
  return text_of(std::as_bytes(std::span(values)));
}

template <class T>
std::string big_endian(const std::vector<T>& values) {
  std::string out = raw(values);
  for (std::size_t i = 0; i < out.size(); i += sizeof(T))
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(i),
                 out.begin() + static_cast<std::ptrdiff_t>(i + sizeof(T)));
  return out;
}

template <std::unsigned_integral U>
void put(std::string& out, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

template <std::unsigned_integral U>
void patch(std::string& bytes, std::size_t at, U value) {
  std::string field;
  put(field, value);
  bytes.replace(at, sizeof(U), field);
}

// One member of a hand-built archive. `stored` is what the archive holds
// (compressed for method 8), `content` what it decodes to; the optional fields
// make the archive lie about it.
struct member_spec {
  std::string name;
  std::string stored;
  std::string content;
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  std::optional<std::uint32_t> crc;
  std::optional<std::string> local_name;
  std::optional<std::uint16_t> local_method;
  std::optional<std::uint64_t> declared_size;
};

member_spec member_of(std::string name, std::string stored, std::string content,
                      std::uint16_t method) {
  member_spec m;
  m.name = std::move(name);
  m.stored = std::move(stored);
  m.content = std::move(content);
  m.method = method;
  return m;
}

member_spec stored_member(std::string name, const std::string& content) {
  return member_of(std::move(name), content, content, 0);
}

// zip64: sizes and offsets in ZIP64 extra fields and a ZIP64 end record, as in
// an archive past 4 GiB. descriptor: CRC and sizes after the data, as a writer
// that cannot seek leaves them.
enum class zip_style { plain, zip64, descriptor };

constexpr std::size_t end_record_bytes = 22;

std::string zip_of(const std::vector<member_spec>& members, zip_style style = zip_style::plain,
                   std::string_view comment = {}) {
  constexpr std::uint32_t all_ones = 0xFFFFFFFFu;
  const bool zip64 = style == zip_style::zip64;
  const bool descriptor = style == zip_style::descriptor;
  std::string out;
  std::string directory;
  for (const member_spec& m : members) {
    const std::uint32_t crc = m.crc.value_or(npy_reader::crc32(m.content));
    const std::uint64_t size = m.declared_size.value_or(m.content.size());
    const std::uint64_t offset = out.size();
    const std::string local_name = m.local_name.value_or(m.name);
    const auto flags = static_cast<std::uint16_t>(m.flags | (descriptor ? 8 : 0));

    std::string local_extra;
    if (zip64) {
      put<std::uint16_t>(local_extra, 1);
      put<std::uint16_t>(local_extra, 16);
      put<std::uint64_t>(local_extra, size);
      put<std::uint64_t>(local_extra, m.stored.size());
    }
    put<std::uint32_t>(out, 0x04034b50);
    put<std::uint16_t>(out, 45);
    put<std::uint16_t>(out, flags);
    put<std::uint16_t>(out, m.local_method.value_or(m.method));
    put<std::uint32_t>(out, 0);  // time, date
    put<std::uint32_t>(out, descriptor ? 0 : crc);
    const std::uint32_t local_stored = zip64        ? all_ones
                                       : descriptor ? 0
                                                    : static_cast<std::uint32_t>(m.stored.size());
    const std::uint32_t local_size = zip64        ? all_ones
                                     : descriptor ? 0
                                                  : static_cast<std::uint32_t>(size);
    put<std::uint32_t>(out, local_stored);
    put<std::uint32_t>(out, local_size);
    put<std::uint16_t>(out, static_cast<std::uint16_t>(local_name.size()));
    put<std::uint16_t>(out, static_cast<std::uint16_t>(local_extra.size()));
    out += local_name + local_extra + m.stored;
    if (descriptor) {
      put<std::uint32_t>(out, 0x08074b50);
      put<std::uint32_t>(out, crc);
      put<std::uint32_t>(out, static_cast<std::uint32_t>(m.stored.size()));
      put<std::uint32_t>(out, static_cast<std::uint32_t>(size));
    }

    std::string extra;
    if (zip64) {
      put<std::uint16_t>(extra, 1);
      put<std::uint16_t>(extra, 24);
      put<std::uint64_t>(extra, size);
      put<std::uint64_t>(extra, m.stored.size());
      put<std::uint64_t>(extra, offset);
    }
    put<std::uint32_t>(directory, 0x02014b50);
    put<std::uint16_t>(directory, 45);
    put<std::uint16_t>(directory, 45);
    put<std::uint16_t>(directory, flags);
    put<std::uint16_t>(directory, m.method);
    put<std::uint32_t>(directory, 0);  // time, date
    put<std::uint32_t>(directory, crc);
    put<std::uint32_t>(directory, zip64 ? all_ones : static_cast<std::uint32_t>(m.stored.size()));
    put<std::uint32_t>(directory, zip64 ? all_ones : static_cast<std::uint32_t>(size));
    put<std::uint16_t>(directory, static_cast<std::uint16_t>(m.name.size()));
    put<std::uint16_t>(directory, static_cast<std::uint16_t>(extra.size()));
    put<std::uint16_t>(directory, 0);  // comment
    put<std::uint16_t>(directory, 0);  // disk
    put<std::uint16_t>(directory, 0);  // internal attributes
    put<std::uint32_t>(directory, 0);  // external attributes
    put<std::uint32_t>(directory, zip64 ? all_ones : static_cast<std::uint32_t>(offset));
    directory += m.name + extra;
  }
  const std::uint64_t directory_at = out.size();
  out += directory;
  const auto entries = static_cast<std::uint16_t>(members.size());
  if (zip64) {
    const std::uint64_t record_at = out.size();
    put<std::uint32_t>(out, 0x06064b50);
    put<std::uint64_t>(out, 44);  // the record's size after this field
    put<std::uint16_t>(out, 45);
    put<std::uint16_t>(out, 45);
    put<std::uint32_t>(out, 0);  // this disk
    put<std::uint32_t>(out, 0);  // the directory's disk
    put<std::uint64_t>(out, members.size());
    put<std::uint64_t>(out, members.size());
    put<std::uint64_t>(out, directory.size());
    put<std::uint64_t>(out, directory_at);
    put<std::uint32_t>(out, 0x07064b50);
    put<std::uint32_t>(out, 0);
    put<std::uint64_t>(out, record_at);
    put<std::uint32_t>(out, 1);  // disks
  }
  put<std::uint32_t>(out, 0x06054b50);
  put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, zip64 ? std::uint16_t{0xFFFF} : entries);
  put<std::uint16_t>(out, zip64 ? std::uint16_t{0xFFFF} : entries);
  put<std::uint32_t>(out, zip64 ? all_ones : static_cast<std::uint32_t>(directory.size()));
  put<std::uint32_t>(out, zip64 ? all_ones : static_cast<std::uint32_t>(directory_at));
  put<std::uint16_t>(out, static_cast<std::uint16_t>(comment.size()));
  return out + std::string(comment);
}

constexpr std::uint64_t generous_limit = std::uint64_t{1} << 32;

std::vector<ism::named_owned_array> read_npz_text(std::string_view archive,
                                                  std::uint64_t max_bytes = generous_limit) {
  return ism::read_npz(bytes_of(archive), "a.npz", max_bytes);
}

std::string read_npz_error(std::string_view archive, std::uint64_t max_bytes = generous_limit) {
  return error_message<ism::io_error>([&] { read_npz_text(archive, max_bytes); });
}

template <class T>
std::string npy_of(const std::vector<T>& values, std::vector<ism::index_t> shape) {
  std::ostringstream os;
  ism::write_npy(os, ism::make_npy_array(std::span<const T>(values), std::move(shape)));
  return os.str();
}

// Deflate bits: fields least significant bit first, Huffman codes most
// significant bit first (RFC 1951 section 3.1.1).
struct deflate_bits {
  std::string bytes;
  unsigned used = 0;  // bits used in the last byte

  deflate_bits& field(std::uint32_t value, unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      if (used == 0) bytes += '\0';
      if ((value >> i) & 1) bytes.back() = static_cast<char>(bytes.back() | (1 << used));
      used = (used + 1) % 8;
    }
    return *this;
  }
  deflate_bits& code(std::uint32_t value, unsigned n) {
    for (unsigned i = n; i-- > 0;) field((value >> i) & 1, 1);
    return *this;
  }
  // The fixed literal/length code of section 3.2.6.
  deflate_bits& fixed(unsigned symbol) {
    if (symbol < 144) return code(0x30 + symbol, 8);
    if (symbol < 256) return code(0x190 + symbol - 144, 9);
    if (symbol < 280) return code(symbol - 256, 7);
    return code(0xC0 + symbol - 280, 8);
  }
};

std::string inflate_text(std::string_view deflated, std::uint64_t size) {
  return text_of(ism::detail::inflater(bytes_of(deflated), size, "d").run());
}

std::string inflate_error(std::string_view deflated, std::uint64_t size) {
  return error_message<ism::io_error>([&] { inflate_text(deflated, size); });
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// ---------------------------------------------------------------------------
// Files written by real numpy and zlib, made once per test run.
// ---------------------------------------------------------------------------

// An interpreter that can import numpy: Debian's python3-numpy serves
// /usr/bin/python3, which a python3 found first on PATH may not see.
std::optional<std::string> python_with_numpy() {
  for (const std::string python : {"/usr/bin/python3", "python3"})
    if (std::system((python + " -c 'import numpy' > /dev/null 2>&1").c_str()) == 0) return python;
  return std::nullopt;
}

// Content the python script and the tests both compute: a hash of the index.
std::int32_t hashed(std::int64_t i) {
  return static_cast<std::int32_t>(i * 2654435761 % 1000003);
}

constexpr std::string_view numpy_script = R"(
import io, random, sys, zipfile, zlib
import numpy as np

d = sys.argv[1]
np.save(d + '/bool.npy', np.array([True, False, True]))
np.save(d + '/u1.npy', np.arange(6, dtype=np.uint8).reshape(2, 3))
np.save(d + '/i4.npy', np.arange(-3, 3, dtype='<i4').reshape(3, 2))
np.save(d + '/i8.npy', np.array([-2**40, 0, 2**40 + 1], dtype='<i8'))
np.save(d + '/f2.npy', np.array([1.5, -2.0, np.inf], dtype='<f2'))
np.save(d + '/f4.npy', np.array([0.25, -1.0, 3.5], dtype='<f4'))
np.save(d + '/u2.npy', np.array([0x3F80, 0xC000], dtype='<u2'))
np.save(d + '/scalar.npy', np.int32(7))
np.save(d + '/empty.npy', np.zeros((0, 4), dtype='<f4'))
np.save(d + '/be_i4.npy', np.arange(6, dtype='>i4').reshape(2, 3))
np.save(d + '/be_i8.npy', np.array([1, -1, 2**40], dtype='>i8'))
np.save(d + '/be_f2.npy', np.array([1.5, -2.0], dtype='>f2'))
np.save(d + '/be_f4.npy', np.array([0.25, -1.0], dtype='>f4'))
np.save(d + '/be_u2.npy', np.array([0x3F80, 0x1234], dtype='>u2'))
np.save(d + '/fortran.npy', np.asfortranarray(np.arange(24, dtype='<i4').reshape(2, 3, 4)))
np.save(d + '/transposed.npy', np.arange(6, dtype='<i8').reshape(2, 3).T)
np.save(d + '/c8.npy', np.zeros(2, dtype=np.complex64))
np.save(d + '/f8.npy', np.zeros(2))
for v in (2, 3):
    with open(d + '/v%d.npy' % v, 'wb') as f:
        np.lib.format.write_array(f, np.arange(5, dtype='<i4'), version=(v, 0))

np.savez(d + '/plain.npz', lo=np.arange(4, dtype='<i8'), hi=np.arange(1, 5, dtype='<i8'),
         mask=np.array([[True, False], [False, True]]))
np.savez(d + '/positional.npz', np.arange(2, dtype='<i4'), np.arange(3, dtype='<i4'))
np.savez(d + '/nothing.npz')

class Unseekable:  # zipfile cannot seek back, so it writes data descriptors
    def __init__(self, f): self.f = f
    def read(self, n=-1): raise OSError('write only')  # numpy takes objects without read for paths
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()
with open(d + '/streamed.npz', 'wb') as f:
    np.savez(Unseekable(f), lo=np.arange(4, dtype='<i8'), hi=np.arange(1, 5, dtype='<i8'))
with open(d + '/streamed_compressed.npz', 'wb') as f:
    np.savez_compressed(Unseekable(f), big=np.arange(100000, dtype='<i4') % 1000)

i = np.arange(300000, dtype=np.int64)
big = (i * 2654435761 % 1000003).astype('<i4')
mask = np.arange(100000) % 7 < 3
ramp = (np.arange(50000) % 997).astype('<f4') / 8
np.savez_compressed(d + '/compressed.npz', big=big, mask=mask, ramp=ramp,
                    small=np.arange(3, dtype='<i4'), scalar=np.float32(2.5))
for level in (0, 1, 9):
    with zipfile.ZipFile(d + '/level%d.npz' % level, 'w', zipfile.ZIP_DEFLATED,
                         compresslevel=level) as z:
        with z.open('big.npy', 'w', force_zip64=True) as f:
            np.lib.format.write_array(f, big)

r = random.Random(7)
parts = []
while sum(map(len, parts)) < 200000:
    kind = r.randrange(3)
    if kind == 0:
        parts.append(bytes(r.randrange(256) for _ in range(r.randrange(1, 300))))
    elif kind == 1:
        parts.append(bytes([r.randrange(256)]) * r.randrange(1, 2000))
    else:
        parts.append(parts[r.randrange(len(parts))] if parts else b'x')
content = b''.join(parts)
open(d + '/content.bin', 'wb').write(content)
strategies = {'default': zlib.Z_DEFAULT_STRATEGY, 'filtered': zlib.Z_FILTERED,
              'huffman': zlib.Z_HUFFMAN_ONLY, 'rle': getattr(zlib, 'Z_RLE', 3),
              'fixed': getattr(zlib, 'Z_FIXED', 4)}
for name, strategy in strategies.items():
    for level in (0, 1, 6, 9):
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
        open(d + '/deflate_%s_%d.bin' % (name, level), 'wb').write(c.compress(content) + c.flush())
)";

struct scratch_dir {
  fs::path path;
  scratch_dir() {
    path =
        fs::temp_directory_path() / ("ism_npy_read_test_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

// The directory of numpy's files, or nullopt without a python that has numpy.
const std::optional<fs::path>& numpy_files() {
  static scratch_dir dir;
  static const std::optional<fs::path> files = []() -> std::optional<fs::path> {
    const std::optional<std::string> python = python_with_numpy();
    if (!python) return std::nullopt;
    const fs::path script = dir.path / "make_files.py";
    std::ofstream(script) << numpy_script;
    const std::string command = *python + " '" + script.string() + "' '" + dir.path.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    return dir.path;
  }();
  return files;
}

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ism::npy_owned_array only_array(const fs::path& path) {
  auto arrays = ism::read_array_file(path, generous_limit);
  REQUIRE(arrays.size() == 1);
  CHECK(arrays[0].name == path.stem().string());
  return std::move(arrays[0].array);
}

}  // namespace

// ---------------------------------------------------------------------------
// Round trips through ism's writer
// ---------------------------------------------------------------------------

TEST_CASE("npy_read: every dtype written by write_npy reads back exactly") {
  const auto round_trip = [](auto values, std::vector<ism::index_t> shape) {
    using T = typename decltype(values)::value_type;
    const ism::npy_owned_array a = read_npy_text(npy_of(values, shape));
    CHECK(a.dtype == ism::npy_dtype_of<T>);
    CHECK(a.shape == shape);
    CHECK(a.size() == static_cast<ism::index_t>(values.size()));
    CHECK(text_of(a.data) == raw(values));
    CHECK(text_of(a.view().data) == raw(values));
    CHECK(a.view().shape == shape);
  };
  round_trip(std::vector<std::uint8_t>{1, 0, 1, 1, 0, 0}, {2, 3});
  round_trip(std::vector<std::uint8_t>{0, 7, 255}, {3});
  round_trip(std::vector<std::int32_t>{-5}, {});
  round_trip(std::vector<std::int32_t>{}, {0, 4});
  round_trip(std::vector<std::int64_t>{-1, 1LL << 40, 3, 4}, {2, 1, 2});
  round_trip(std::vector<Eigen::half>{Eigen::half(1.5f), Eigen::half(-0.25f)}, {2});
  round_trip(std::vector<Eigen::bfloat16>{Eigen::bfloat16(3.0f), Eigen::bfloat16(-1.0f)}, {1, 2});
  round_trip(std::vector<float>{0.5f, -std::numeric_limits<float>::infinity(), 2.0f}, {3});

  const bool flags[] = {true, false, true};
  std::ostringstream os;
  ism::write_npy(os, ism::make_npy_array(std::span<const bool>(flags), {3}));
  const ism::npy_owned_array a = read_npy_text(os.str());
  CHECK(a.dtype == ism::npy_dtype::boolean);
  CHECK(values_of<std::uint8_t>(a) == std::vector<std::uint8_t>{1, 0, 1});
}

TEST_CASE("npy_read: write_npz archives read back exactly, in order") {
  const std::vector<std::int64_t> lo{0, 1, 2};
  const std::vector<float> scores{0.5f, 1.5f, -2.0f, 4.0f};
  const std::vector<Eigen::bfloat16> bits{Eigen::bfloat16(1.0f)};
  const std::vector<ism::named_array> arrays{
      {"lo", ism::make_npy_array(std::span<const std::int64_t>(lo), {3})},
      {"scores", ism::make_npy_array(std::span<const float>(scores), {2, 2})},
      {"bits", ism::make_npy_array(std::span<const Eigen::bfloat16>(bits), {})}};
  std::ostringstream os;
  ism::write_npz(os, arrays);
  const auto read = read_npz_text(os.str());
  REQUIRE(read.size() == arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    CAPTURE(arrays[i].name);
    CHECK(read[i].name == arrays[i].name);
    CHECK(read[i].array.dtype == arrays[i].array.dtype);
    CHECK(read[i].array.shape == arrays[i].array.shape);
    CHECK(text_of(read[i].array.data) == text_of(arrays[i].array.data));
  }

  std::ostringstream empty;
  ism::write_npz(empty, {});
  CHECK(read_npz_text(empty.str()).empty());
}

TEST_CASE("npy_read: read_array_file tells .npz by its signature and names .npy after the stem") {
  scratch_dir dir;
  const std::vector<std::int32_t> values{1, 2, 3};
  std::ofstream(dir.path / "cu_seqlens.npy", std::ios::binary) << npy_of(values, {3});
  const ism::npy_owned_array a = only_array(dir.path / "cu_seqlens.npy");
  CHECK(values_of<std::int32_t>(a) == values);

  // The extension does not decide: an archive saved as .npy still reads as one.
  std::ofstream(dir.path / "odd.npy", std::ios::binary)
      << zip_of({stored_member("x.npy", npy_of(values, {3}))});
  const auto arrays = ism::read_array_file(dir.path / "odd.npy", generous_limit);
  REQUIRE(arrays.size() == 1);
  CHECK(arrays[0].name == "x");

  const fs::path file = dir.path / "cu_seqlens.npy";
  const std::string too_big =
      error_message<ism::io_error>([&] { ism::read_array_file(file, fs::file_size(file) - 1); });
  CHECK(contains(too_big, file.string() + ": the file is " + std::to_string(fs::file_size(file)) +
                              " bytes, more than the limit of"));
  CHECK(contains(error_message<ism::io_error>([&] { ism::read_array_file(dir.path / "absent.npy", 100); }),
                 "absent.npy: cannot read the file"));
  CHECK(contains(error_message<ism::io_error>([&] { ism::read_array_file(dir.path, 100); }),
                 ": not a regular file"));
  std::ofstream(dir.path / "bad.npy", std::ios::binary) << "not numpy";
  CHECK(contains(error_message<ism::io_error>([&] { ism::read_array_file(dir.path / "bad.npy", 100); }),
                 "bad.npy: not a .npy file: bad magic 'not nu'"));
}

// ---------------------------------------------------------------------------
// .npy headers
// ---------------------------------------------------------------------------

TEST_CASE("npy_read: header dicts in every spacing, order and quoting numpy.load accepts") {
  const std::vector<std::int32_t> values{1, 2, 3, 4, 5, 6};
  for (const std::string_view dict : {
           "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }",
           "{'shape': (3, 2), 'fortran_order': False, 'descr': '<i4'}",
           "{\"descr\":\"<i4\",\"fortran_order\":False,\"shape\":(3,2)}",
           "  { 'descr' : '<i4' ,\n 'fortran_order' :\tFalse , 'shape' : ( 3 , 2 , ) , }",
           "{'descr': '<i4', 'fortran_order': False, 'shape': (3L, 2L)}",
       }) {
    for (const int major : {1, 2, 3}) {
      CAPTURE(dict);
      CAPTURE(major);
      const ism::npy_owned_array a = read_npy_text(npy_file(dict, raw(values), major));
      CHECK(a.dtype == ism::npy_dtype::int32);
      CHECK(a.shape == std::vector<ism::index_t>{3, 2});
      CHECK(values_of<std::int32_t>(a) == values);
    }
  }
  const ism::npy_owned_array scalar = read_npy_text(npy_file(
      "{'descr': '<i8', 'fortran_order': False, 'shape': ()}", raw(std::vector<std::int64_t>{9})));
  CHECK(scalar.shape.empty());
  CHECK(scalar.size() == 1);
  CHECK(values_of<std::int64_t>(scalar) == std::vector<std::int64_t>{9});
  const ism::npy_owned_array one = read_npy_text(
      npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (5,)}", std::string(5, '\x02')));
  CHECK(one.shape == std::vector<ism::index_t>{5});
  // No padding at all, and no final newline: numpy.load takes these too.
  const std::string bare = "{'descr':'|u1','fortran_order':False,'shape':(2,)}";
  std::string file("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(bare.size());
  file += '\0';
  CHECK(read_npy_text(file + bare + "ab").size() == 2);
}

TEST_CASE("npy_read: big-endian items come back in native order") {
  const auto read = [](std::string_view descr, const std::string& data, std::size_t count) {
    return read_npy_text(npy_file("{'descr': '" + std::string(descr) +
                                      "', 'fortran_order': False, 'shape': (" +
                                      std::to_string(count) + ",)}",
                                  data));
  };
  const std::vector<std::int32_t> i4{1, -2, 0x01020304};
  CHECK(values_of<std::int32_t>(read(">i4", big_endian(i4), 3)) == i4);
  const std::vector<std::int64_t> i8{1LL << 40, -3};
  CHECK(values_of<std::int64_t>(read(">i8", big_endian(i8), 2)) == i8);
  const std::vector<float> f4{0.25f, -1.0f};
  CHECK(values_of<float>(read(">f4", big_endian(f4), 2)) == f4);
  const std::vector<std::uint16_t> bits{0x3C00, 0x8001};
  const ism::npy_owned_array f2 = read(">f2", big_endian(bits), 2);
  CHECK(f2.dtype == ism::npy_dtype::float16);
  CHECK(values_of<std::uint16_t>(f2) == bits);
  const ism::npy_owned_array bf16 = read(">u2", big_endian(bits), 2);
  CHECK(bf16.dtype == ism::npy_dtype::bfloat16);
  CHECK(values_of<std::uint16_t>(bf16) == bits);
  // '=' is the writer's native order, which numpy.load takes as the reader's.
  CHECK(values_of<std::int32_t>(read("=i4", raw(i4), 3)) == i4);
  // One-byte items have no byte order to state: any mark is accepted.
  for (const std::string_view descr : {"|u1", "<u1", ">u1", "=u1"})
    CHECK(read(descr, "\x05\x06", 2).dtype == ism::npy_dtype::uint8);
  CHECK(read(">b1", std::string("\x01\x00", 2), 2).dtype == ism::npy_dtype::boolean);
  CHECK(read_npy_error(npy_file("{'descr': '|i4', 'fortran_order': False, 'shape': (1,)}",
                                "abcd")) == "m.npy: '|i4' gives no byte order for 4-byte items");
}

TEST_CASE("npy_read: Fortran-order arrays are reordered to C order") {
  const auto fortran = [](std::string_view shape, const std::vector<std::int32_t>& data) {
    return read_npy_text(npy_file(
        "{'descr': '<i4', 'fortran_order': True, 'shape': " + std::string(shape) + "}", raw(data)));
  };
  // [[0, 1, 2], [3, 4, 5]] in Fortran order is 0 3 1 4 2 5.
  const ism::npy_owned_array matrix = fortran("(2, 3)", {0, 3, 1, 4, 2, 5});
  CHECK(matrix.shape == std::vector<ism::index_t>{2, 3});
  CHECK(values_of<std::int32_t>(matrix) == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5});

  // A 2 x 3 x 4 array whose item (i, j, k) holds 100 i + 10 j + k.
  std::vector<std::int32_t> columns;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) columns.push_back(100 * i + 10 * j + k);
  std::vector<std::int32_t> rows;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) rows.push_back(100 * i + 10 * j + k);
  CHECK(values_of<std::int32_t>(fortran("(2, 3, 4)", columns)) == rows);

  CHECK(values_of<std::int32_t>(fortran("(3,)", {7, 8, 9})) == std::vector<std::int32_t>{7, 8, 9});
  CHECK(fortran("(0, 3)", {}).data.empty());
  CHECK(values_of<std::int32_t>(fortran("()", {4})) == std::vector<std::int32_t>{4});
}

TEST_CASE("npy_read: each malformed .npy is refused, naming the file and the problem") {
  const std::string i4 = raw(std::vector<std::int32_t>{1, 2});

  CHECK(read_npy_error("") ==
        "m.npy: not a .npy file: bad magic '' (a .npy file starts with '\\x93NUMPY')");
  CHECK(contains(read_npy_error("PK\x03\x04 zip"), "bad magic 'PK\\x03\\x04 z'"));
  CHECK(read_npy_error(std::string("\x93NUMPY\x01", 7)) ==
        "m.npy: the format version (2 bytes at byte 6) runs past byte 7");
  CHECK(read_npy_error(std::string("\x93NUMPY\x04\x00\x10\x00", 10)) ==
        "m.npy: format version 4.0 is not one ism reads (1.0, 2.0 or 3.0)");
  CHECK(read_npy_error(std::string("\x93NUMPY\x02\x00\x10\x00", 10)) ==
        "m.npy: the header length (4 bytes at byte 8) runs past byte 10");
  CHECK(read_npy_error(std::string("\x93NUMPY\x01\x00\xe8\x03{'descr'", 17)) ==
        "m.npy: truncated header: it claims 1000 bytes but the file holds 7 after the preamble");

  std::string many_dims = "{'descr': '<i4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 65; ++i) many_dims += "1, ";
  many_dims += ")}";
  const std::string parse = "header dict unparsable at character ";
  const std::string bad_dtype = "is not a dtype ism reads";
  // Each header dict, with 8 bytes of data, and how its message starts after "m.npy: ".
  const std::vector<std::pair<std::string, std::string>> refusals{
      {"{'descr': '<i4' 'fortran_order': False, 'shape': (2,)}",
       parse + "16: expected ',' or '}' after a value (header: {'descr'"},
      {"['descr', '<i4']", parse + "0: expected the header dict to open with '{'"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,)} x",
       parse + "56: text after the dict's closing '}'"},
      {"{'descr: '<i4'}", parse + "10: expected ':' after a key"},
      {"{'descr': '<i4", parse + "10: a string is not closed"},
      {"{'descr': '<\\x69\\x34', 'fortran_order': False, 'shape': (2,)}",
       parse + "12: escapes and line breaks in strings are not read"},
      {"{descr: '<i4'}", parse + "1: expected a quoted string"},
      {"{'descr': '<i4', 'fortran_order': 0, 'shape': (2,)}", parse + "34: expected True or False"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (2)}",
       parse +
           "50: the shape is a number in parentheses, not a tuple (a 1-d shape is written (N,))"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': [2]}",
       parse + "50: expected '(' opening the shape tuple"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1 2)}",
       parse + "53: expected ',' or ')' in the shape"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (-2,)}", parse + "51: a negative extent"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, x)}",
       parse + "54: expected a non-negative integer extent"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (9223372036854775808,)}",
       parse + "51: an extent is larger than 2^63 - 1"},
      {many_dims, parse + "243: the shape has more than 64 dimensions"},
      {"{'descr': [('x', '<i4')], 'fortran_order': False, 'shape': (2,)}",
       parse + "10: 'descr' is a list, a structured dtype, which ism does not read"},
      {"{'descr': '<i4', 'order': 'C', 'fortran_order': False, 'shape': (2,)}",
       parse + "17: unknown key 'order' (a header holds descr, fortran_order, shape)"},
      {"{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}",
       parse + "17: the key 'descr' appears twice"},
      {"{'descr': '<i4', 'fortran_order': False}",
       "the header dict lacks the key 'shape' (header: {'descr'"},
      {"{'descr': '\x01\xff', 'shape': (2,)}",
       "the header dict lacks the key 'fortran_order' (header: {'descr': '\\x01\\xff'"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}",
       "'<c8' is not a dtype ism reads (it reads |b1, |u1, <i4, <i8, <f2, <u2, <f4, <f8 in either byte "
       "order, '<u2' as bfloat16 bits)"},
      {"{'descr': 'int32', 'fortran_order': False, 'shape': (2,)}", "'int32' " + bad_dtype},
      {"{'descr': '!i4', 'fortran_order': False, 'shape': (2,)}", "'!i4' " + bad_dtype},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (3,)}",
       "data shorter than the shape needs: 8 bytes follow the header, but shape (3,) of '<i4' "
       "needs 12"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1,)}",
       "data longer than the shape needs: 8 bytes follow the header, but shape (1,) of '<i4' "
       "needs 4"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': ()}",
       "data longer than the shape needs: 8 bytes follow the header, but shape () of '<i4' needs "
       "4"},
      // A header that claims far more than the file holds is refused before any
      // allocation for it.
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1099511627776,)}",
       "data shorter than the shape needs: 8 bytes follow the header, but shape (1099511627776,) "
       "of '<i4' needs 4398046511104"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
       "shape (4294967296, 4294967296) of '<i4' holds more than 2^64 bytes"},
  };
  for (const auto& [dict, message] : refusals) {
    CAPTURE(dict);
    const std::string error = read_npy_error(npy_file(dict, i4));
    CAPTURE(error);
    CHECK(error.starts_with("m.npy: " + message));
  }
  CHECK(read_npy_error(npy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}",
                                std::string("\x01\x00\x02", 3))) ==
        "m.npy: bool item 2 holds byte value 2; a bool is 0 or 1");
}

TEST_CASE("npy_read: npy_owned_array::size() is the product of the shape") {
  ism::npy_owned_array a;
  CHECK(a.size() == 1);
  a.shape = {3, 0, 5};
  CHECK(a.size() == 0);
  a.shape = {std::int64_t{1} << 32, std::int64_t{1} << 31};
  CHECK_THROWS_AS(a.size(), ism::overflow_error);
}

// ---------------------------------------------------------------------------
// Inflate
// ---------------------------------------------------------------------------

TEST_CASE("npy_read: inflate decodes stored, fixed and dynamic Huffman blocks") {
  // Stored: a non-final empty block, then a final one with "hello".
  CHECK(inflate_text(std::string("\x00\x00\x00\xff\xff\x01\x05\x00\xfa\xffhello", 15), 5) ==
        "hello");

  // Fixed: "abc", then a match of length 4 at distance 3 (overlapping its own
  // output), then the end of the block.
  deflate_bits fixed;
  fixed.field(1, 1).field(1, 2).fixed('a').fixed('b').fixed('c');
  fixed.fixed(258).code(2, 5);  // length 4, distance symbol 2 = 3 bytes back
  fixed.fixed(256);
  CHECK(inflate_text(fixed.bytes, 7) == "abcabca");

  // Dynamic: zlib (level 9, raw deflate) of 3000 bytes whose byte i is
  // 'a' + (7 i^2 + i / 13) mod 23, made with Python's zlib.
  const std::string dynamic = from_hex(
      "edd0c90103210800c05a41c403f164b1fd94918f53c240e6fd8deb6d8a595b7a61fa49054bb2bb10fa5677dd1dc3"
      "86af"
      "0849f9605398360086cd40275c5156b9c1222d5f212cdf913f8236f2508c9ef8dc4df180a57c39f459e6a004257f"
      "68cc"
      "865e2ae638b7ec1973907ac97376ba55a8a66d6a3b556a820cb50263d328d97cb895c65d43c2d642a63e92d6ef4e"
      "70e9"
      "798e5848952acf5546bbb8f1b659f74ac263b0a47564752423ec4bce299ad7ca5a8eb53d899d691efdacf67a4e1d"
      "f279"
      "b71513bcaa57f5aa5ed5ab7a55afea55bdaa57f5afaa1f");
  REQUIRE(((static_cast<unsigned char>(dynamic[0]) >> 1) & 3) == 2);
  std::string expected;
  for (std::int64_t i = 0; i < 3000; ++i)
    expected += static_cast<char>('a' + (7 * i * i + i / 13) % 23);
  CHECK(inflate_text(dynamic, expected.size()) == expected);
  CHECK(contains(inflate_error(dynamic.substr(0, dynamic.size() - 3), expected.size()),
                 "d: deflate data ends in the middle of a block"));
}

TEST_CASE("npy_read: inflate refuses corrupt streams without reading or writing out of bounds") {
  CHECK(inflate_error("", 0) == "d: deflate data ends in the middle of a block");
  CHECK(inflate_error("\x07", 0) == "d: deflate data: block type 3, which is reserved");
  CHECK(inflate_error(std::string("\x01\x05\x00\x00\x00", 5), 5) ==
        "d: deflate data: a stored block's length 5 and its complement 0 disagree");
  CHECK(inflate_error(std::string("\x01\x05\x00\xfa\xffhe", 7), 5) ==
        "d: deflate data ends inside a stored block");
  CHECK(inflate_error(std::string("\x01\x05\x00\xfa\xffhello", 10), 4) ==
        "d: deflate data: it inflates to more than the 4 bytes the directory declares");
  CHECK(inflate_error(std::string("\x01\x05\x00\xfa\xffhello", 10), 6) ==
        "d: deflate data: it inflates to 5 bytes, but the directory declares 6");
  CHECK(inflate_error(std::string("\x01\x05\x00\xfa\xffhello!!", 12), 5) ==
        "d: deflate data: 2 bytes follow the end of the deflate stream");
  // A stream that never sets the final bit runs out of input.
  CHECK(inflate_error(std::string("\x00\x00\x00\xff\xff", 5), 0) ==
        "d: deflate data ends in the middle of a block");

  const auto fixed_block = [] { return deflate_bits().field(1, 1).field(1, 2); };
  CHECK(inflate_error(fixed_block().fixed(257).code(0, 5).fixed(256).bytes, 3) ==
        "d: deflate data: a match reaches 1 bytes back when only 0 bytes precede it");
  CHECK(inflate_error(fixed_block().fixed('x').fixed(286).bytes + std::string(4, '\0'), 3) ==
        "d: deflate data: length symbol 286, which is not a valid length");
  CHECK(inflate_error(fixed_block().fixed('x').fixed(258).code(30, 5).bytes + std::string(4, '\0'),
                      5) == "d: deflate data: a bit pattern that is no code of its block");
  CHECK(inflate_error(fixed_block().fixed('x').fixed('y').bytes, 1) ==
        "d: deflate data: it inflates to more than the 1 bytes the directory declares");
  CHECK(inflate_text(fixed_block().fixed('x').fixed(257).code(0, 5).fixed(256).bytes, 4) == "xxxx");
}

TEST_CASE("npy_read: inflate checks dynamic block headers before using their codes") {
  // A dynamic block header whose code length code gives `lengths[symbol]` bits
  // to each code length symbol.
  const auto dynamic = [](unsigned literals, unsigned distances,
                          std::map<unsigned, unsigned> lengths) {
    const auto& order = ism::detail::inflate_code_length_order;
    std::size_t count = 4;
    for (std::size_t i = 0; i < order.size(); ++i)
      if (lengths.count(order[i]) != 0) count = std::max(count, i + 1);
    deflate_bits b;
    b.field(1, 1)
        .field(2, 2)
        .field(literals - 257, 5)
        .field(distances - 1, 5)
        .field(static_cast<std::uint32_t>(count - 4), 4);
    for (std::size_t i = 0; i < count; ++i)
      b.field(lengths.count(order[i]) ? lengths[order[i]] : 0, 3);
    return b;
  };
  CHECK(inflate_error(dynamic(287, 1, {{0, 1}}).bytes, 0) ==
        "d: deflate data: a dynamic block declares 287 literal/length and 1 distance codes (at "
        "most 286 and 30)");
  CHECK(inflate_error(dynamic(257, 1, {{16, 1}, {17, 1}, {18, 1}}).bytes, 0) ==
        "d: deflate data: the code length code is over-subscribed");
  CHECK(inflate_error(dynamic(257, 1, {{16, 2}}).bytes, 0) ==
        "d: deflate data: the code length code is incomplete");
  // With {16, 17} of one bit each, bit 0 is symbol 16: "repeat the previous".
  CHECK(inflate_error(dynamic(257, 1, {{16, 1}, {17, 1}}).field(0, 1).bytes, 0) ==
        "d: deflate data: a dynamic block repeats a code length before giving one");
  // With {17, 18} of one bit each, bit 1 is symbol 18: 11 + 7 extra bits zeros.
  CHECK(inflate_error(dynamic(257, 1, {{17, 1}, {18, 1}})
                          .code(1, 1)
                          .field(127, 7)
                          .code(1, 1)
                          .field(127, 7)
                          .bytes,
                      0) ==
        "d: deflate data: a dynamic block's code lengths run past the 258 codes it declares");
  CHECK(inflate_error(dynamic(257, 1, {{17, 1}, {18, 1}})
                          .code(1, 1)
                          .field(127, 7)
                          .code(1, 1)
                          .field(109, 7)
                          .bytes,
                      0) == "d: deflate data: a dynamic block has no end-of-block code");

  // {18: 1 bit, 0 and `one`: 2 bits} gives literal 0 and the end-of-block code
  // `one` bits each and no distance code; one bit each is a complete code.
  const auto two_codes = [&](unsigned one) {
    return dynamic(257, 1, {{18, 1}, {0, 2}, {one, 2}})
        .code(3, 2)  // literal 0
        .code(0, 1)
        .field(127, 7)  // 138 zeros
        .code(0, 1)
        .field(106, 7)  // 117 zeros
        .code(3, 2)     // end of block
        .code(2, 2);    // no distance code
  };
  CHECK(inflate_text(two_codes(1).code(0, 1).code(0, 1).code(1, 1).bytes, 2) ==
        std::string(2, '\0'));
  CHECK(inflate_error(two_codes(2).bytes, 0) ==
        "d: deflate data: the literal/length code is incomplete");
  // A match with no distance code is a bit pattern that is no code.
  CHECK(inflate_error(two_codes(1).code(0, 1).bytes + std::string(4, '\0'), 1) ==
        "d: deflate data: it inflates to more than the 1 bytes the directory declares");
}

// ---------------------------------------------------------------------------
// .npz archives
// ---------------------------------------------------------------------------

namespace {

std::string stored_deflate(const std::string& content) {
  REQUIRE(content.size() < 0x10000);
  std::string out("\x01", 1);
  put(out, static_cast<std::uint16_t>(content.size()));
  put(out, static_cast<std::uint16_t>(~content.size()));
  return out + content;
}

std::string crc_hex(std::string_view bytes) {
  std::ostringstream os;
  os << "0x" << std::hex;
  os.width(8);
  os.fill('0');
  os << npy_reader::crc32(bytes);
  return os.str();
}

}  // namespace

TEST_CASE("npy_read: .npz with ZIP64 fields, data descriptors, comments and deflated members") {
  const std::vector<std::int64_t> lo{1, 2};
  const std::vector<std::int32_t> hi{3};
  const std::vector<member_spec> members{stored_member("lo.npy", npy_of(lo, {2})),
                                         stored_member("hi.npy", npy_of(hi, {}))};
  for (const zip_style style : {zip_style::plain, zip_style::zip64, zip_style::descriptor}) {
    CAPTURE(static_cast<int>(style));
    const auto arrays = read_npz_text(zip_of(members, style));
    REQUIRE(arrays.size() == 2);
    CHECK(arrays[0].name == "lo");
    CHECK(values_of<std::int64_t>(arrays[0].array) == lo);
    CHECK(arrays[1].name == "hi");
    CHECK(arrays[1].array.shape.empty());
    CHECK(values_of<std::int32_t>(arrays[1].array) == hi);
  }
  CHECK(read_npz_text(zip_of(members, zip_style::plain, "an archive comment")).size() == 2);

  const std::string npy = npy_of(hi, {1});
  const auto deflated = read_npz_text(zip_of({member_of("d.npy", stored_deflate(npy), npy, 8)}));
  REQUIRE(deflated.size() == 1);
  CHECK(values_of<std::int32_t>(deflated[0].array) == hi);
  // Names may hold anything numpy.savez accepts as a key.
  CHECK(read_npz_text(zip_of({stored_member("a/b c.npy", npy)}))[0].name == "a/b c");
}

TEST_CASE("npy_read: each malformed .npz is refused, naming the member and the problem") {
  const std::string npy = npy_of(std::vector<std::int32_t>{1, 2}, {2});
  const std::string one = zip_of({stored_member("x.npy", npy)});
  const std::string two = zip_of({stored_member("x.npy", npy), stored_member("y.npy", npy)});
  const std::size_t end_at = two.size() - end_record_bytes;
  const std::size_t directory_at = two.find("PK\x01\x02");
  REQUIRE(directory_at != std::string::npos);

  CHECK(read_npz_error("") == "a.npz: not a ZIP archive: 0 bytes are too few for its end record");
  CHECK(read_npz_error("PK\x03\x04" + std::string(40, '\0')) ==
        "a.npz: no ZIP end of central directory record (the archive is truncated, or not a ZIP)");
  CHECK(contains(read_npz_error(one.substr(0, one.size() - 1)),
                 "no ZIP end of central directory record"));

  member_spec bad_crc = stored_member("x.npy", npy);
  bad_crc.crc = 0x12345678;
  CHECK(read_npz_error(zip_of({bad_crc})) ==
        "a.npz member 'x.npy': CRC-32 mismatch: the directory says 0x12345678, the data gives " +
            crc_hex(npy));
  member_spec bzip2 = stored_member("x.npy", npy);
  bzip2.method = 12;
  CHECK(read_npz_error(zip_of({bzip2})) ==
        "a.npz member 'x.npy': unsupported compression method 12 (bzip2) (ism reads stored and "
        "deflate members)");
  member_spec encrypted = stored_member("x.npy", npy);
  encrypted.flags = 1;
  CHECK(read_npz_error(zip_of({encrypted})) == "a.npz member 'x.npy': the member is encrypted");
  CHECK(read_npz_error(zip_of({stored_member("x.npy", npy), stored_member("x.npy", npy)})) ==
        "a.npz member 'x.npy': duplicate member name");
  CHECK(
      read_npz_error(zip_of({stored_member("notes.txt", "hi")})) ==
      "a.npz member 'notes.txt': not an .npy member, so numpy.load would not read it as an array");
  CHECK(read_npz_error(
            zip_of({stored_member("x\n\xff.npy", npy), stored_member("x\n\xff.npy", npy)})) ==
        "a.npz member 'x\\x0a\\xff.npy': duplicate member name");
  member_spec renamed = stored_member("x.npy", npy);
  renamed.local_name = "y.npy";
  CHECK(read_npz_error(zip_of({renamed})) ==
        "a.npz member 'x.npy': the local header names it 'y.npy'");
  member_spec remethod = stored_member("x.npy", npy);
  remethod.local_method = 8;
  CHECK(
      read_npz_error(zip_of({remethod})) ==
      "a.npz member 'x.npy': the local header gives compression method 8, the central directory 0");
  member_spec resized = stored_member("x.npy", npy);
  resized.declared_size = npy.size() + 1;
  CHECK(read_npz_error(zip_of({resized})) == "a.npz member 'x.npy': a stored member of " +
                                                 std::to_string(npy.size()) + " bytes declares " +
                                                 std::to_string(npy.size() + 1) + " uncompressed");
  CHECK(read_npz_error(zip_of({stored_member("x.npy", "garbage")})) ==
        "a.npz member 'x.npy': not a .npy file: bad magic 'garbag' (a .npy file starts with "
        "'\\x93NUMPY')");
  CHECK(read_npz_error(zip_of({stored_member("x.npy", npy.substr(0, npy.size() - 1))})) ==
        "a.npz member 'x.npy': data shorter than the shape needs: 7 bytes follow the header, but "
        "shape (2,) of '<i4' needs 8");

  // Sizes are refused from the directory, before anything is allocated.
  CHECK(read_npz_error(two, npy.size() + 10) ==
        "a.npz member 'y.npy': the members decode to more than the limit of " +
            std::to_string(npy.size() + 10) + " bytes (this one declares " +
            std::to_string(npy.size()) + ")");
  member_spec bomb = member_of("x.npy", stored_deflate(npy), npy, 8);
  bomb.declared_size = std::uint64_t{1} << 40;
  CHECK(read_npz_error(zip_of({bomb}, zip_style::zip64), std::uint64_t{1} << 62) ==
        "a.npz member 'x.npy': a deflate member of " + std::to_string(npy.size() + 5) +
            " bytes cannot inflate to the 1099511627776 it declares");
  member_spec claims_more = member_of("x.npy", stored_deflate(npy), npy, 8);
  claims_more.declared_size = npy.size() + 100;
  CHECK(read_npz_error(zip_of({claims_more})) ==
        "a.npz member 'x.npy': deflate data: it inflates to " + std::to_string(npy.size()) +
            " bytes, but the directory declares " + std::to_string(npy.size() + 100));

  std::string moved = two;
  patch<std::uint32_t>(moved, end_at + 16, static_cast<std::uint32_t>(directory_at + 1));
  CHECK(read_npz_error(moved) ==
        "a.npz: the central directory (" + std::to_string(end_at - directory_at) +
            " bytes at byte " + std::to_string(directory_at + 1) +
            ") does not end where the end record begins (byte " + std::to_string(end_at) + ")");
  std::string crowded = two;
  patch<std::uint16_t>(crowded, end_at + 8, 100);
  patch<std::uint16_t>(crowded, end_at + 10, 100);
  CHECK(read_npz_error(crowded) == "a.npz: 100 entries cannot fit a central directory of " +
                                       std::to_string(end_at - directory_at) + " bytes");
  std::string short_count = two;
  patch<std::uint16_t>(short_count, end_at + 8, 1);
  patch<std::uint16_t>(short_count, end_at + 10, 1);
  CHECK(read_npz_error(short_count) == "a.npz: the central directory holds " +
                                           std::to_string((end_at - directory_at) / 2) +
                                           " bytes past its 1 entries");
  std::string spanning = two;
  patch<std::uint16_t>(spanning, end_at + 4, 1);
  CHECK(read_npz_error(spanning) ==
        "a.npz: the ZIP archive spans several disks, which ism does not read");
  std::string bad_central = two;
  patch<std::uint32_t>(bad_central, directory_at, 0);
  CHECK(read_npz_error(bad_central) == "a.npz: central directory entry 0 at byte " +
                                           std::to_string(directory_at) +
                                           " has the wrong signature");
  std::string bad_local = two;
  patch<std::uint32_t>(bad_local, 0, 0);
  CHECK(read_npz_error(bad_local) == "a.npz member 'x.npy': no local header signature at byte 0");
  std::string long_extra = two;
  patch<std::uint16_t>(long_extra, 28, 0x1000);
  CHECK(read_npz_error(long_extra) ==
        "a.npz member 'x.npy': the member data (" + std::to_string(npy.size()) + " bytes at byte " +
            std::to_string(30 + 5 + 0x1000) + ") runs past byte " + std::to_string(directory_at));

  const std::string wide = zip_of({stored_member("x.npy", npy)}, zip_style::zip64);
  const std::size_t wide_directory = wide.find("PK\x01\x02");
  const std::size_t wide_extra = wide_directory + 46 + 5;
  std::string no_zip64 = wide;
  patch<std::uint16_t>(no_zip64, wide_extra, 0x7075);
  CHECK(read_npz_error(no_zip64) ==
        "a.npz: entry 'x.npy' marks sizes or its offset as ZIP64 but has no ZIP64 extra field");
  std::string short_zip64 = wide;
  patch<std::uint16_t>(short_zip64, wide_extra + 2, 8);
  CHECK(read_npz_error(short_zip64) ==
        "a.npz: the ZIP64 extra field of entry 'x.npy' holds 8 bytes, fewer than the 24 its marked "
        "fields need");
  std::string lost_record = wide;
  const std::size_t locator_at = wide.size() - end_record_bytes - 20;
  patch<std::uint64_t>(lost_record, locator_at + 8, 0);
  CHECK(read_npz_error(lost_record) ==
        "a.npz: the ZIP64 end of central directory record at byte 0 "
        "has the wrong signature");
  patch<std::uint64_t>(lost_record, locator_at + 8, locator_at - 10);
  CHECK(read_npz_error(lost_record) ==
        "a.npz: the ZIP64 end of central directory record (56 bytes at byte " +
            std::to_string(locator_at - 10) + ") runs past byte " + std::to_string(locator_at));
}

// ---------------------------------------------------------------------------
// Files written by numpy and zlib
// ---------------------------------------------------------------------------

TEST_CASE("npy_read: numpy.save files of each dtype, scalar, empty, big-endian, Fortran order") {
  const std::optional<fs::path>& dir = numpy_files();
  if (!dir) {
    MESSAGE("no python3 with numpy; skipping the files numpy writes");
    return;
  }
  const auto read = [&](const char* name) { return only_array(*dir / name); };

  const ism::npy_owned_array flags = read("bool.npy");
  CHECK(flags.dtype == ism::npy_dtype::boolean);
  CHECK(values_of<std::uint8_t>(flags) == std::vector<std::uint8_t>{1, 0, 1});
  const ism::npy_owned_array u1 = read("u1.npy");
  CHECK(u1.dtype == ism::npy_dtype::uint8);
  CHECK(u1.shape == std::vector<ism::index_t>{2, 3});
  CHECK(values_of<std::uint8_t>(u1) == std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5});
  const ism::npy_owned_array i4 = read("i4.npy");
  CHECK(i4.shape == std::vector<ism::index_t>{3, 2});
  CHECK(values_of<std::int32_t>(i4) == std::vector<std::int32_t>{-3, -2, -1, 0, 1, 2});
  const std::vector<std::int64_t> i8{-(1LL << 40), 0, (1LL << 40) + 1};
  CHECK(values_of<std::int64_t>(read("i8.npy")) == i8);
  const ism::npy_owned_array f2 = read("f2.npy");
  CHECK(f2.dtype == ism::npy_dtype::float16);
  CHECK(values_of<std::uint16_t>(f2) == std::vector<std::uint16_t>{0x3E00, 0xC000, 0x7C00});
  CHECK(values_of<float>(read("f4.npy")) == std::vector<float>{0.25f, -1.0f, 3.5f});
  const ism::npy_owned_array u2 = read("u2.npy");
  CHECK(u2.dtype == ism::npy_dtype::bfloat16);
  CHECK(values_of<std::uint16_t>(u2) == std::vector<std::uint16_t>{0x3F80, 0xC000});
  const ism::npy_owned_array scalar = read("scalar.npy");
  CHECK(scalar.shape.empty());
  CHECK(values_of<std::int32_t>(scalar) == std::vector<std::int32_t>{7});
  const ism::npy_owned_array empty = read("empty.npy");
  CHECK(empty.shape == std::vector<ism::index_t>{0, 4});
  CHECK(empty.data.empty());

  CHECK(read_whole(*dir / "be_i4.npy").find("'descr': '>i4'") != std::string::npos);
  CHECK(values_of<std::int32_t>(read("be_i4.npy")) == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5});
  CHECK(values_of<std::int64_t>(read("be_i8.npy")) == std::vector<std::int64_t>{1, -1, 1LL << 40});
  CHECK(values_of<std::uint16_t>(read("be_f2.npy")) == std::vector<std::uint16_t>{0x3E00, 0xC000});
  CHECK(values_of<float>(read("be_f4.npy")) == std::vector<float>{0.25f, -1.0f});
  const ism::npy_owned_array be_u2 = read("be_u2.npy");
  CHECK(be_u2.dtype == ism::npy_dtype::bfloat16);
  CHECK(values_of<std::uint16_t>(be_u2) == std::vector<std::uint16_t>{0x3F80, 0x1234});

  CHECK(read_whole(*dir / "fortran.npy").find("'fortran_order': True") != std::string::npos);
  const ism::npy_owned_array fortran = read("fortran.npy");
  CHECK(fortran.shape == std::vector<ism::index_t>{2, 3, 4});
  std::vector<std::int32_t> count(24);
  for (std::size_t i = 0; i < count.size(); ++i) count[i] = static_cast<std::int32_t>(i);
  CHECK(values_of<std::int32_t>(fortran) == count);
  const ism::npy_owned_array transposed = read("transposed.npy");
  CHECK(transposed.shape == std::vector<ism::index_t>{3, 2});
  CHECK(values_of<std::int64_t>(transposed) == std::vector<std::int64_t>{0, 3, 1, 4, 2, 5});

  for (const char* name : {"v2.npy", "v3.npy"}) {
    CAPTURE(name);
    CHECK(values_of<std::int32_t>(read(name)) == std::vector<std::int32_t>{0, 1, 2, 3, 4});
  }
  CHECK(contains(error_message<ism::io_error>([&] { read("c8.npy"); }),
                 "c8.npy: '<c8' is not a dtype ism reads"));
  const ism::npy_owned_array doubles = read("f8.npy");
  CHECK(doubles.dtype == ism::npy_dtype::float64);
  CHECK(doubles.shape == std::vector<ism::index_t>{2});
  CHECK(doubles.data == std::vector<std::byte>(16, std::byte{0}));
}

TEST_CASE("npy_read: numpy.savez, streamed archives and numpy.savez_compressed") {
  const std::optional<fs::path>& dir = numpy_files();
  if (!dir) {
    MESSAGE("no python3 with numpy; skipping the archives numpy writes");
    return;
  }
  const auto read = [&](const char* name) {
    return ism::read_array_file(*dir / name, generous_limit);
  };
  const auto local_header = [&](const char* name) { return read_whole(*dir / name).substr(0, 30); };
  const auto u16_at = [](const std::string& bytes, std::size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(bytes[at]) |
                                 (static_cast<unsigned char>(bytes[at + 1]) << 8));
  };

  // numpy.savez opens members with force_zip64: each local header carries a
  // ZIP64 extra field (id 1) after the name.
  const std::string plain_file = read_whole(*dir / "plain.npz");
  CHECK(u16_at(plain_file, 28) == 20);
  CHECK(u16_at(plain_file, 30 + u16_at(plain_file, 26)) == 1);
  const auto plain = read("plain.npz");
  REQUIRE(plain.size() == 3);
  CHECK(plain[0].name == "lo");
  CHECK(values_of<std::int64_t>(plain[0].array) == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(plain[1].name == "hi");
  CHECK(values_of<std::int64_t>(plain[1].array) == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(plain[2].name == "mask");
  CHECK(plain[2].array.shape == std::vector<ism::index_t>{2, 2});
  CHECK(values_of<std::uint8_t>(plain[2].array) == std::vector<std::uint8_t>{1, 0, 0, 1});
  const auto positional = read("positional.npz");
  REQUIRE(positional.size() == 2);
  CHECK(positional[0].name == "arr_0");
  CHECK(positional[1].name == "arr_1");
  CHECK(values_of<std::int32_t>(positional[1].array) == std::vector<std::int32_t>{0, 1, 2});
  CHECK(read("nothing.npz").empty());

  // A writer that cannot seek puts CRC and sizes in data descriptors (flag bit 3).
  CHECK((u16_at(local_header("streamed.npz"), 6) & 8) != 0);
  const auto streamed = read("streamed.npz");
  REQUIRE(streamed.size() == 2);
  CHECK(values_of<std::int64_t>(streamed[1].array) == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK((u16_at(local_header("streamed_compressed.npz"), 6) & 8) != 0);
  const auto streamed_compressed = read("streamed_compressed.npz");
  REQUIRE(streamed_compressed.size() == 1);
  const auto small_ramp = values_of<std::int32_t>(streamed_compressed[0].array);
  REQUIRE(small_ramp.size() == 100000);
  for (std::size_t i = 0; i < small_ramp.size(); ++i)
    if (small_ramp[i] != static_cast<std::int32_t>(i % 1000))
      FAIL("item " << i << " is " << small_ramp[i]);

  std::vector<std::int32_t> big(300000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = hashed(static_cast<std::int64_t>(i));
  // The first member starts with a dynamic Huffman block (BTYPE 2).
  const std::string compressed_file = read_whole(*dir / "compressed.npz");
  CHECK(u16_at(compressed_file, 8) == 8);
  const std::size_t data_at = 30 + u16_at(compressed_file, 26) + u16_at(compressed_file, 28);
  CHECK(((static_cast<unsigned char>(compressed_file[data_at]) >> 1) & 3) == 2);
  const auto compressed = read("compressed.npz");
  REQUIRE(compressed.size() == 5);
  CHECK(compressed[0].name == "big");
  CHECK(values_of<std::int32_t>(compressed[0].array) == big);
  CHECK(compressed[1].name == "mask");
  const auto mask = values_of<std::uint8_t>(compressed[1].array);
  REQUIRE(mask.size() == 100000);
  for (std::size_t i = 0; i < mask.size(); ++i)
    if (mask[i] != (i % 7 < 3 ? 1 : 0)) FAIL("mask item " << i << " is " << int{mask[i]});
  const auto ramp = values_of<float>(compressed[2].array);
  REQUIRE(ramp.size() == 50000);
  for (std::size_t i = 0; i < ramp.size(); ++i)
    if (ramp[i] != static_cast<float>(i % 997) / 8) FAIL("ramp item " << i << " is " << ramp[i]);
  CHECK(values_of<std::int32_t>(compressed[3].array) == std::vector<std::int32_t>{0, 1, 2});
  CHECK(compressed[4].array.shape.empty());
  CHECK(values_of<float>(compressed[4].array) == std::vector<float>{2.5f});

  for (const char* name : {"level0.npz", "level1.npz", "level9.npz"}) {
    CAPTURE(name);
    const auto level = read(name);
    REQUIRE(level.size() == 1);
    CHECK(values_of<std::int32_t>(level[0].array) == big);
  }

  // The decoded-size limit holds for what numpy writes, too.
  const std::uint64_t decoded = 300000 * 4;
  CHECK(contains(error_message<ism::io_error>([&] { ism::read_array_file(*dir / "level9.npz", decoded); }),
                 "level9.npz member 'big.npy': the members decode to more than the limit of " +
                     std::to_string(decoded) + " bytes"));
}

TEST_CASE("npy_read: raw deflate streams zlib writes, every strategy and level") {
  const std::optional<fs::path>& dir = numpy_files();
  if (!dir) {
    MESSAGE("no python3 with numpy; skipping the streams zlib writes");
    return;
  }
  const std::string content = read_whole(*dir / "content.bin");
  REQUIRE(content.size() >= 200000);
  for (const char* strategy : {"default", "filtered", "huffman", "rle", "fixed"})
    for (const int level : {0, 1, 6, 9}) {
      const std::string name =
          std::string("deflate_") + strategy + "_" + std::to_string(level) + ".bin";
      CAPTURE(name);
      const std::string deflated = read_whole(*dir / name);
      REQUIRE(!deflated.empty());
      CHECK(inflate_text(deflated, content.size()) == content);
    }
}
