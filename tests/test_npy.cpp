// .npy / .npz writing (include/ism/npy.hpp), checked byte by byte with the
// independent reader in npy_reader.hpp.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ism/npy.hpp>
#include <limits>
#include <span>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "npy_reader.hpp"

namespace {

template <class T>
std::string npy_of(const std::vector<T>& values, std::vector<ism::index_t> shape) {
  std::ostringstream os;
  ism::write_npy(os, ism::make_npy_array(std::span<const T>(values), std::move(shape)));
  return os.str();
}

// A stream buffer that accepts `capacity` bytes, then fails every write.
class full_buffer : public std::streambuf {
 public:
  explicit full_buffer(std::size_t capacity) : capacity_(capacity) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    if (written_ == capacity_) return traits_type::eof();
    ++written_;
    return c;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    const auto room = static_cast<std::streamsize>(capacity_ - written_);
    const std::streamsize taken = n < room ? n : room;
    written_ += static_cast<std::size_t>(taken);
    return taken;
  }

 private:
  std::size_t capacity_;
  std::size_t written_ = 0;
};

std::uint16_t bits16(const std::string& data, std::size_t item) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(data[2 * item]) |
                                    (static_cast<unsigned char>(data[2 * item + 1]) << 8));
}

}  // namespace

TEST_CASE("npy header: magic, version, 64-byte alignment and the exact dict text") {
  const std::vector<float> values(12, 1.0f);
  const std::string file = npy_of(values, {3, 4});
  CHECK(file.substr(0, 6) == std::string("\x93NUMPY", 6));
  CHECK(file[6] == '\x01');
  CHECK(file[7] == '\x00');
  const std::size_t header_length =
      static_cast<unsigned char>(file[8]) | (static_cast<unsigned char>(file[9]) << 8);
  CHECK((10 + header_length) % 64 == 0);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  CHECK(file.substr(10, dict.size()) == dict);
  CHECK(file[10 + header_length - 1] == '\n');
  CHECK(file.find_first_not_of(' ', 10 + dict.size()) == 10 + header_length - 1);
  CHECK(file.size() == 10 + header_length + 12 * 4);

  const npy_reader::array a = npy_reader::parse_npy(file);
  CHECK(a.descr == "<f4");
  CHECK(a.shape == std::vector<std::int64_t>{3, 4});
  CHECK(a.values<float>() == values);
}

TEST_CASE("npy header: one-dimensional and scalar shapes are written as Python tuples") {
  CHECK(ism::npy_header(ism::npy_dtype::int64, std::vector<ism::index_t>{5})
            .find("'shape': (5,), }") != std::string::npos);
  CHECK(
      ism::npy_header(ism::npy_dtype::int64, std::vector<ism::index_t>{}).find("'shape': (), }") !=
      std::string::npos);
  const std::vector<std::int32_t> one{7};
  const npy_reader::array scalar = npy_reader::parse_npy(npy_of(one, {}));
  CHECK(scalar.shape.empty());
  CHECK(scalar.values<std::int32_t>() == one);
  const npy_reader::array empty =
      npy_reader::parse_npy(npy_of(std::vector<std::int32_t>{}, {0, 3}));
  CHECK(empty.shape == std::vector<std::int64_t>{0, 3});
  CHECK(empty.data.empty());
}

TEST_CASE("npy header: every header length is a multiple of 64, whatever the shape") {
  // Each extra dimension lengthens the dict by 3 characters, the last extent's
  // digits by up to 18: together they hit every padding length.
  ism::index_t last = 1;
  for (ism::index_t dims = 0; dims < 60; ++dims) {
    std::vector<ism::index_t> shape(static_cast<std::size_t>(dims), 1);
    if (!shape.empty()) shape.back() = last;
    last = last >= 100'000'000'000'000'000 ? 1 : last * 10;
    const std::string header = ism::npy_header(ism::npy_dtype::float32, shape);
    CHECK(header.size() % 64 == 0);
    CHECK(header.back() == '\n');
  }
}

