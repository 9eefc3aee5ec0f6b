// `ism export` for the engine formats, run as a separate process: each file is
// read back with the strict npy_reader, decoded into visible(q, k) the way an
// engine reads it (docs/formats.md), and compared with the docs/semantics.md oracle; plus the
// command's errors for the options these formats add.
#include <doctest/doctest.h>

#if defined(ISM_CLI_PATH) && !defined(_WIN32)

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "npy_reader.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

namespace fs = std::filesystem;
using index_t = std::int64_t;
using cli_runner::result;
using cli_runner::run;
using cli_runner::scratch;


bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The arrays of a written file by name: an .npz's members, or the one array of
// a .npy under the name `single`.
using arrays = std::map<std::string, npy_reader::array>;

arrays read_arrays(const fs::path& file, bool npz, const std::string& single = "") {
  const std::string bytes = npy_reader::read_file(file);
  arrays out;
  if (!npz) {
    out.emplace(single, npy_reader::parse_npy(bytes));
    return out;
  }
  for (const npy_reader::zip_member& m : npy_reader::parse_zip(bytes)) {
    REQUIRE(m.name.ends_with(".npy"));
    out.emplace(m.name.substr(0, m.name.size() - 4), npy_reader::parse_npy(m.data));
  }
  return out;
}

// Runs `ism export` and reads back what it wrote.
arrays export_arrays(const scratch& s, const std::string& layout, const std::string& paradigm,
                     const std::string& format, const std::vector<std::string>& extra, bool npz,
                     const std::string& single = "") {
  const fs::path file = s.out / (format + (npz ? ".npz" : ".npy"));
  std::vector<std::string> args{"export",   "--layout", layout, "--paradigm", paradigm,
                                "--format", format,     "-o",   file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const result r = run(s, args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "wrote " + file.string()));
  return read_arrays(file, npz, single);
}

template <class T>
std::vector<T> values(const npy_reader::array& a, const std::string& descr,
                      const std::vector<index_t>& shape) {
  CHECK(a.descr == descr);
  CHECK(a.shape == shape);
  return a.values<T>();
}

// The first pair where decoded(q, k) and the oracle disagree; empty when none.
template <class Decoded>
std::string first_mismatch(const oracle::mask& expected, index_t n, Decoded&& decoded) {
  for (index_t q = 0; q < n; ++q)
    for (index_t k = 0; k < n; ++k)
      if (decoded(q, k) != expected.visible(q, k))
        return "(q " + std::to_string(q) + ", k " + std::to_string(k) + ")";
  return {};
}

// The document of every token, from cu_seqlens.
std::vector<index_t> documents_of(const std::vector<std::int32_t>& cu_seqlens) {
  std::vector<index_t> out;
  for (std::size_t d = 0; d + 1 < cu_seqlens.size(); ++d)
    out.insert(out.end(), static_cast<std::size_t>(cu_seqlens[d + 1] - cu_seqlens[d]),
               static_cast<index_t>(d));
  return out;
}

// A float16 0 or -inf, from its bits.
bool half_visible(std::uint16_t bits) {
  REQUIRE((bits == 0x0000 || bits == 0xFC00));
  return bits == 0x0000;
}

bool float_visible(float v) {
  REQUIRE(((v == 0.0f && !std::signbit(v)) || (std::isinf(v) && v < 0)));
  return v == 0.0f;
}

const std::vector<std::string> paradigms{"causal", "prefix", "ism", "bidirectional"};

constexpr int layouts_per_format = 12;

// Calls body(text, paradigm, row, expected) for seeded random layouts, the
// paradigm cycling through all four.
template <class Body>
void for_layouts(std::uint64_t seed, Body&& body) {
  random_layouts::for_random_layouts(
      seed, layouts_per_format, [&](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const std::string& paradigm =
            paradigms[static_cast<std::size_t>(random_layouts::uniform(rng, 0, 3))];
        CAPTURE(paradigm);
        const oracle::row r = oracle::describe(d);
        body(random_layouts::text(d), paradigm, r, oracle::mask_of(paradigm, r));
      });
}

}  // namespace

