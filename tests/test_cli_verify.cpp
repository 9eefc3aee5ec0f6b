// `ism verify`, run as a separate process: every format's file from `ism
// export` verifies equal under each paradigm the format holds; the deliberate
// corruptions of corruptions.hpp, written back to a file, are found different
// (exit 1, with the count and the first pairs that brute force gives) or
// refused (exit 2, with the decoder's message); plus truncated and foreign
// files, the command's own errors, and a .npz that NumPy compressed.
#include <doctest/doctest.h>

#if defined(ISM_CLI_PATH) && !defined(_WIN32)

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ism/format_registry.hpp>
#include <ism/layout_text.hpp>
#include <ism/npy_read.hpp>
#include <ism/paradigm_registry.hpp>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "corruptions.hpp"
#include "error_messages.hpp"
#include "npy_reader.hpp"
#include "oracle.hpp"
#include "owned_arrays.hpp"
#include "random_layouts.hpp"

namespace {

namespace fs = std::filesystem;
using cli_runner::result;
using cli_runner::run;
using cli_runner::scratch;
using ism::index_t;
using owned_arrays::arrays;

constexpr std::uint64_t seed = random_layouts::default_seed + 12000;
constexpr std::uint64_t read_limit = std::uint64_t{1} << 30;

// Flags for `ism export`: flex tiles small enough to be full, empty and
// partial; llama.cpp rows padded; dense in uint8, whose bytes the decoder
// checks (a bool byte other than 0 or 1 is the .npy reader's to refuse).
std::vector<std::string> export_flags(const std::string& format) {
  if (format == "flex") return {"--block", "3,5"};
  if (format == "llamacpp") return {"--pad", "64"};
  if (format == "dense") return {"--dtype", "uint8"};
  return {};
}

bool several_arrays(const std::string& format) {
  return ism::format_from_name(format).arrays.size() > 1;
}

result export_file(const scratch& s, const std::string& layout, const std::string& paradigm,
                   const std::string& format, const fs::path& file) {
  std::vector<std::string> args{"export",   "--layout", layout, "--paradigm", paradigm,
                                "--format", format,     "-o",   file.string()};
  const std::vector<std::string> flags = export_flags(format);
  args.insert(args.end(), flags.begin(), flags.end());
  return run(s, args);
}

result verify(const scratch& s, const std::string& layout, const std::string& paradigm,
              const std::string& format, const fs::path& file,
              const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"verify",   "--layout", layout, "--paradigm", paradigm,
                                "--format", format,     "-f",   file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(s, args);
}

// 1234567 -> "1,234,567", as the CLI prints counts.
std::string grouped(index_t value) {
  std::string digits = std::to_string(value), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// What `ism verify` prints on stdout for a file that differs as `report` says.
std::string different_text(const fs::path& file, const std::string& format,
                           const std::string& paradigm, const ism::verify_report& report) {
  std::string out = "different: " + file.string() + " as " + format + " under " + paradigm +
                    " differs from the contract in " + grouped(report.differing_pairs) + " of " +
                    grouped(report.queries) + " x " + grouped(report.keys) + " pairs; the first:\n";
  for (const ism::pair_difference& d : report.first_differences)
    out += "  (q " + std::to_string(d.query) + ", k " + std::to_string(d.key) + "): file says " +
           (d.in_file ? "visible, contract says hidden\n" : "hidden, contract says visible\n");
  return out;
}

// A file's arrays, read back by the library's reader; a .npy's one array is
// named as the format names it (the reader names it after the file).
arrays read_back(const fs::path& file, const std::string& format, const ism::layout& l,
                 const ism::interval_mask& mask) {
  std::vector<ism::named_owned_array> owned = ism::read_array_file(file, read_limit);
  if (owned.size() == 1)
    owned.front().name = ism::format_from_name(format)
                             .shapes(l, [&]() -> const ism::interval_mask& { return mask; }, {})
                             .front()
                             .name;
  return arrays(std::move(owned));
}

void write_file(const fs::path& file, const arrays& a) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  ism::write_arrays(out, a.views());
  REQUIRE(out.good());
}

// A seeded random layout of two documents or more.
oracle::declared_layout packed_layout(std::mt19937_64& rng) {
  oracle::declared_layout d;
  do d = random_layouts::random_layout(rng);
  while (d.size() < 2);
  return d;
}

}  // namespace