TEST_CASE("npy: each dtype has its descr, item size and little-endian bytes") {
  SUBCASE("bool") {
    const bool values[] = {true, false, true};
    std::ostringstream os;
    ism::write_npy(os, ism::make_npy_array(std::span<const bool>(values), {3}));
    const npy_reader::array a = npy_reader::parse_npy(os.str());
    CHECK(a.descr == "|b1");
    CHECK(a.data == std::string("\x01\x00\x01", 3));
  }
  SUBCASE("uint8") {
    const npy_reader::array a =
        npy_reader::parse_npy(npy_of(std::vector<std::uint8_t>{0, 255}, {2}));
    CHECK(a.descr == "|u1");
    CHECK(a.data == std::string("\x00\xff", 2));
  }
  SUBCASE("int32") {
    const npy_reader::array a =
        npy_reader::parse_npy(npy_of(std::vector<std::int32_t>{-2, 0x01020304}, {2}));
    CHECK(a.descr == "<i4");
    CHECK(a.data == std::string("\xfe\xff\xff\xff\x04\x03\x02\x01", 8));
  }
  SUBCASE("int64") {
    const npy_reader::array a =
        npy_reader::parse_npy(npy_of(std::vector<std::int64_t>{1, -1}, {1, 2}));
    CHECK(a.descr == "<i8");
    CHECK(a.shape == std::vector<std::int64_t>{1, 2});
    CHECK(a.values<std::int64_t>() == std::vector<std::int64_t>{1, -1});
  }
  SUBCASE("float32") {
    const float inf = std::numeric_limits<float>::infinity();
    const npy_reader::array a = npy_reader::parse_npy(npy_of(std::vector<float>{0.0f, -inf}, {2}));
    CHECK(a.descr == "<f4");
    CHECK(a.data == std::string("\x00\x00\x00\x00\x00\x00\x80\xff", 8));
  }
  SUBCASE("float16 from Eigen::half") {
    const npy_reader::array a = npy_reader::parse_npy(
        npy_of(std::vector<Eigen::half>{Eigen::half(1.5f),
                                        Eigen::half(-std::numeric_limits<float>::infinity())},
               {2}));
    CHECK(a.descr == "<f2");
    CHECK(bits16(a.data, 0) == 0x3E00);
    CHECK(bits16(a.data, 1) == 0xFC00);
  }
  SUBCASE("bfloat16 is raw uint16 bits") {
    const npy_reader::array a = npy_reader::parse_npy(npy_of(
        std::vector<Eigen::bfloat16>{Eigen::bfloat16(1.5f),
                                     Eigen::bfloat16(-std::numeric_limits<float>::infinity())},
        {2}));
    CHECK(a.descr == "<u2");
    CHECK(bits16(a.data, 0) == 0x3FC0);
    CHECK(bits16(a.data, 1) == 0xFF80);
  }
  CHECK(ism::npy_item_size(ism::npy_dtype::int64) == 8);
  CHECK(ism::npy_descr(ism::npy_dtype::bfloat16) == "<u2");
}

TEST_CASE("npy_bytes matches the bytes written, for every dtype and several shapes") {
  const std::vector<std::vector<ism::index_t>> shapes{{},     {0},       {1},     {7},
                                                      {3, 5}, {2, 3, 4}, {64, 64}};
  for (const auto& shape : shapes) {
    ism::index_t count = 1;
    for (const ism::index_t e : shape) count *= e;
    const auto n = static_cast<std::size_t>(count);
    CHECK(ism::npy_bytes(shape, ism::npy_dtype::boolean) ==
          npy_of(std::vector<std::uint8_t>(n), shape).size());
    CHECK(ism::npy_bytes(shape, ism::npy_dtype::int32) ==
          npy_of(std::vector<std::int32_t>(n), shape).size());
    CHECK(ism::npy_bytes(shape, ism::npy_dtype::int64) ==
          npy_of(std::vector<std::int64_t>(n), shape).size());
    CHECK(ism::npy_bytes(shape, ism::npy_dtype::float16) ==
          npy_of(std::vector<Eigen::half>(n), shape).size());
    CHECK(ism::npy_bytes(shape, ism::npy_dtype::float32) ==
          npy_of(std::vector<float>(n), shape).size());
  }
  // The largest dense mask of a valid layout still fits 64 bits, exactly.
  constexpr ism::index_t n = std::numeric_limits<std::int32_t>::max();
  const std::vector<ism::index_t> square{n, n};
  CHECK(ism::npy_bytes(square, ism::npy_dtype::float32) ==
        128 + static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(n) * 4);
  CHECK_THROWS_AS(ism::npy_bytes(std::vector<ism::index_t>{n, n, n}, ism::npy_dtype::float32),
                  ism::shape_error);
  CHECK_THROWS_AS(ism::npy_bytes(std::vector<ism::index_t>{-1}, ism::npy_dtype::float32),
                  ism::shape_error);
}