TEST_CASE("cli export: cu_seqlens, hf and vllm reproduce the paradigm with causal attention") {
  scratch s;
  for_layouts(
      random_layouts::default_seed + 7000, [&](const std::string& text, const std::string& paradigm,
                                               const oracle::row& r, const oracle::mask& expected) {
        const index_t n = r.size();
        const auto documents = static_cast<index_t>(r.documents.size());
        const std::vector<std::int32_t> cu = values<std::int32_t>(
            // cu_seqlens holds the documents alone: causal's export has them for every paradigm.
            export_arrays(s, text, "causal", "cu_seqlens", {}, false, "cu_seqlens")["cu_seqlens"],
            "<i4", {documents + 1});
        REQUIRE(cu.size() == static_cast<std::size_t>(documents + 1));
        CHECK(cu.back() == n);
        const std::vector<index_t> document = documents_of(cu);
        REQUIRE(document.size() == static_cast<std::size_t>(n));
        const auto same_document = [&](index_t q, index_t k) { return document[q] == document[k]; };
        if (paradigm == "causal" || paradigm == "bidirectional") {
          const bool causal = paradigm == "causal";
          CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                  return same_document(q, k) && (!causal || k <= q);
                }) == "");
        }

        const std::vector<std::int64_t> ids = values<std::int64_t>(
            export_arrays(s, text, paradigm, "hf", {}, false, "ids")["ids"], "<i8", {n});
        REQUIRE(ids.size() == static_cast<std::size_t>(n));
        CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                return same_document(q, k) && (k <= q || (ids[q] == ids[k] && ids[q] >= 0));
              }) == "");

        const npy_reader::array ranges_array =
            export_arrays(s, text, paradigm, "vllm", {}, false, "ranges")["ranges"];
        REQUIRE(ranges_array.shape.size() == 3);
        const index_t per_document = ranges_array.shape[1];
        const std::vector<std::int32_t> ranges =
            values<std::int32_t>(ranges_array, "<i4", {documents, per_document, 2});
        CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                if (!same_document(q, k)) return false;
                if (k <= q) return true;
                const index_t d = document[q];
                for (index_t i = 0; i < per_document; ++i) {
                  const std::int32_t start =
                      ranges[static_cast<std::size_t>(2 * (d * per_document + i))];
                  const std::int32_t end =
                      ranges[static_cast<std::size_t>(2 * (d * per_document + i) + 1)];
                  if (start == -1) CHECK(end == -1);
                  const index_t a = q - cu[d], b = k - cu[d];
                  if (start <= a && a <= end && start <= b && b <= end) return true;
                }
                return false;
              }) == "");
      });
}

TEST_CASE("cli export: flashinfer, flashmask and llamacpp decode to the oracle") {
  scratch s;
  for_layouts(
      random_layouts::default_seed + 8000, [&](const std::string& text, const std::string& paradigm,
                                               const oracle::row& r, const oracle::mask& expected) {
        const index_t n = r.size();
        const auto documents = static_cast<index_t>(r.documents.size());

        arrays fi = export_arrays(s, text, paradigm, "flashinfer", {}, true);
        std::vector<std::string> names;
        for (const auto& [name, array] : fi) names.push_back(name);
        CHECK(names ==
              std::vector<std::string>{"kv_indptr", "mask_indptr", "packed_mask", "qo_indptr"});
        const std::vector<std::int32_t> qo =
            values<std::int32_t>(fi["qo_indptr"], "<i4", {documents + 1});
        const std::vector<std::int32_t> kv =
            values<std::int32_t>(fi["kv_indptr"], "<i4", {documents + 1});
        const std::vector<std::int32_t> mask_indptr =
            values<std::int32_t>(fi["mask_indptr"], "<i4", {documents + 1});
        const std::vector<std::uint8_t> packed =
            values<std::uint8_t>(fi["packed_mask"], "|u1", {mask_indptr.back()});
        const std::vector<index_t> document = documents_of(qo);
        CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                const index_t d = document[q];
                if (k < kv[d] || k >= kv[d + 1]) return false;
                const index_t bit = (q - qo[d]) * (kv[d + 1] - kv[d]) + (k - kv[d]);
                return ((packed[static_cast<std::size_t>(mask_indptr[d] + bit / 8)] >> (bit % 8)) &
                        1) != 0;
              }) == "");

        const std::vector<std::int32_t> fm = values<std::int32_t>(
            export_arrays(s, text, paradigm, "flashmask", {}, false, "m")["m"], "<i4", {n, 2});
        CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                return fm[static_cast<std::size_t>(2 * k + 1)] <= q &&
                       q < fm[static_cast<std::size_t>(2 * k)];
              }) == "");

        const std::vector<std::uint16_t> half = values<std::uint16_t>(
            export_arrays(s, text, paradigm, "llamacpp", {}, false, "m")["m"], "<f2", {n, n});
        CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                return half_visible(half[static_cast<std::size_t>(q * n + k)]);
              }) == "");

        const index_t padded = (n + 63) / 64 * 64;
        const std::vector<float> single =
            values<float>(export_arrays(s, text, paradigm, "llamacpp",
                                        {"--dtype", "float32", "--pad", "64"}, false, "m")["m"],
                          "<f4", {padded, n});
        CHECK(first_mismatch(expected, n, [&](index_t q, index_t k) {
                return float_visible(single[static_cast<std::size_t>(q * n + k)]);
              }) == "");
        CHECK(std::all_of(single.begin() + n * n, single.end(),
                          [](float v) { return std::isinf(v) && v < 0; }));
      });
}