TEST_CASE("cli verify: every export verifies equal, and its corruptions differ or are refused") {
  scratch s;
  std::uint64_t layout_seed = seed;
  int verified = 0;
  std::map<std::string, int> different, refused;  // by format
  for (const ism::export_format& f : ism::formats())
    for (const std::string& paradigm : random_layouts::paradigm_names) {
      std::mt19937_64 rng(layout_seed++);
      const oracle::declared_layout d = packed_layout(rng);
      const std::string text = random_layouts::text(d);
      CAPTURE(f.name);
      CAPTURE(paradigm);
      CAPTURE(text);
      const std::string extension = several_arrays(f.name) ? ".npz" : ".npy";
      const fs::path file = s.out / (f.name + extension);
      result r = export_file(s, text, paradigm, f.name, file);
      if (r.code == 2 && contains(r.err, "cu_seqlens cannot express this mask")) {
        CHECK(f.name == "cu_seqlens");
        continue;
      }
      REQUIRE(r.code == 0);
      r = verify(s, text, paradigm, f.name, file);
      CHECK(r.code == 0);
      CHECK(r.out.starts_with("equal: " + file.string() + " as " + f.name + " under " + paradigm +
                              " holds the contract's mask"));
      CHECK(r.err == "");
      ++verified;

      const ism::layout l(d);
      const oracle::row row = oracle::describe(d);
      const oracle::mask m = oracle::mask_of(paradigm, row);
      const arrays exported =
          read_back(file, f.name, l, ism::paradigm_from_name(paradigm).intervals(l));
      for (const corruptions::corrupted& c : corruptions::corrupt(f.name, exported, row, m, rng)) {
        CAPTURE(c.what);
        const fs::path broken = s.out / ("broken" + extension);
        write_file(broken, c.file);
        r = verify(s, text, paradigm, f.name, broken);
        ++(c.error.empty() ? different : refused)[f.name];
        if (!c.error.empty()) {
          CHECK(r.code == 2);
          CHECK(r.err == "ism: error: " + c.error + "\n");
          CHECK(r.out == "");
          continue;
        }
        CHECK(r.code == 1);
        CHECK(r.out ==
              different_text(broken, f.name, paradigm,
                             corruptions::expected_report(c.rows, c.engine, m, row.size(), 5)));
        CHECK(r.err == "");
      }
    }
  // Only cu_seqlens refuses, and only prefix, ism and bidirectional-roles:tool.
  CHECK(verified >= static_cast<int>(ism::formats().size()) * 5 - 3);
  for (const ism::export_format& f : ism::formats()) {
    CAPTURE(f.name);
    CHECK(different[f.name] > 0);
    CHECK(refused[f.name] > 0);
  }
}

namespace {

// Two documents, [0, 7) and [7, 13), with blocks under ism in both.
constexpr const char* packed_row = "system:2, user:3, assistant:2 | user:2, tool:3, assistant:1";
constexpr index_t packed_tokens = 13;

// The file's bytes with those at `offset` replaced, in place.
void overwrite(const fs::path& file, std::size_t offset, const std::string& bytes) {
  std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
  io.seekp(static_cast<std::streamoff>(offset));
  io.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(io.good());
}

}  // namespace

TEST_CASE("cli verify: a byte changed in place in a .npy") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  REQUIRE(run(s, {"export", "--layout", packed_row, "--paradigm", "ism", "--format", "dense", "-o",
                  file.string()})
              .code == 0);
  const npy_reader::array a = npy_reader::read_npy(file);
  REQUIRE(a.descr == "|b1");
  // Row 2 (user) sees keys 0..4; key 4 hidden from it, in the file's own bytes.
  const std::size_t item = 2 * packed_tokens + 4;
  REQUIRE(a.data[item] == '\1');
  overwrite(file, a.data_offset + item, std::string(1, '\0'));
  result r = verify(s, packed_row, "ism", "dense", file);
  CHECK(r.code == 1);
  ism::verify_report report;
  report.queries = report.keys = packed_tokens;
  report.differing_pairs = 1;
  report.first_differences = {{2, 4, false}};
  CHECK(r.out == different_text(file, "dense", "ism", report));
  // A bool byte of 2 is no bool: the reader refuses the file.
  overwrite(file, a.data_offset + item, std::string(1, '\2'));
  r = verify(s, packed_row, "ism", "dense", file);
  CHECK(r.code == 2);
  CHECK(r.err ==
        "ism: error: " + file.string() + ": bool item 30 holds byte value 2; a bool is 0 or 1\n");
}