TEST_CASE("npy_writer streams rows and checks the item count and type") {
  const std::vector<ism::index_t> shape{4, 3};
  std::ostringstream os;
  ism::npy_writer writer(os, ism::npy_dtype::int32, shape);
  CHECK(writer.remaining() == 12);
  const std::vector<std::int32_t> rows{0, 1, 2, 3, 4, 5};
  writer.write(std::span<const std::int32_t>(rows));
  CHECK_THROWS_AS(writer.finish(), ism::shape_error);
  CHECK_THROWS_AS(writer.write(std::span<const float>(std::vector<float>(6))), ism::argument_error);
  CHECK_THROWS_AS(writer.write_raw(std::as_bytes(std::span<const std::int32_t>(rows)).first(5)),
                  ism::shape_error);
  writer.write(std::span<const std::int32_t>(rows));
  CHECK(writer.remaining() == 0);
  CHECK_THROWS_AS(writer.write(std::span<const std::int32_t>(rows).first(1)), ism::shape_error);
  writer.finish();
  const npy_reader::array a = npy_reader::parse_npy(os.str());
  CHECK(a.shape == std::vector<std::int64_t>{4, 3});
  CHECK(a.values<std::int32_t>() == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
}

TEST_CASE("write_npy refuses data that does not match the shape, before writing") {
  const std::vector<float> values(5);
  std::ostringstream os;
  CHECK_THROWS_AS(ism::write_npy(os, ism::make_npy_array(std::span<const float>(values), {2, 3})),
                  ism::shape_error);
  CHECK(os.str().empty());
}

TEST_CASE("crc32_update gives the standard CRC-32 check value") {
  const std::string check = "123456789";
  const auto bytes = std::as_bytes(std::span(check));
  CHECK(ism::crc32_update(0, bytes) == 0xCBF43926u);
  CHECK(ism::crc32_update(ism::crc32_update(0, bytes.first(4)), bytes.subspan(4)) == 0xCBF43926u);
  CHECK(npy_reader::crc32(check) == 0xCBF43926u);
}

TEST_CASE("npz: stored members lo.npy and hi.npy with correct CRCs and an exact size") {
  const std::vector<std::int64_t> lo{0, 0, 0, 3, 3};
  const std::vector<std::int64_t> hi{1, 1, 2, 3, 4};
  const std::array<ism::named_array, 2> arrays{
      ism::named_array{"lo", ism::make_npy_array(std::span<const std::int64_t>(lo), {5})},
      ism::named_array{"hi", ism::make_npy_array(std::span<const std::int64_t>(hi), {5})}};
  std::ostringstream os;
  ism::write_npz(os, arrays);
  const std::string file = os.str();
  CHECK(ism::npz_bytes(arrays) == file.size());

  const std::vector<npy_reader::zip_member> members = npy_reader::parse_zip(file);
  REQUIRE(members.size() == 2);
  CHECK(members[0].name == "lo.npy");
  CHECK(members[1].name == "hi.npy");
  const npy_reader::array a = npy_reader::parse_npy(members[0].data);
  const npy_reader::array b = npy_reader::parse_npy(members[1].data);
  CHECK(a.descr == "<i8");
  CHECK(a.shape == std::vector<std::int64_t>{5});
  CHECK(a.values<std::int64_t>() == lo);
  CHECK(b.values<std::int64_t>() == hi);

  // A flipped data byte must break the CRC check, or the check proves nothing.
  std::string corrupt = file;
  corrupt[members[0].name.size() + 30 + 128] ^= 1;
  CHECK_THROWS_AS(npy_reader::parse_zip(corrupt), std::runtime_error);

  // Python's zipfile, where available, is a second opinion on the archive.
  if (std::system("python3 -c 'import zipfile' > /dev/null 2>&1") == 0) {
    const auto path = std::filesystem::temp_directory_path() / "ism_test_npy_zipfile.npz";
    std::ofstream(path, std::ios::binary) << file;
    const std::string command =
        "python3 -c \"import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
        "sys.exit(z.testzip() is not None or z.namelist() != ['lo.npy', 'hi.npy'])\" '" +
        path.string() + "'";
    CHECK(std::system(command.c_str()) == 0);
    std::filesystem::remove(path);
  }
}

TEST_CASE("npz: bad names and archives over 4 GiB are refused before writing") {
  const std::vector<std::int64_t> v{1};
  const ism::npy_array one = ism::make_npy_array(std::span<const std::int64_t>(v), {1});
  std::ostringstream os;
  const std::array<ism::named_array, 2> twins{ism::named_array{"a", one},
                                              ism::named_array{"a", one}};
  CHECK_THROWS_AS(ism::write_npz(os, twins), ism::argument_error);
  const std::array<ism::named_array, 1> path_like{ism::named_array{"dir/a", one}};
  CHECK_THROWS_AS(ism::write_npz(os, path_like), ism::argument_error);
  const std::array<ism::named_array, 1> unnamed{ism::named_array{"", one}};
  CHECK_THROWS_AS(ism::write_npz(os, unnamed), ism::argument_error);
  // Sized from the shape alone: 600M int64 items are 4.8 GB.
  const std::array<ism::named_array, 1> huge{
      ism::named_array{"lo", ism::npy_array{ism::npy_dtype::int64, {600'000'000}, {}}}};
  CHECK(ism::npz_bytes(huge) > 0xFFFFFFFFull);
  CHECK_THROWS_AS(ism::write_npz(os, huge), ism::argument_error);
  const std::array<ism::named_array, 1> short_data{ism::named_array{
      "lo", ism::npy_array{ism::npy_dtype::int64, {2}, std::as_bytes(std::span(v))}}};
  CHECK_THROWS_AS(ism::write_npz(os, short_data), ism::shape_error);
  CHECK(os.str().empty());
}

TEST_CASE("a failing stream raises io_error") {
  const std::vector<float> values(1000, 0.5f);
  const ism::npy_array array = ism::make_npy_array(std::span<const float>(values), {1000});
  SUBCASE("stream already failed") {
    std::ostringstream os;
    os.setstate(std::ios::badbit);
    CHECK_THROWS_AS(ism::write_npy(os, array), ism::io_error);
  }
  SUBCASE("device fills up in the header, then in the data") {
    for (const std::size_t capacity : {std::size_t{10}, std::size_t{500}}) {
      full_buffer buffer(capacity);
      std::ostream os(&buffer);
      CHECK_THROWS_AS(ism::write_npy(os, array), ism::io_error);
    }
  }
  SUBCASE("stream with exceptions enabled") {
    full_buffer buffer(200);
    std::ostream os(&buffer);
    os.exceptions(std::ios::badbit | std::ios::failbit);
    CHECK_THROWS_AS(ism::write_npy(os, array), ism::io_error);
  }
  SUBCASE("npz") {
    const std::array<ism::named_array, 1> arrays{ism::named_array{"x", array}};
    for (const std::size_t capacity : {std::size_t{20}, std::size_t{2000},
                                       static_cast<std::size_t>(ism::npz_bytes(arrays) - 1)}) {
      full_buffer buffer(capacity);
      std::ostream os(&buffer);
      CHECK_THROWS_AS(ism::write_npz(os, arrays), ism::io_error);
    }
  }
}

TEST_CASE("npy: a dtype value outside the enumeration is an argument_error") {
  const auto bad = static_cast<ism::npy_dtype>(9);
  const std::vector<ism::index_t> shape{2, 2};
  CHECK_THROWS_WITH_AS(ism::npy_item_size(bad), doctest::Contains("dtype value 9"),
                       ism::argument_error);
  CHECK_THROWS_WITH_AS(ism::npy_descr(bad), doctest::Contains("dtype value 9"),
                       ism::argument_error);
  CHECK_THROWS_AS(ism::npy_bytes(shape, bad), ism::argument_error);
}