TEST_CASE("cli export: flex lists exactly the partial and full blocks, for each --block") {
  scratch s;
  const std::vector<std::pair<std::string, std::pair<index_t, index_t>>> blocks{
      {"", {128, 128}}, {"4", {4, 4}},     {"3,5", {3, 5}},
      {"1", {1, 1}},    {"16,2", {16, 2}}, {"7,64", {7, 64}}};
  int call = 0;
  for_layouts(random_layouts::default_seed + 9000, [&](const std::string& text,
                                                       const std::string& paradigm,
                                                       const oracle::row& r,
                                                       const oracle::mask& expected) {
    const auto& block = blocks[static_cast<std::size_t>(call++) % blocks.size()];
    const std::string& option = block.first;
    const index_t bq = block.second.first;
    const index_t bk = block.second.second;
    CAPTURE(option);
    const index_t n = r.size();
    const index_t qbs = (n + bq - 1) / bq;
    const index_t kbs = (n + bk - 1) / bk;
    arrays flex = export_arrays(
        s, text, paradigm, "flex",
        option.empty() ? std::vector<std::string>{} : std::vector<std::string>{"--block", option},
        true);
    CHECK(flex.size() == 10);
    CHECK(values<std::int32_t>(flex["block_size"], "<i4", {2}) ==
          std::vector<std::int32_t>{static_cast<std::int32_t>(bq), static_cast<std::int32_t>(bk)});
    CHECK(values<std::int32_t>(flex["seq_lengths"], "<i4", {2}) ==
          std::vector<std::int32_t>{static_cast<std::int32_t>(n), static_cast<std::int32_t>(n)});

    // (qb, kb) -> 0 empty, 1 partial, 2 full, from one (counts, indices) pair.
    std::vector<int> from_kv(static_cast<std::size_t>(qbs * kbs), 0);
    std::vector<int> from_q(static_cast<std::size_t>(qbs * kbs), 0);
    const auto read_lists = [&](const std::string& prefix, index_t rows, index_t width, int cls,
                                bool transposed) {
      const std::vector<std::int32_t> counts =
          values<std::int32_t>(flex[prefix + "num_blocks"], "<i4", {rows});
      const std::vector<std::int32_t> indices =
          values<std::int32_t>(flex[prefix + "indices"], "<i4", {rows, width});
      for (index_t i = 0; i < rows; ++i) {
        const auto row = indices.begin() + static_cast<std::ptrdiff_t>(i * width);
        const std::int32_t count = counts[static_cast<std::size_t>(i)];
        REQUIRE((0 <= count && count <= width));
        CHECK(std::is_sorted(row, row + count));
        CHECK(std::all_of(row + count, row + static_cast<std::ptrdiff_t>(width),
                          [](std::int32_t v) { return v == 0; }));
        for (auto it = row; it != row + count; ++it) {
          const index_t qb = transposed ? *it : i, kb = transposed ? i : *it;
          int& tile = (transposed ? from_q : from_kv)[static_cast<std::size_t>(qb * kbs + kb)];
          CHECK(tile == 0);
          tile = cls;
        }
      }
    };
    read_lists("kv_", qbs, kbs, 1, false);
    read_lists("full_kv_", qbs, kbs, 2, false);
    read_lists("q_", kbs, qbs, 1, true);
    read_lists("full_q_", kbs, qbs, 2, true);
    CHECK(from_q == from_kv);

    // Brute force over the oracle; positions past the end are hidden.
    index_t wrong = 0;
    for (index_t qb = 0; qb < qbs; ++qb)
      for (index_t kb = 0; kb < kbs; ++kb) {
        bool seen_visible = false, seen_hidden = false;
        for (index_t q = qb * bq; q < (qb + 1) * bq; ++q)
          for (index_t k = kb * bk; k < (kb + 1) * bk; ++k)
            (q < n && k < n && expected.visible(q, k) ? seen_visible : seen_hidden) = true;
        const int cls = !seen_visible ? 0 : seen_hidden ? 1 : 2;
        wrong += from_kv[static_cast<std::size_t>(qb * kbs + kb)] != cls;
      }
    CHECK(wrong == 0);
  });
}