TEST_CASE("cli verify: truncated, missing and foreign files exit 2 with the reason") {
  scratch s;
  const fs::path hf = s.out / "hf.npy", flex = s.out / "flex.npz";
  for (const auto& [format, file] : {std::pair{"hf", hf}, std::pair{"flex", flex}})
    REQUIRE(run(s, {"export", "--layout", packed_row, "--paradigm", "ism", "--format", format, "-o",
                    file.string()})
                .code == 0);
  const auto error_of = [&](const std::string& format, const fs::path& file) {
    const result r = verify(s, packed_row, "ism", format, file);
    CHECK(r.code == 2);
    CHECK(r.out == "");
    return r.err;
  };
  // A file of another format: its array names, or its dtype, give it away.
  CHECK(error_of("hf", flex) == "ism: error: hf: unexpected array 'kv_num_blocks'\n");
  CHECK(error_of("vllm", hf) == "ism: error: vllm: ranges has dtype int64, expected int32\n");
  // A .npy's one array is named after the file, which flex does not expect.
  CHECK(error_of("flex", hf) == "ism: error: flex: unexpected array 'hf'\n");

  // Cut short: the data of a .npy, the directory of a .npz.
  const fs::path short_npy = s.out / "short.npy", short_npz = s.out / "short.npz";
  const std::string npy = npy_reader::read_file(hf), npz = npy_reader::read_file(flex);
  std::ofstream(short_npy, std::ios::binary) << npy.substr(0, npy.size() - 8);
  std::ofstream(short_npz, std::ios::binary) << npz.substr(0, npz.size() / 2);
  CHECK(error_of("hf", short_npy) ==
        "ism: error: " + short_npy.string() +
            ": data shorter than the shape needs: 96 bytes follow the header, but shape (13,) of "
            "'<i8' needs 104\n");
  CHECK(error_of("flex", short_npz) ==
        "ism: error: " + short_npz.string() +
            ": no ZIP end of central directory record (the archive is truncated, or not a ZIP)\n");
  CHECK(contains(error_of("hf", s.out / "absent.npy"),
                 "ism: error: " + (s.out / "absent.npy").string() + ": cannot read the file"));
  CHECK(s.files() == std::vector<std::string>{"flex.npz", "hf.npy", "short.npy", "short.npz"});
}

TEST_CASE("cli verify: unknown names, --causal and --help") {
  scratch s;
  const fs::path cu = s.out / "cu.npy";
  REQUIRE(run(s, {"export", "--layout", packed_row, "--paradigm", "causal", "--format",
                  "cu_seqlens", "-o", cu.string()})
              .code == 0);
  result r = verify(s, packed_row, "causal", "npy", cu);
  CHECK(r.code == 2);
  CHECK(r.err == "ism: error: unknown format 'npy'; expected " + ism::format_names() + "\n");
  r = verify(s, packed_row, "intermittent", "cu_seqlens", cu);
  CHECK(r.code == 2);
  CHECK(r.err == "ism: error: unknown paradigm 'intermittent'; expected " +
                     ism::paradigms().accepted() + "\n");

  r = verify(s, packed_row, "causal", "cu_seqlens", cu, {"--causal", "true"});
  CHECK(r.code == 0);
  CHECK(r.out.starts_with("equal: "));
  // The engine run with full attention: every later key of a document.
  r = verify(s, packed_row, "causal", "cu_seqlens", cu, {"--causal", "false"});
  CHECK(r.code == 1);
  const oracle::row row = oracle::describe(ism::parse_layout(packed_row));
  const oracle::mask causal = oracle::mask_of("causal", row);
  const ism::verify_report full = corruptions::expected_report(
      packed_tokens,
      [&](index_t q, index_t k) { return causal.visible(k, q) || causal.visible(q, k); }, causal,
      packed_tokens, 5);
  CHECK(full.differing_pairs == 7 * 6 / 2 + 6 * 5 / 2);
  CHECK(r.out == different_text(cu, "cu_seqlens", "causal", full));
  // Without the flag, ism is a mask cu_seqlens cannot hold; with one, the
  // file is read as the engine would read it, and it differs from ism.
  r = verify(s, packed_row, "ism", "cu_seqlens", cu);
  CHECK(r.code == 2);
  CHECK(r.err.starts_with("ism: error: cu_seqlens cannot express this mask: row "));
  r = verify(s, packed_row, "ism", "cu_seqlens", cu, {"--causal", "true"});
  CHECK(r.code == 1);
  CHECK(r.out.starts_with("different: "));
  r = verify(s, packed_row, "causal", "cu_seqlens", cu, {"--causal", "maybe"});
  CHECK(r.code == 2);
  CHECK(r.err.starts_with("ism: error: option --causal expects true or false, got 'maybe'\n"));
  const fs::path dense = s.out / "dense.npy";
  REQUIRE(run(s, {"export", "--layout", packed_row, "--paradigm", "causal", "--format", "dense",
                  "-o", dense.string()})
              .code == 0);
  r = verify(s, packed_row, "causal", "dense", dense, {"--causal", "true"});
  CHECK(r.code == 2);
  CHECK(r.err == "ism: error: --causal applies to --format cu_seqlens only, not dense\n");

  r = run(s, {"verify", "--help"});
  CHECK(r.code == 0);
  std::string help;  // the text with its line wrapping undone
  for (const char c : r.out) {
    const bool space = c == ' ' || c == '\n';
    if (space && (help.empty() || help.back() == ' ')) continue;
    help += space ? ' ' : c;
  }
  CHECK(contains(help, "Prints 'equal' and exits 0 when they agree"));
  CHECK(contains(help, "and exits 1."));
  CHECK(contains(help, "is an error: exit 2 with the reason."));
}

TEST_CASE("cli verify: a .npz that NumPy compressed is read like ism's own") {
  const std::optional<std::string> python = cli_runner::numpy_python();
  if (!python) {
    MESSAGE("numpy is not importable; skipping the savez_compressed file");
    return;
  }
  scratch s;
  const ism::layout l = ism::parse_layout(packed_row);
  const ism::interval_mask mask = ism::paradigm_from_name("ism").intervals(l);
  // Each array as a NumPy expression, from the library's export in memory.
  const auto numpy_arrays = [&](const std::string& format, const ism::export_options& o) {
    const arrays a(ism::export_arrays(l, mask, format, o).arrays);
    std::string out;
    for (const ism::named_array& v : a.views()) {
      const bool wide = v.array.dtype == ism::npy_dtype::int64;
      std::string items, shape;
      for (std::size_t i = 0; i < v.array.data.size() / (wide ? 8 : 4); ++i)
        items += std::to_string(wide ? a.get<std::int64_t>(v.name, static_cast<index_t>(i))
                                     : a.get<std::int32_t>(v.name, static_cast<index_t>(i))) +
                 ",";
      for (const index_t e : v.array.shape) shape += std::to_string(e) + ",";
      out += v.name + "=numpy.array([" + items + "], dtype=numpy." + (wide ? "int64" : "int32") +
             ").reshape((" + shape + ")), ";
    }
    return out;
  };
  ism::export_options blocks;
  blocks.block = {2, 3};
  const fs::path intervals = s.out / "intervals.npz", flex = s.out / "flex.npz";
  const fs::path script = s.root / "save.py";
  std::ofstream(script) << "import numpy\n"
                        << "numpy.savez_compressed('" << intervals.string() << "', "
                        << numpy_arrays("intervals", {}) << ")\n"
                        << "numpy.savez_compressed('" << flex.string() << "', "
                        << numpy_arrays("flex", blocks) << ")\n";
  REQUIRE(std::system((*python + " " + cli_runner::quote(script.string())).c_str()) == 0);
  // Deflated members, not ism's stored ones.
  CHECK_THROWS_WITH(npy_reader::parse_zip(npy_reader::read_file(intervals)),
                    doctest::Contains("not stored uncompressed"));
  result r = verify(s, packed_row, "ism", "intervals", intervals);
  CHECK(r.code == 0);
  CHECK(r.out.starts_with("equal: " + intervals.string() + " as intervals under ism"));
  r = verify(s, packed_row, "ism", "flex", flex);
  CHECK(r.code == 0);
  r = verify(s, packed_row, "causal", "intervals", intervals);
  CHECK(r.code == 1);
  CHECK(r.out.starts_with("different: "));
}
#endif