TEST_CASE("cli export: options a format does not take, bad values and size limits exit 2") {
  scratch s;
  const std::string file = (s.out / "out.npz").string();
  const auto call = [&](const std::string& format, std::vector<std::string> extra) {
    std::vector<std::string> args{"export",     "--layout", "user:3,assistant:2|user:4",
                                  "--paradigm", "ism",      "--format",
                                  format,       "-o",       file};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  struct bad_call {
    std::vector<std::string> args;
    std::string message;
    bool usage;  // a usage error adds a hint to run --help
  };
  const std::string bad_block = "option --block expects BQ or BQ,BK, integers from 1 to 2147483647";
  const std::vector<bad_call> calls{
      {call("flex", {"--block", "0"}), bad_block + ", got '0'", true},
      {call("flex", {"--block", "abc"}), bad_block + ", got 'abc'", true},
      {call("flex", {"--block", "4,"}), bad_block, true},
      {call("flex", {"--block", ",4"}), bad_block, true},
      {call("flex", {"--block", "4,0"}), bad_block, true},
      {call("flex", {"--block", "1,2,3"}), bad_block, true},
      {call("flex", {"--block", "-4"}), bad_block, true},
      {call("flex", {"--block", "2147483648"}), bad_block, true},
      {call("flex", {"--block", "4 "}), bad_block, true},
      {call("dense", {"--block", "64"}),
       "--block applies to --format flex or fa4_block_sparse only, not dense", false},
      {call("llamacpp", {"--block", "64"}),
       "--block applies to --format flex or fa4_block_sparse only, not llamacpp", false},
      {call("fa4_block_sparse", {"--block", "64"}),
       "fa4_block_sparse: block size 64x64 is not a multiple of 128 each way", false},
      {call("flex", {"--pad", "64"}), "--pad applies to --format llamacpp only, not flex", false},
      {call("llamacpp", {"--pad", "0"}),
       "option --pad expects a row multiple from 1 to 2^63 - 1, got '0'", true},
      {call("llamacpp", {"--pad", "9223372036854775808"}), "option --pad expects a row multiple",
       true},
      {call("llamacpp", {"--pad", "x"}), "option --pad expects a non-negative integer", true},
      {call("llamacpp", {"--dtype", "bfloat16"}),
       "--dtype 'bfloat16' does not apply to format llamacpp; expected float16 or float32", false},
      {call("flex", {"--dtype", "float16"}),
       "--dtype does not apply to format flex, whose arrays have fixed dtypes", false},
      {call("cu_seqlens", {}),
       "cu_seqlens cannot express this mask: row 0 is not causal and row 0 does not see its "
       "whole document",
       false},
      {call("flashinfer", {"--dtype", "uint8"}),
       "--dtype does not apply to format flashinfer, whose arrays have fixed dtypes", false},
      {call("sparse", {}),
       "unknown format 'sparse'; expected dense, additive, intervals, flex, flashinfer, "
       "flashmask, hf, vllm, llamacpp, cu_seqlens, flashinfer_ranges, cudnn_endpoints, magi, "
       "vllm_ids or fa4_block_sparse",
       false},
      // A document of 131,072 tokens packs 2^31 bytes, past int32 offsets.
      {{"export", "--layout", "user:131072", "--paradigm", "ism", "--format", "flashinfer",
        "--max-bytes", "100000000000", "-o", file},
       "flashinfer: the packed mask would be 2147483648 bytes, past the int32 byte offsets",
       false},
  };
  for (const bad_call& c : calls) {
    CAPTURE(c.message);
    const result r = run(s, c.args);
    CHECK(r.code == 2);
    CHECK(r.err.starts_with("ism: error: "));
    CHECK(contains(r.err, c.message));
    CHECK(contains(r.err, "--help' for usage") == c.usage);
    CHECK(s.empty());
  }
}

TEST_CASE("cli export: --max-bytes is checked for every format before any work") {
  scratch s;
  const std::string layout = "system:40,user:30,assistant:50|user:20,assistant:60";
  const fs::path file = s.out / "out";
  for (const std::string format :
       {"flex", "flashinfer", "flashmask", "hf", "vllm", "llamacpp", "cu_seqlens",
        "flashinfer_ranges", "cudnn_endpoints", "magi", "vllm_ids", "fa4_block_sparse"}) {
    CAPTURE(format);
    // cu_seqlens cannot hold ism: it takes the causal mask of the same documents.
    const std::string paradigm = format == "cu_seqlens" ? "causal" : "ism";
    std::vector<std::string> args{"export",   "--layout", layout, "--paradigm", paradigm,
                                  "--format", format,     "-o",   file.string()};
    const result fits = run(s, args);
    REQUIRE(fits.code == 0);
    const auto bytes = static_cast<std::uint64_t>(fs::file_size(file));
    fs::remove(file);
    // The exact size passes, one byte less is refused before anything is written.
    args.insert(args.end(), {"--max-bytes", std::to_string(bytes)});
    CHECK(run(s, args).code == 0);
    fs::remove(file);
    args.back() = std::to_string(bytes - 1);
    const result refused = run(s, args);
    CHECK(refused.code == 2);
    CHECK(contains(refused.err,
                   "ism: error: the output would be " + std::to_string(bytes) + " bytes"));
    CHECK(contains(refused.err, "over the --max-bytes limit of " + std::to_string(bytes - 1)));
    CHECK(s.empty());
  }
}

#endif  // ISM_CLI_PATH && !_WIN32
