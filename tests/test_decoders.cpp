// The decoders of include/ism/exports/ and ism::verify. Every format's export,
// read back by the format's own decoder, equals the docs/semantics.md oracle pair by
// pair on seeded random layouts under every paradigm, and a format refuses
// exactly the masks it cannot hold (decided by brute force from
// docs/formats.md); compare_masks agrees with brute force; every malformed
// array is refused with its message; and wrong but well-formed files are found
// different by exactly the pairs that differ.
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ism/format_registry.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigm_registry.hpp>
#include <ism/verify.hpp>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "corruptions.hpp"
#include "error_messages.hpp"
#include "oracle.hpp"
#include "owned_arrays.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;
using owned_arrays::arrays;
using random_layouts::paradigm_names;

constexpr int random_layout_count = 150;
constexpr std::uint64_t seed = random_layouts::default_seed + 11000;

// Options with one field set.
ism::export_options blocks(index_t q, index_t k) {
  ism::export_options o;
  o.block = {q, k};
  return o;
}
ism::export_options of_dtype(ism::npy_dtype d, index_t pad = 1) {
  ism::export_options o;
  o.dtype = d;
  o.pad = pad;
  return o;
}
ism::export_options padded_to(index_t pad) {
  ism::export_options o;
  o.pad = pad;
  return o;
}

// The options each format is exported with: every dtype a user may choose,
// flex blocks of single tokens, ragged ones and one larger than any layout,
// llama.cpp rows padded or not.
std::vector<ism::export_options> option_sets(const std::string& format) {
  std::vector<ism::export_options> out;
  if (format == "flex") {
    for (const ism::block_size b :
         {ism::block_size{1, 1}, ism::block_size{3, 5}, ism::block_size{16, 3}, ism::block_size{}})
      out.push_back(blocks(b.q, b.k));
  } else if (format == "fa4_block_sparse") {
    // Its blocks are multiples of 128: over layouts of up to 60 tokens, one
    // partial tile.
    out.push_back(blocks(128, 128));
    out.push_back(blocks(256, 384));
  } else if (format == "llamacpp") {
    out.push_back(of_dtype(ism::npy_dtype::float16, 1));
    out.push_back(of_dtype(ism::npy_dtype::float32, 64));
  } else if (!ism::format_from_name(format).dtypes.empty()) {
    for (const ism::npy_dtype d : ism::format_from_name(format).dtypes) out.push_back(of_dtype(d));
  } else {
    out.push_back({});
  }
  return out;
}

std::string options_text(const ism::export_options& o) {
  return "block " + std::to_string(o.block.q) + "x" + std::to_string(o.block.k) + ", dtype " +
         (o.dtype ? std::string(ism::npy_dtype_name(*o.dtype)) : "default") + ", pad " +
         std::to_string(o.pad);
}

// The oracle's mask as an interval_mask, for the decoders that read one
// (flex's mask_mod, cu_seqlens' flag), so no library mask reaches them.
ism::interval_mask as_interval_mask(const oracle::mask& m) {
  return {m.lo, m.hi};
}

// Whether `format` holds mask m of row r, by brute force over every pair from
// docs/formats.md: flashinfer and cudnn_endpoints keep each row in its
// document, flashmask each key's rows in one range, hf, vllm and vllm_ids are
// causal plus bidirectional blocks within documents, flashinfer_ranges causal
// within the document plus one run of later keys, cu_seqlens causal or full
// within every document; magi, fa4_block_sparse and the rest hold any mask.
bool expressible(const std::string& format, const oracle::row& r, const oracle::mask& m) {
  const index_t n = r.size();
  const auto same_document = [&](index_t q, index_t k) {
    return r.tokens[static_cast<std::size_t>(q)].document ==
           r.tokens[static_cast<std::size_t>(k)].document;
  };
  const bool in_documents = format == "flashinfer" || format == "cudnn_endpoints",
             blocks = format == "hf" || format == "vllm" || format == "vllm_ids",
             column_ranges = format == "flashmask", causal_and_run = format == "flashinfer_ranges";
  bool fits = true, causal = true, full = true;
  for (index_t q = 0; q < n; ++q) {
    bool chain = true;  // q and k in one block: each token between sees the next
    index_t later_runs = 0;  // runs of visible keys after q
    for (index_t k = 0; k < n; ++k) {
      const bool v = m.visible(q, k), same = same_document(q, k);
      causal = causal && v == (same && k <= q);
      full = full && v == same;
      if (k > q) chain = chain && m.visible(k - 1, k);
      if (in_documents) fits = fits && (!v || same);
      if (blocks) fits = fits && v == (same && (k <= q || chain));
      if (causal_and_run) {
        fits = fits && (!v || same) && (v || !same || k > q);
        later_runs += k > q && v && (k == q + 1 || !m.visible(q, k - 1));
      }
      // Key k's rows are one range: no row sees it again after a gap.
      if (column_ranges && v && q >= 2 && !m.visible(q - 1, k))
        for (index_t above = 0; above < q - 1; ++above) fits = fits && !m.visible(above, k);
    }
    fits = fits && later_runs <= 1;
  }
  return format == "cu_seqlens" ? causal || full : fits;
}

// How many pairs of the decoded file disagree with the oracle, and the first
// as text; rows past the N tokens (padding) must see nothing. Each row's runs
// are spread over its keys and every pair is compared.
struct disagreement {
  index_t pairs = 0;
  std::string first;
};

disagreement disagree(const ism::run_mask& decoded, const oracle::mask& expected, index_t n) {
  REQUIRE(decoded.keys() == n);
  REQUIRE(decoded.size() >= n);
  disagreement out;
  for (index_t q = 0; q < decoded.size(); ++q) {
    std::vector<char> seen(static_cast<std::size_t>(n), false);
    for (const ism::key_run& run : decoded.row(q)) {
      REQUIRE((0 <= run.begin && run.begin < run.end && run.end <= n));
      for (index_t k = run.begin; k < run.end; ++k) seen[static_cast<std::size_t>(k)] = true;
    }
    for (index_t k = 0; k < n; ++k) {
      const bool want = q < n && expected.visible(q, k);
      if ((seen[static_cast<std::size_t>(k)] != 0) == want) continue;
      if (out.pairs++ == 0)
        out.first = "(q " + std::to_string(q) + ", k " + std::to_string(k) + "): decoded " +
                    std::to_string(!want) + ", oracle " + std::to_string(want);
    }
  }
  return out;
}

ism::run_mask decode(const std::string& format, const std::vector<ism::named_array>& views,
                     const ism::layout& l, const ism::interval_mask& mask_mod,
                     const ism::export_options& o) {
  return ism::format_from_name(format).decode(views, ism::decode_input{l, mask_mod, o});
}

void check_report(const ism::verify_report& actual, const ism::verify_report& expected) {
  CHECK(actual.queries == expected.queries);
  CHECK(actual.keys == expected.keys);
  CHECK(actual.differing_pairs == expected.differing_pairs);
  CHECK(actual.first_differences == expected.first_differences);
  CHECK(actual.equal() == (expected.differing_pairs == 0));
}

}  // namespace

// ---------------------------------------------------------------------------
// Round trip: export, decode, compare with the oracle
// ---------------------------------------------------------------------------

TEST_CASE("decoders: every format's export decodes to the oracle and verifies equal") {
  int refused = 0;  // masks cu_seqlens cannot hold, which must occur
  random_layouts::for_random_layouts(
      seed, random_layout_count, [&](auto&, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row r = oracle::describe(d);
        for (const std::string& name : paradigm_names) {
          CAPTURE(name);
          const ism::any_paradigm p = ism::paradigm_from_name(name);
          const ism::interval_mask mask = p.intervals(l);
          const oracle::mask expected = oracle::mask_of(name, r);
          const ism::interval_mask mask_mod = as_interval_mask(expected);
          for (const ism::export_format& f : ism::formats()) {
            CAPTURE(f.name);
            const bool fits = expressible(f.name, r, expected);
            // The paradigms here are all causal-or-block within documents, with
            // one range of rows a key; causal and bidirectional are varlen's two.
            if (f.name != "cu_seqlens" || name == "causal" || name == "bidirectional") CHECK(fits);
            for (const ism::export_options& o : option_sets(f.name)) {
              const std::string options = options_text(o);
              CAPTURE(options);
              if (!fits) {
                ++refused;
                CHECK_THROWS_WITH_AS(
                    ism::export_arrays(l, mask, f.name, o),
                    doctest::Contains((f.name + " cannot express this mask").c_str()),
                    ism::format_error);
                continue;
              }
              const ism::encoded_arrays e = ism::export_arrays(l, mask, f.name, o);
              const disagreement wrong =
                  disagree(decode(f.name, e.arrays, l, mask_mod, o), expected, r.size());
              CHECK(wrong.pairs == 0);
              CHECK(wrong.first == "");
              const ism::verify_report report = ism::verify(l, p, f.name, e.arrays, o);
              CHECK(report.equal());
              CHECK(report.first_differences.empty());
              CHECK(report.keys == r.size());
              const index_t rows =
                  f.name == "llamacpp" ? (r.size() + o.pad - 1) / o.pad * o.pad : r.size();
              CHECK(report.queries == rows);
            }
          }
        }
      });
  CHECK(refused > 0);
}

TEST_CASE("decoders: a single array under any name is read as the format's one array") {
  const ism::layout l = ism::parse_layout("user:3, assistant:2 | tool:2, assistant:2");
  const ism::any_paradigm ism_paradigm = ism::paradigm_from_name("ism");
  const ism::interval_mask mask = ism_paradigm.intervals(l);
  for (const char* format : {"hf", "vllm", "flashmask", "dense", "llamacpp", "vllm_ids"}) {
    CAPTURE(format);
    const ism::encoded_arrays e = ism::export_arrays(l, mask, format);
    std::vector<ism::named_array> renamed = e.arrays;
    renamed.front().name = "saved_under_another_name";
    CHECK(ism::verify(l, ism_paradigm, format, renamed).equal());
    // The decoder itself reads names as they are.
    CHECK(error_message<ism::format_error>([&] { decode(format, renamed, l, mask, {}); }) ==
          std::string(format) + ": unexpected array 'saved_under_another_name'");
  }
  // Several arrays keep their names: one renamed is one unexpected.
  const ism::encoded_arrays e = ism::export_arrays(l, mask, "intervals");
  std::vector<ism::named_array> renamed = e.arrays;
  renamed.back().name = "high";
  CHECK(error_message<ism::format_error>([&] {
          ism::verify(l, ism_paradigm, "intervals", renamed);
        }) == "intervals: unexpected array 'high'");
  CHECK(error_message<ism::unknown_format_error>([&] {
          ism::verify(l, ism_paradigm, "npy", e.arrays);
        }) == "unknown format 'npy'; expected " + ism::format_names());
}

// ---------------------------------------------------------------------------
// compare_masks
// ---------------------------------------------------------------------------

TEST_CASE("decoders: compare_masks counts every differing pair and keeps the first in row order") {
  const ism::interval_mask causal({0, 0, 0, 0}, {0, 1, 2, 3});
  ism::run_mask file(4);
  file.add_row({{0, 2}});          // also sees key 1
  file.add_row({{1, 2}, {0, 1}});  // runs in any order: [0, 2), as the contract
  file.add_row({});                // sees none of keys 0..2
  file.add_row({{2, 4}, {0, 1}});  // misses key 1
  const ism::verify_report all = ism::compare_masks(file, causal);
  CHECK(all.queries == 4);
  CHECK(all.keys == 4);
  CHECK(all.differing_pairs == 5);
  CHECK_FALSE(all.equal());
  CHECK(all.first_differences ==
        std::vector<ism::pair_difference>{
            {0, 1, true}, {2, 0, false}, {2, 1, false}, {2, 2, false}, {3, 1, false}});
  const ism::verify_report three = ism::compare_masks(file, causal, 3);
  CHECK(three.differing_pairs == 5);
  CHECK(three.first_differences ==
        std::vector<ism::pair_difference>{{0, 1, true}, {2, 0, false}, {2, 1, false}});
  const ism::verify_report none = ism::compare_masks(file, causal, 0);
  CHECK(none.differing_pairs == 5);
  CHECK(none.first_differences.empty());

  SUBCASE("rows past the contract's are padding that must see nothing") {
    ism::run_mask padded(4);
    for (index_t q = 0; q < 4; ++q) padded.add_row({{0, q + 1}});
    padded.add_row({});
    CHECK(ism::compare_masks(padded, causal).equal());
    CHECK(ism::compare_masks(padded, causal).queries == 5);
    padded.add_row({{3, 4}, {1, 1}});
    const ism::verify_report report = ism::compare_masks(padded, causal);
    CHECK(report.queries == 6);
    CHECK(report.differing_pairs == 1);
    CHECK(report.first_differences == std::vector<ism::pair_difference>{{5, 3, true}});
  }
  SUBCASE("a contract row that sees nothing") {
    const ism::interval_mask gap({0, 3, 0}, {0, 2, 2});  // row 1 is empty
    ism::run_mask same(3), more(3);
    for (ism::run_mask* m : {&same, &more}) m->add_row({{0, 1}});
    same.add_row({});
    more.add_row({{1, 2}});
    for (ism::run_mask* m : {&same, &more}) m->add_row({{0, 3}});
    CHECK(ism::compare_masks(same, gap).equal());
    CHECK(ism::compare_masks(more, gap).first_differences ==
          std::vector<ism::pair_difference>{{1, 1, true}});
  }
  SUBCASE("sizes that do not fit") {
    ism::run_mask wide(5), short_file(4);
    for (index_t q = 0; q < 4; ++q) wide.add_row({{0, q + 1}});
    for (index_t q = 0; q < 3; ++q) short_file.add_row({{0, q + 1}});
    CHECK(error_message<ism::shape_error>([&] { ism::compare_masks(wide, causal); }) ==
          "compare_masks: the file has 4 rows of 5 keys but the contract has 4 of 4");
    CHECK(error_message<ism::shape_error>([&] { ism::compare_masks(short_file, causal); }) ==
          "compare_masks: the file has 3 rows of 4 keys but the contract has 4 of 4");
  }
  SUBCASE("a run outside the keys is refused; empty runs are dropped wherever they lie") {
    ism::run_mask m(4);
    m.add_row({{7, 3}, {9, 9}, {-2, -2}});
    CHECK(m.row(0).empty());
    CHECK(error_message<ism::argument_error>([&] {
            m.add_row({{0, 1}, {3, 6}});
          }) == "run_mask: row 1 has keys [3, 6) outside [0, 4)");
    CHECK(error_message<ism::argument_error>([&] {
            m.add_row({{-1, 2}});
          }) == "run_mask: row 1 has keys [-1, 2) outside [0, 4)");
    // A refused row leaves nothing behind for the next.
    m.add_row({{2, 3}});
    CHECK(m.size() == 2);
    CHECK(std::vector<ism::key_run>(m.row(1).begin(), m.row(1).end()) ==
          std::vector<ism::key_run>{{2, 3}});
  }
}

TEST_CASE("decoders: compare_masks equals brute force on random files and contracts") {
  std::mt19937_64 rng(seed + 500);
  using random_layouts::uniform;
  for (int trial = 0; trial < 400; ++trial) {
    CAPTURE(trial);
    const index_t n = uniform(rng, 1, 24), padding = uniform(rng, 0, 3);
    std::vector<index_t> lo, hi;
    for (index_t q = 0; q < n; ++q) {
      lo.push_back(uniform(rng, 0, n - 1));
      hi.push_back(random_layouts::chance(rng, 0.15) ? lo.back() - 1
                                                     : uniform(rng, lo.back(), n - 1));
    }
    const ism::interval_mask contract(lo, hi);
    ism::run_mask file(n);
    std::vector<std::vector<bool>> seen;  // (rows, n), the runs spread by hand
    for (index_t q = 0; q < n + padding; ++q) {
      std::vector<ism::key_run> runs;
      seen.emplace_back(static_cast<std::size_t>(n), false);
      for (index_t i = uniform(rng, 0, 4); i > 0; --i) {
        index_t b = uniform(rng, 0, n), e = uniform(rng, 0, n);
        if (b > e) std::swap(b, e);
        // Near the contract's interval half the time, where differences are few.
        if (q < n && contract.lo()[q] <= contract.hi()[q] && random_layouts::chance(rng, 0.5)) {
          b = std::max<index_t>(0, contract.lo()[q] + uniform(rng, -1, 1));
          e = std::min<index_t>(n, contract.hi()[q] + 1 + uniform(rng, -1, 1));
        }
        runs.push_back({b, e});
        for (index_t k = b; k < e; ++k) seen.back()[static_cast<std::size_t>(k)] = true;
      }
      file.add_row(runs);
    }
    const std::size_t examples = static_cast<std::size_t>(uniform(rng, 0, 8));
    ism::verify_report expected{n + padding, n, 0, {}};
    for (index_t q = 0; q < n + padding; ++q)
      for (index_t k = 0; k < n; ++k) {
        const bool in_file = seen[static_cast<std::size_t>(q)][static_cast<std::size_t>(k)];
        CHECK(file.visible(q, k) == in_file);
        if (in_file == (q < n && lo[q] <= k && k <= hi[q])) continue;
        ++expected.differing_pairs;
        if (expected.first_differences.size() < examples)
          expected.first_differences.push_back({q, k, in_file});
      }
    check_report(ism::compare_masks(file, contract, examples), expected);
  }
}

// ---------------------------------------------------------------------------
// Malformed arrays
// ---------------------------------------------------------------------------

namespace {

// Two documents, [0, 7) and [7, 13), with blocks under ism in both.
constexpr const char* packed_row = "system:2, user:3, assistant:2 | user:2, tool:3, assistant:1";

// A well-formed export of the packed row, to break and decode.
struct fixture {
  std::string format;
  ism::layout sequence = ism::parse_layout(packed_row);
  ism::interval_mask mask;
  ism::export_options options;
  arrays file;

  fixture(std::string f, const std::string& paradigm, ism::export_options o = {})
      : format(std::move(f)),
        mask(ism::paradigm_from_name(paradigm).intervals(sequence)),
        options(o),
        file(ism::export_arrays(sequence, mask, format, options).arrays) {}

  ism::run_mask decoded(const std::vector<ism::named_array>& views) const {
    return decode(format, views, sequence, mask, options);
  }
  ism::run_mask decoded(const arrays& a) const { return decoded(a.views()); }
  // The message of the format_error that decoding `a` throws.
  std::string error(const arrays& a) const {
    return error_message<ism::format_error>([&] { decoded(a); });
  }
  std::string error(const std::vector<ism::named_array>& views) const {
    return error_message<ism::format_error>([&] { decoded(views); });
  }
};

std::string shape_text(const std::vector<index_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// For each format, one array to break, a dtype it must refuse, the dtypes and
// shape the message must then name (flex in 4 x 4 blocks: 4 x 4 tiles;
// fa4_block_sparse in 128 x 128 blocks: one tile; magi under causal: a slice
// a document).
struct array_check {
  const char* format;
  const char* array;
  ism::npy_dtype wrong;
  const char* accepted;
  const char* shape;
};

constexpr array_check array_checks[] = {
    {"dense", "mask", ism::npy_dtype::int32, "bool or uint8", "[13, 13]"},
    {"additive", "bias", ism::npy_dtype::int64, "float32 or float16 or bfloat16", "[13, 13]"},
    {"intervals", "hi", ism::npy_dtype::int32, "int64", "[13]"},
    {"flex", "full_q_indices", ism::npy_dtype::int64, "int32", "[4, 4]"},
    {"flashinfer", "kv_indptr", ism::npy_dtype::int64, "int32", "[3]"},
    {"flashmask", "startend_row_indices", ism::npy_dtype::int64, "int32", "[13, 2]"},
    {"hf", "block_sequence_ids", ism::npy_dtype::int32, "int64", "[13]"},
    {"vllm", "ranges", ism::npy_dtype::int64, "int32", "[2, *, 2]"},
    {"llamacpp", "kq_mask", ism::npy_dtype::bfloat16, "float16 or float32", "[*, 13]"},
    {"cu_seqlens", "cu_seqlens", ism::npy_dtype::int64, "int32", "[*]"},
    {"flashinfer_ranges", "ranges", ism::npy_dtype::int64, "int32", "[13, 2]"},
    {"cudnn_endpoints", "endpoints", ism::npy_dtype::int64, "int32", "[1, *, 13]"},
    {"magi", "k_ranges", ism::npy_dtype::int64, "int32", "[2, 2]"},
    {"vllm_ids", "range_ids", ism::npy_dtype::int64, "int32", "[13]"},
    {"fa4_block_sparse", "full_block_cnt", ism::npy_dtype::int64, "int32", "[1, 1, 1]"},
};

}  // namespace

TEST_CASE("decoders: every format refuses a wrong dtype, shape, size or set of arrays") {
  for (const ism::export_format& f : ism::formats())
    CHECK(std::any_of(std::begin(array_checks), std::end(array_checks),
                      [&](const array_check& c) { return c.format == f.name; }));
  for (const array_check& c : array_checks) {
    CAPTURE(c.format);
    // Causal, which every format holds.
    const fixture x(c.format, "causal",
                    c.format == std::string("fa4_block_sparse") ? blocks(128, 128) : blocks(4, 4));
    const std::string prefix = std::string(c.format) + ": ";
    CHECK(disagree(x.decoded(x.file), oracle::mask_of("causal", oracle::describe(x.sequence)), 13)
              .pairs == 0);

    arrays a = x.file;
    a[c.array].dtype = c.wrong;
    CHECK(x.error(a) == prefix + c.array + " has dtype " +
                            std::string(ism::npy_dtype_name(c.wrong)) + ", expected " + c.accepted);

    a = x.file;
    a[c.array].shape.push_back(1);
    CHECK(x.error(a) == prefix + c.array + " has shape " + shape_text(a[c.array].shape) +
                            ", expected " + c.shape);

    a = x.file;
    a.remove(c.array);
    CHECK(x.error(a) == prefix + "missing array '" + c.array + "'");

    a = x.file;
    a.add("extra", x.file[c.array]);
    CHECK(x.error(a) == prefix + "unexpected array 'extra'");

    a = x.file;
    a[c.array].data.pop_back();
    CHECK(x.error(a) == prefix + c.array + " holds " + std::to_string(a[c.array].data.size()) +
                            " bytes, not what its shape needs");

    // Items that do not start at a multiple of their size (an array sliced
    // out of a larger buffer) are refused rather than read misaligned.
    if (ism::npy_item_size(x.file[c.array].dtype) > 1) {
      std::vector<ism::named_array> views = x.file.views();
      const std::vector<std::byte>& data = x.file[c.array].data;
      std::vector<std::byte> shifted(data.size() + 1);
      std::memcpy(shifted.data() + 1, data.data(), data.size());
      for (ism::named_array& v : views)
        if (v.name == c.array) v.array.data = std::span(shifted).subspan(1);
      CHECK(x.error(views) == prefix + c.array + "'s data is not aligned for its dtype");
    }
  }
}

TEST_CASE("decoders: a file of another format is refused by its arrays") {
  const fixture hf("hf", "ism");
  const fixture flex("flex", "ism");
  const fixture vllm("vllm", "ism");
  CHECK(vllm.error(hf.file) == "vllm: unexpected array 'block_sequence_ids'");
  CHECK(hf.error(flex.file) == "hf: unexpected array 'kv_num_blocks'");
  // verify reads a single array as the format's: then its dtype gives it away.
  CHECK(error_message<ism::format_error>([&] {
          ism::verify(vllm.sequence, ism::paradigm_from_name("ism"), "vllm", hf.file.views());
        }) == "vllm: ranges has dtype int64, expected int32");
}

TEST_CASE("decoders: flex refuses counts, indices and lists that FlexAttention would misread") {
  const fixture x("flex", "ism", blocks(2, 2));  // 7 x 7 tiles
  const index_t width = 7;
  CHECK(
      disagree(x.decoded(x.file), oracle::mask_of("ism", oracle::describe(x.sequence)), 13).pairs ==
      0);
  CHECK(x.error(x.file.with("kv_num_blocks", 1, std::int32_t{8})) ==
        "flex: kv_num_blocks[1] is 8, outside [0, 7]");
  CHECK(x.error(x.file.with("full_q_num_blocks", 0, std::int32_t{-1})) ==
        "flex: full_q_num_blocks[0] is -1, outside [0, 7]");

  const auto listing = [&](const char* counts, const char* indices, index_t row,
                           std::vector<std::int32_t> blocks) {
    arrays out = x.file;
    out.set(counts, row, static_cast<std::int32_t>(blocks.size()));
    for (std::size_t j = 0; j < blocks.size(); ++j)
      out.set(indices, row * width + static_cast<index_t>(j), blocks[j]);
    return out;
  };
  CHECK(x.error(listing("kv_num_blocks", "kv_indices", 1, {3, 1})) ==
        "flex: kv_indices[1, 1] is 1; a row lists blocks ascending, each in [0, 7)");
  CHECK(x.error(listing("kv_num_blocks", "kv_indices", 2, {2, 2})) ==
        "flex: kv_indices[2, 1] is 2; a row lists blocks ascending, each in [0, 7)");
  CHECK(x.error(listing("full_kv_num_blocks", "full_kv_indices", 2, {7})) ==
        "flex: full_kv_indices[2, 0] is 7; a row lists blocks ascending, each in [0, 7)");
  CHECK(x.error(listing("q_num_blocks", "q_indices", 3, {-1})) ==
        "flex: q_indices[3, 0] is -1; a row lists blocks ascending, each in [0, 7)");

  // Entries past a row's count are free: the engine never reads them.
  arrays a = x.file;
  for (index_t i = 0; i < width; ++i) {
    const index_t used = a.get<std::int32_t>("kv_num_blocks", i);
    for (index_t j = used; j < width; ++j) a.set("kv_indices", i * width + j, std::int32_t{-5});
  }
  CHECK(ism::compare_masks(x.decoded(a), x.mask).equal());

  // The first full tile in row order, listed partial as well in both directions.
  index_t qb = 0;
  while (a.get<std::int32_t>("full_kv_num_blocks", qb) == 0) ++qb;
  const std::int32_t kb = x.file.get<std::int32_t>("full_kv_indices", qb * width);
  a = x.file;
  owned_arrays::list_block(a, "kv_num_blocks", "kv_indices", qb, width, kb);
  owned_arrays::list_block(a, "q_num_blocks", "q_indices", kb, width,
                           static_cast<std::int32_t>(qb));
  CHECK(x.error(a) == "flex: key block " + std::to_string(kb) + " of query block " +
                          std::to_string(qb) + " is listed both full and partial");

  // Tile (0, 6), keys of the other document, listed one way only.
  a = x.file;
  owned_arrays::list_block(a, "kv_num_blocks", "kv_indices", 0, width, 6);
  CHECK(x.error(a) == "flex: the q_* lists are not the transpose of the kv_* lists");
  owned_arrays::list_block(a, "q_num_blocks", "q_indices", 6, width, 0);
  CHECK(ism::compare_masks(x.decoded(a), x.mask).equal());  // partial: mask_mod decides

  CHECK(x.error(x.file.with("block_size", 0, std::int32_t{0})) ==
        "flex: block_size is [0, 2]; blocks hold at least one token each way");
  CHECK(x.error(x.file.with("block_size", 1, std::int32_t{4})) ==
        "flex: kv_indices has shape [7, 7], expected [7, 4]");
  CHECK(x.error(x.file.with("seq_lengths", 1, std::int32_t{12})) ==
        "flex: seq_lengths is [13, 12] but the layout has 13 tokens");
}

TEST_CASE("decoders: flashinfer refuses offsets that do not cover the row or its bytes") {
  const fixture x("flashinfer", "ism");  // requests of 7 x 7 (7 bytes) and 6 x 6 (5 bytes)
  const struct {
    const char* array;
    index_t item;
    std::int32_t value;
    const char* error;
  } changes[] = {
      {"qo_indptr", 0, 1, "qo_indptr must run from 0 to the layout's 13 tokens"},
      {"kv_indptr", 2, 12, "kv_indptr must run from 0 to the layout's 13 tokens"},
      {"qo_indptr", 1, 14, "qo_indptr[2] is below the entry before it"},
      {"mask_indptr", 0, 1, "mask_indptr[0] must be 0"},
      {"mask_indptr", 1, 8,
       "request 0 of 7 x 7 needs 7 bytes at mask_indptr[0] = 0 of the 12 in packed_mask"},
  };
  for (const auto& c : changes)
    CHECK(x.error(x.file.with(c.array, c.item, c.value)) == std::string("flashinfer: ") + c.error);
  arrays a = x.file;
  a["packed_mask"].shape = {11};
  a["packed_mask"].data.pop_back();
  CHECK(x.error(a) ==
        "flashinfer: request 1 of 6 x 6 needs 5 bytes at mask_indptr[1] = 7 of the 11 in "
        "packed_mask");
  for (const index_t entries : {1, 0}) {
    a = x.file;
    for (const char* name : {"qo_indptr", "kv_indptr", "mask_indptr"}) {
      a[name].shape = {entries};
      a[name].data.resize(static_cast<std::size_t>(entries) * 4);
    }
    CHECK(x.error(a) == "flashinfer: qo_indptr needs at least 2 entries");
  }

  // One request for the whole row is as good a file: the decoder reads the
  // requests, not the layout's documents.
  const oracle::row r = oracle::describe(x.sequence);
  const oracle::mask m = oracle::mask_of("ism", r);
  std::vector<std::uint8_t> bits((13 * 13 + 7) / 8, 0);
  for (index_t q = 0; q < 13; ++q)
    for (index_t k = 0; k < 13; ++k)
      if (m.visible(q, k))
        bits[static_cast<std::size_t>((q * 13 + k) / 8)] |= std::uint8_t(1u << ((q * 13 + k) % 8));
  arrays whole;
  whole.add("packed_mask", owned_arrays::make_owned(bits, {static_cast<index_t>(bits.size())}));
  whole.add("mask_indptr", owned_arrays::make_owned(std::vector<std::int32_t>{0, 22}, {2}));
  for (const char* name : {"qo_indptr", "kv_indptr"})
    whole.add(name, owned_arrays::make_owned(std::vector<std::int32_t>{0, 13}, {2}));
  CHECK(disagree(x.decoded(whole), m, 13).pairs == 0);
  CHECK(
      ism::verify(x.sequence, ism::paradigm_from_name("ism"), "flashinfer", whole.views()).equal());
}

TEST_CASE("decoders: flashmask, hf, vllm and intervals refuse indices out of range") {
  const fixture flashmask("flashmask", "ism");
  const auto pair = [&](index_t k, std::int32_t lts, std::int32_t ute) {
    return flashmask.file.with("startend_row_indices", 2 * k, lts)
        .with("startend_row_indices", 2 * k + 1, ute);
  };
  const std::string needs = "; [LTS, UTE] needs 0 <= UTE <= LTS <= 13";
  CHECK(flashmask.error(pair(3, 2, 5)) == "flashmask: startend_row_indices[3] is [2, 5]" + needs);
  CHECK(flashmask.error(pair(4, 14, 3)) == "flashmask: startend_row_indices[4] is [14, 3]" + needs);
  CHECK(flashmask.error(pair(12, 5, -1)) ==
        "flashmask: startend_row_indices[12] is [5, -1]" + needs);
  // A key nobody sees is [0, 0], or any [x, x]: key 5, an answer's first
  // token, loses its rows 5 and 6.
  for (const std::int32_t x : {0, 6, 13})
    CHECK(ism::compare_masks(flashmask.decoded(pair(5, x, x)), flashmask.mask).differing_pairs ==
          2);

  const fixture hf("hf", "ism");
  CHECK(hf.error(hf.file.with("block_sequence_ids", 4, std::int64_t{-2})) ==
        "hf: block_sequence_ids[4] is -2; ids are -1 (causal) or block numbers from 0 to 12");
  CHECK(hf.error(hf.file.with("block_sequence_ids", 0, std::int64_t{13})) ==
        "hf: block_sequence_ids[0] is 13; ids are -1 (causal) or block numbers from 0 to 12");

  const fixture vllm("vllm", "ism");  // ranges [0, 1], [2, 4] in both documents
  REQUIRE(vllm.file["ranges"].shape == std::vector<index_t>{2, 2, 2});
  const auto range = [&](index_t d, index_t r, std::int32_t start, std::int32_t end) {
    return vllm.file.with("ranges", 2 * (d * 2 + r), start)
        .with("ranges", 2 * (d * 2 + r) + 1, end);
  };
  const std::string rule =
      "; a range is [-1, -1] or inclusive [start, end] with 0 <= start <= end < ";
  CHECK(vllm.error(range(1, 1, 2, 6)) ==
        "vllm: ranges[1, 1] is [2, 6]" + rule + "6, the document's length");
  CHECK(vllm.error(range(0, 0, 1, 0)) ==
        "vllm: ranges[0, 0] is [1, 0]" + rule + "7, the document's length");
  CHECK(vllm.error(range(0, 1, -1, 3)) ==
        "vllm: ranges[0, 1] is [-1, 3]" + rule + "7, the document's length");
  CHECK(vllm.error(range(1, 0, 0, -1)) ==
        "vllm: ranges[1, 0] is [0, -1]" + rule + "6, the document's length");
  CHECK(ism::compare_masks(vllm.decoded(range(1, 0, -1, -1)), vllm.mask).differing_pairs == 1);

  const fixture intervals("intervals", "ism");
  CHECK(intervals.error(intervals.file.with("hi", 5, std::int64_t{13})) ==
        "intervals: row 5 sees [0, 13], outside the keys [0, 13)");
  CHECK(intervals.error(intervals.file.with("lo", 8, std::int64_t{-1})) ==
        "intervals: row 8 sees [-1, 8], outside the keys [0, 13)");
  // lo > hi is a row that sees nothing, wherever the bounds lie.
  const arrays empty_row =
      intervals.file.with("lo", 8, std::int64_t{40}).with("hi", 8, std::int64_t{-40});
  CHECK(ism::compare_masks(intervals.decoded(empty_row), intervals.mask).differing_pairs == 2);
}

TEST_CASE("decoders: the square formats refuse items that are neither visible nor hidden") {
  const auto item = [](const fixture& x, const std::string& name, index_t q, index_t k,
                       auto value) { return x.error(x.file.with(name, q * 13 + k, value)); };
  const fixture dense("dense", "ism");
  const std::string neither = "; expected 0 (hidden) or 1 (visible)";
  CHECK(item(dense, "mask", 3, 4, std::uint8_t{2}) == "dense: mask[3, 4] is 2.000000" + neither);
  const fixture bytes("dense", "ism", of_dtype(ism::npy_dtype::uint8));
  CHECK(item(bytes, "mask", 12, 0, std::uint8_t{255}) ==
        "dense: mask[12, 0] is 255.000000" + neither);

  const std::string bias = "; expected 0 (visible) or -inf (hidden)";
  const fixture f32("additive", "ism");
  CHECK(item(f32, "bias", 2, 9, 1.0f) == "additive: bias[2, 9] is 1.000000" + bias);
  // A large finite bias is not -inf: in half precision it is another mask.
  CHECK(item(f32, "bias", 0, 0, -1e9f) == "additive: bias[0, 0] is -1000000000.000000" + bias);
  CHECK(item(f32, "bias", 12, 12, std::numeric_limits<float>::quiet_NaN()) ==
        "additive: bias[12, 12] is nan" + bias);
  CHECK(item(f32, "bias", 1, 0, std::numeric_limits<float>::infinity()) ==
        "additive: bias[1, 0] is inf" + bias);
  const fixture f16("additive", "ism", of_dtype(ism::npy_dtype::float16));
  CHECK(item(f16, "bias", 2, 9, Eigen::half(1.0f)) == "additive: bias[2, 9] is 1.000000" + bias);
  CHECK(item(f16, "bias", 2, 9, Eigen::half(-60000.0f)) ==
        "additive: bias[2, 9] is -60000.000000" + bias);
  CHECK(item(f16, "bias", 2, 9, Eigen::half(std::numeric_limits<float>::quiet_NaN())) ==
        "additive: bias[2, 9] is nan" + bias);
  const fixture bf16("additive", "ism", of_dtype(ism::npy_dtype::bfloat16));
  CHECK(item(bf16, "bias", 7, 8, Eigen::bfloat16(-1e9f)) ==
        "additive: bias[7, 8] is -998244352.000000" + bias);  // -1e9 to bfloat16's 8 bits
  // -0 adds what 0 adds: visible.
  CHECK(ism::compare_masks(f32.decoded(f32.file.with("bias", 0, -0.0f)), f32.mask).equal());

  const fixture llamacpp("llamacpp", "ism");
  CHECK(item(llamacpp, "kq_mask", 4, 4, Eigen::half(1.0f)) ==
        "llamacpp: kq_mask[4, 4] is 1.000000" + bias);
  arrays a = llamacpp.file;
  a["kq_mask"].shape = {12, 13};
  a["kq_mask"].data.resize(12 * 13 * 2);
  CHECK(llamacpp.error(a) == "llamacpp: kq_mask has 12 rows, fewer than the 13 tokens");
  // Padding rows are compared with rows that see nothing.
  const fixture padded("llamacpp", "ism", padded_to(64));
  REQUIRE(padded.file["kq_mask"].shape == std::vector<index_t>{64, 13});
  const ism::verify_report report = ism::compare_masks(
      padded.decoded(padded.file.with("kq_mask", 20 * 13 + 3, Eigen::half(0.0f))), padded.mask);
  CHECK(report.queries == 64);
  CHECK(report.first_differences == std::vector<ism::pair_difference>{{20, 3, true}});
  CHECK(report.differing_pairs == 1);
}

TEST_CASE("decoders: cu_seqlens refuses offsets that do not rise from 0 to N") {
  const fixture x("cu_seqlens", "causal");  // [0, 7, 13]
  const auto bounds = [&](std::vector<std::int32_t> values) {
    arrays a = x.file;
    a["cu_seqlens"] = owned_arrays::make_owned(values, {static_cast<index_t>(values.size())});
    return a;
  };
  const std::string run =
      "cu_seqlens: cu_seqlens must run from 0 to the layout's 13 tokens with at least one document";
  CHECK(x.error(bounds({1, 7, 13})) == run);
  CHECK(x.error(bounds({0, 7, 12})) == run);
  CHECK(x.error(bounds({0})) == run);
  CHECK(x.error(bounds({})) == run);
  CHECK(x.error(bounds({0, 13, 13})) ==
        "cu_seqlens: cu_seqlens[2] = 13 does not rise above cu_seqlens[1] = 13");
  CHECK(x.error(bounds({0, 8, 7, 13})) ==
        "cu_seqlens: cu_seqlens[2] = 7 does not rise above cu_seqlens[1] = 8");

  // The file says where the documents are: one document of 13 lets the
  // second see the first.
  ism::verify_report report = ism::compare_masks(x.decoded(bounds({0, 13})), x.mask);
  CHECK(report.differing_pairs == 6 * 7);
  CHECK(report.first_differences.front() == ism::pair_difference{7, 0, true});
  // The engine's flag, when given, is read as given: full attention in
  // documents of 7 and 6 sees 21 + 15 later keys.
  ism::export_options full;
  full.causal = false;
  report = ism::verify(x.sequence, ism::paradigm_from_name("causal"), "cu_seqlens", x.file.views(),
                       full);
  CHECK(report.differing_pairs == 21 + 15);
  CHECK(report.first_differences.front() == ism::pair_difference{0, 1, true});
  // The file holds the documents alone, so under bidirectional it is read full.
  CHECK(ism::verify(x.sequence, ism::paradigm_from_name("bidirectional"), "cu_seqlens",
                    x.file.views())
            .equal());
  // Without the flag the paradigm must be one cu_seqlens holds.
  CHECK_THROWS_WITH_AS(
      ism::verify(x.sequence, ism::paradigm_from_name("ism"), "cu_seqlens", x.file.views()),
      doctest::Contains("cu_seqlens cannot express this mask: row "), ism::format_error);
}

// ---------------------------------------------------------------------------
// Wrong but well-formed files
// ---------------------------------------------------------------------------

namespace {

// Options for files verified against another paradigm: flex tiles small
// enough to be full, empty and partial; llama.cpp rows padded.
ism::export_options mismatch_options(const std::string& format) {
  if (format == "flex") return blocks(3, 5);
  if (format == "fa4_block_sparse") return blocks(128, 128);
  if (format == "llamacpp") return padded_to(64);
  return {};
}

// What an engine computes from a file exported under paradigm `a` and read
// for a contract `b`: `a`'s mask, except inside the partial tiles of flex and
// fa4_block_sparse, where the mask_mod the loaders attach (the contract's)
// decides. Tiles are classified here by brute force over `a`'s pairs; a tile
// is full when all of its Bq x Bk pairs are visible, so one cut by the end of
// the row never is (positions past N are hidden, as FlexAttention pads them).
std::function<bool(index_t, index_t)> engine_of(const std::string& format,
                                                const ism::export_options& o, const oracle::mask& a,
                                                const oracle::mask& b, index_t n) {
  if (format != "flex" && format != "fa4_block_sparse")
    return [a](index_t q, index_t k) { return corruptions::contract_visible(a, q, k); };
  const index_t qbs = (n + o.block.q - 1) / o.block.q, kbs = (n + o.block.k - 1) / o.block.k;
  std::vector<index_t> seen(static_cast<std::size_t>(qbs * kbs), 0);
  for (index_t q = 0; q < n; ++q)
    for (index_t k = 0; k < n; ++k)
      seen[static_cast<std::size_t>(q / o.block.q * kbs + k / o.block.k)] += a.visible(q, k);
  return [=](index_t q, index_t k) {
    const index_t visible = seen[static_cast<std::size_t>(q / o.block.q * kbs + k / o.block.k)];
    return visible == o.block.q * o.block.k || (visible > 0 && b.visible(q, k));
  };
}

}  // namespace

TEST_CASE("decoders: a file exported under one paradigm differs from another by brute force") {
  random_layouts::for_random_layouts(seed + 1000, 40, [](auto&, const oracle::declared_layout& d) {
    const ism::layout l(d);
    const oracle::row r = oracle::describe(d);
    const index_t n = r.size();
    for (const std::string& exported : paradigm_names) {
      CAPTURE(exported);
      const oracle::mask a = oracle::mask_of(exported, r);
      const ism::interval_mask mask = ism::paradigm_from_name(exported).intervals(l);
      for (const ism::export_format& f : ism::formats()) {
        CAPTURE(f.name);
        if (!expressible(f.name, r, a)) continue;
        ism::export_options o = mismatch_options(f.name);
        const ism::encoded_arrays e = ism::export_arrays(l, mask, f.name, o);
        const index_t rows = e.arrays.front().array.shape.front();
        // The varlen engine is told the flag the file was made for.
        if (f.name == "cu_seqlens") o.causal = oracle::mask_of("causal", r).hi == a.hi;
        for (const std::string& verified : paradigm_names) {
          CAPTURE(verified);
          const oracle::mask b = oracle::mask_of(verified, r);
          if (f.takes_causal && !expressible(f.name, r, b)) continue;
          const ism::verify_report expected = corruptions::expected_report(
              f.name == "llamacpp" ? rows : n, engine_of(f.name, o, a, b, n), b, n, 5);
          check_report(ism::verify(l, ism::paradigm_from_name(verified), f.name, e.arrays, o),
                       expected);
          if (exported == verified) CHECK(expected.differing_pairs == 0);
        }
      }
    }
  });
}

TEST_CASE(
    "decoders: corrupted files are found different by exactly the pairs changed, or refused") {
  std::map<std::string, int> tried;  // each corruption, by format and kind
  random_layouts::for_random_layouts(
      seed + 2000, 60, [&](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row r = oracle::describe(d);
        for (const std::string& name : paradigm_names) {
          CAPTURE(name);
          const ism::any_paradigm p = ism::paradigm_from_name(name);
          const oracle::mask m = oracle::mask_of(name, r);
          const ism::interval_mask mask = p.intervals(l);
          for (const ism::export_format& f : ism::formats()) {
            CAPTURE(f.name);
            if (!expressible(f.name, r, m)) continue;
            const ism::export_options o = mismatch_options(f.name);
            const arrays file(ism::export_arrays(l, mask, f.name, o).arrays);
            for (const corruptions::corrupted& c : corruptions::corrupt(f.name, file, r, m, rng)) {
              CAPTURE(c.what);
              ++tried[f.name + ": " + c.what];
              if (!c.error.empty()) {
                CHECK(error_message<ism::format_error>(
                          [&] { ism::verify(l, p, f.name, c.file.views(), o); }) == c.error);
                continue;
              }
              const ism::verify_report expected =
                  corruptions::expected_report(c.rows, c.engine, m, r.size(), 5);
              CHECK(expected.differing_pairs > 0);
              check_report(ism::verify(l, p, f.name, c.file.views(), o), expected);
            }
          }
        }
      });
  // Every kind of corruption met at least once, a well-formed one and a
  // malformed one for every format.
  CHECK(tried.size() == 37);
  for (const auto& [what, count] : tried) {
    CAPTURE(what);
    CHECK(count > 0);
  }
}

TEST_CASE("decoders: a small file that cuts rows into many runs meets the run budget") {
  // flashmask: every even key seen by all rows, every odd key by none, so
  // each of the n rows holds n / 2 runs from 2 x n int32 of file.
  const ism::index_t n = 64;
  const ism::layout sequence = ism::parse_layout("user:64");
  std::vector<std::int32_t> pairs;
  for (ism::index_t k = 0; k < n; ++k) {
    pairs.push_back(k % 2 == 0 ? static_cast<std::int32_t>(n) : 0);
    pairs.push_back(0);
  }
  const std::vector<ism::named_array> arrays{
      {"startend_row_indices", ism::make_npy_array(std::span<const std::int32_t>(pairs), {n, 2})}};
  CHECK(ism::decode_flashmask(arrays, sequence).row(5).size() == 32);
  CHECK(error_message<ism::format_error>([&] { ism::decode_flashmask(arrays, sequence, 100); }) ==
        "the file's mask needs more than 100 runs of visible keys by row 3, past the memory "
        "allowed for decoding it; a mask of the ism family needs about one a row");
  CHECK_THROWS_AS(ism::verify(sequence, ism::paradigm_from_name("ism"), "flashmask", arrays, {}, 5,
                              100),
                  ism::format_error);
}

TEST_CASE("decoders: vllm ranges of a document are in order and apart") {
  const ism::layout sequence = ism::parse_layout("user:4,assistant:2");
  const std::vector<std::int32_t> overlapping{0, 3, 2, 4};
  const std::vector<ism::named_array> arrays{
      {"ranges", ism::make_npy_array(std::span<const std::int32_t>(overlapping), {1, 2, 2})}};
  CHECK(error_message<ism::format_error>([&] { ism::decode_vllm(arrays, sequence); }) ==
        "vllm: ranges[0, 1] starts at 2, inside or before the range before it; a document's "
        "ranges are listed in order and apart");
}

// ---------------------------------------------------------------------------
// The native exports of issue 12: hand-checked arrays and every refusal
// ---------------------------------------------------------------------------

namespace {

// The int32 items of an array, in C order.
std::vector<std::int32_t> int32_items(const arrays& a, const std::string& name) {
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < a[name].data.size() / 4; ++i)
    out.push_back(a.get<std::int32_t>(name, static_cast<index_t>(i)));
  return out;
}

// An interval mask of `layout` that no block-shaped paradigm makes: row q
// sees [lo[q], hi[q]].
ism::run_mask decode_mask(const std::string& format, const std::string& layout,
                          const ism::interval_mask& m, const ism::export_options& o = {}) {
  const ism::layout l = ism::parse_layout(layout);
  const ism::encoded_arrays e = ism::export_arrays(l, m, format, o);
  return decode(format, e.arrays, l, m, o);
}

}  // namespace

TEST_CASE("decoders: flashinfer_ranges writes each block's range and refuses other rows") {
  // ism over the packed row: blocks [0, 1], [2, 4] in both documents, the
  // answers causal.
  const fixture x("flashinfer_ranges", "ism");
  CHECK(int32_items(x.file, "ranges") == std::vector<std::int32_t>{0,  1,  0,  1,  2, 4, 2, 4, 2,
                                                                   4,  -1, -1, -1, -1, 0, 1, 0, 1,
                                                                   2,  4,  2,  4,  2, 4, -1, -1});
  CHECK(int32_items(x.file, "qo_indptr") == std::vector<std::int32_t>{0, 7, 13});
  CHECK(int32_items(x.file, "kv_indptr") == std::vector<std::int32_t>{0, 7, 13});
  // prefix: the prefix of each document is one range, its last token included.
  const fixture prefix("flashinfer_ranges", "prefix");
  CHECK(int32_items(prefix.file, "ranges") ==
        std::vector<std::int32_t>{0, 4, 0, 4, 0, 4, 0, 4, 0, 4, -1, -1, -1, -1,
                                  0, 4, 0, 4, 0, 4, 0, 4, 0, 4, -1, -1});

  // Rows the engine's rule cannot give.
  const std::string why = "] but the engine's rows see their document [0, 3) from its first "
                          "token up to at least themselves";
  const ism::layout l = ism::parse_layout("user:3");
  const auto refused = [&](std::vector<index_t> lo, std::vector<index_t> hi) {
    return error_message<ism::format_error>(
        [&] { ism::export_arrays(l, ism::interval_mask(lo, hi), "flashinfer_ranges"); });
  };
  const std::string cannot = "flashinfer_ranges cannot express this mask: row ";
  CHECK(refused({0, 1, 0}, {0, 1, 2}) == cannot + "1 sees [1, 1" + why);
  CHECK(refused({0, 0, 0}, {0, 0, 2}) == cannot + "1 sees [0, 0" + why);
  CHECK(refused({0, 0, 3}, {0, 1, 2}) == cannot + "2 sees [3, 2" + why);

  // A range may be any run of the request's keys, even one apart from the
  // causal part: row 0 sees key 0 and keys 2..3.
  const ism::layout four = ism::parse_layout("user:4");
  arrays a;
  a.add("ranges", owned_arrays::make_owned(std::vector<std::int32_t>{2, 3, -1, -1, -1, -1, -1, -1},
                                           {4, 2}));
  for (const char* name : {"qo_indptr", "kv_indptr"})
    a.add(name, owned_arrays::make_owned(std::vector<std::int32_t>{0, 4}, {2}));
  const ism::run_mask apart = ism::decode_flashinfer_ranges(a.views(), four);
  CHECK(std::vector<ism::key_run>(apart.row(0).begin(), apart.row(0).end()) ==
        std::vector<ism::key_run>{{0, 1}, {2, 4}});
  // Fewer queries than keys: causal is aligned bottom-right, so query i sees
  // keys up to i + 2 of the request's 4 (one request of 2 queries and 4 keys,
  // then one of 2 queries and no keys).
  arrays chunk;
  chunk.add("ranges", owned_arrays::make_owned(std::vector<std::int32_t>(8, -1), {4, 2}));
  chunk.add("qo_indptr", owned_arrays::make_owned(std::vector<std::int32_t>{0, 2, 4}, {3}));
  chunk.add("kv_indptr", owned_arrays::make_owned(std::vector<std::int32_t>{0, 4, 4}, {3}));
  const ism::run_mask aligned = ism::decode_flashinfer_ranges(chunk.views(), four);
  CHECK(std::vector<ism::key_run>(aligned.row(0).begin(), aligned.row(0).end()) ==
        std::vector<ism::key_run>{{0, 3}});
  CHECK(std::vector<ism::key_run>(aligned.row(1).begin(), aligned.row(1).end()) ==
        std::vector<ism::key_run>{{0, 4}});
  CHECK(aligned.row(2).empty());

  // Malformed files.
  CHECK(x.error(x.file.with("ranges", 2 * 3, std::int32_t{3}).with("ranges", 2 * 3 + 1,
                                                                   std::int32_t{2})) ==
        "flashinfer_ranges: ranges[3] is [3, 2]; a range is (-1, -1) or inclusive [start, end] "
        "with 0 <= start <= end < 7, request 0's key count");
  CHECK(x.error(x.file.with("ranges", 2 * 8, std::int32_t{-1})) ==
        "flashinfer_ranges: ranges[8] is [-1, 1]; a range is (-1, -1) or inclusive [start, end] "
        "with 0 <= start <= end < 6, request 1's key count");
  CHECK(x.error(x.file.with("qo_indptr", 2, std::int32_t{12})) ==
        "flashinfer_ranges: qo_indptr must run from 0 to the layout's 13 tokens");
  CHECK(x.error(x.file.with("kv_indptr", 1, std::int32_t{14})) ==
        "flashinfer_ranges: kv_indptr[2] is below the entry before it");
  arrays one = x.file;
  for (const char* name : {"qo_indptr", "kv_indptr"}) {
    one[name].shape = {1};
    one[name].data.resize(4);
  }
  CHECK(x.error(one) == "flashinfer_ranges: qo_indptr needs at least 2 entries");
}

TEST_CASE("decoders: cudnn_endpoints writes one endpoint a row, or three, and refuses others") {
  const fixture x("cudnn_endpoints", "ism");
  CHECK(x.file["endpoints"].shape == std::vector<index_t>{1, 1, 13});
  CHECK(int32_items(x.file, "endpoints") ==
        std::vector<std::int32_t>{2, 2, 5, 5, 5, 6, 7, 2, 2, 5, 5, 5, 6});
  CHECK(int32_items(x.file, "cu_seqlens") == std::vector<std::int32_t>{0, 7, 13});

  // A sliding window does not start at the document's first token: three
  // endpoints a row, [0, 0) then [lo, hi + 1); a row that sees nothing is all 0.
  const std::string layout = "user:3 | user:2";
  const ism::interval_mask window({0, 0, 1, 3, 4}, {0, 1, 2, 3, 3});
  const ism::layout l = ism::parse_layout(layout);
  const ism::encoded_arrays e = ism::export_arrays(l, window, "cudnn_endpoints");
  const arrays file(e.arrays);
  CHECK(file["endpoints"].shape == std::vector<index_t>{1, 3, 5});
  CHECK(int32_items(file, "endpoints") ==
        std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 1, 0});
  CHECK(ism::compare_masks(decode_mask("cudnn_endpoints", layout, window), window).equal());

  CHECK(error_message<ism::format_error>([&] {
          ism::export_arrays(l, ism::interval_mask({0, 0, 0, 2, 3}, {0, 1, 2, 3, 4}),
                             "cudnn_endpoints");
        }) == "cudnn_endpoints cannot express this mask: row 3 sees [2, 3], outside its document "
              "[3, 5); endpoints are key positions within the row's own sequence");

  // Any odd count of endpoints decodes: five give row 0 of a sequence of 4
  // keys 0 and 2..3, and an empty sequence between is allowed.
  const ism::layout four = ism::parse_layout("user:4");
  arrays five;
  std::vector<std::int32_t> endpoints(5 * 4, 4);
  endpoints[0] = 1, endpoints[4] = 2, endpoints[8] = 3, endpoints[12] = 3, endpoints[16] = 4;
  five.add("endpoints", owned_arrays::make_owned(endpoints, {1, 5, 4}));
  five.add("cu_seqlens", owned_arrays::make_owned(std::vector<std::int32_t>{0, 0, 4}, {3}));
  const ism::run_mask m = ism::decode_cudnn_endpoints(five.views(), four);
  CHECK(std::vector<ism::key_run>(m.row(0).begin(), m.row(0).end()) ==
        std::vector<ism::key_run>{{0, 1}, {2, 4}});
  CHECK(std::vector<ism::key_run>(m.row(1).begin(), m.row(1).end()) ==
        std::vector<ism::key_run>{{0, 4}});

  // Malformed files.
  arrays even = x.file;
  even["endpoints"].shape = {1, 2, 13};
  even["endpoints"].data.resize(2 * 13 * 4);
  CHECK(x.error(even) == "cudnn_endpoints: endpoints has nfunc = 2; cuDNN takes a positive odd "
                         "number of endpoints a row");
  arrays none = x.file;
  none["endpoints"].shape = {1, 0, 13};
  none["endpoints"].data.clear();
  CHECK(x.error(none) == "cudnn_endpoints: endpoints has nfunc = 0; cuDNN takes a positive odd "
                         "number of endpoints a row");
  const std::string run = "cudnn_endpoints: cu_seqlens must run from 0 to the layout's 13 tokens "
                          "with at least one sequence";
  CHECK(x.error(x.file.with("cu_seqlens", 0, std::int32_t{1})) == run);
  CHECK(x.error(x.file.with("cu_seqlens", 2, std::int32_t{12})) == run);
  CHECK(x.error(x.file.with("cu_seqlens", 1, std::int32_t{-1})) ==
        "cudnn_endpoints: cu_seqlens[1] = -1 is below cu_seqlens[0] = 0");
  CHECK(x.error(x.file.with("endpoints", 4, std::int32_t{-1})) ==
        "cudnn_endpoints: endpoints[0, 0, 4] is -1; a row's endpoints rise from 0 to its "
        "sequence's 7 keys");
  CHECK(error_message<ism::format_error>([&] {
          ism::decode_cudnn_endpoints(
              arrays(e.arrays).with("endpoints", 5 + 3, std::int32_t{3}).views(), l);
        }) == "cudnn_endpoints: endpoints[0, 1, 3] is 3; a row's endpoints rise from 0 to its "
              "sequence's 2 keys");
  CHECK(error_message<ism::format_error>([&] {
          ism::decode_cudnn_endpoints(
              arrays(e.arrays).with("endpoints", 10 + 2, std::int32_t{0}).views(), l);
        }) == "cudnn_endpoints: endpoints[0, 2, 2] is 0; a row's endpoints rise from 0 to its "
              "sequence's 3 keys");
}

TEST_CASE("decoders: magi writes full and causal slices and reads all four slice types") {
  const fixture x("magi", "ism");
  CHECK(int32_items(x.file, "q_ranges") ==
        std::vector<std::int32_t>{0, 2, 2, 5, 5, 7, 7, 9, 9, 12, 12, 13});
  CHECK(int32_items(x.file, "k_ranges") ==
        std::vector<std::int32_t>{0, 2, 0, 5, 0, 7, 7, 9, 7, 12, 7, 13});
  CHECK(int32_items(x.file, "attn_type_map") == std::vector<std::int32_t>{0, 0, 1, 0, 0, 0});
  const fixture causal("magi", "causal");
  CHECK(int32_items(causal.file, "q_ranges") == std::vector<std::int32_t>{0, 7, 7, 13});
  CHECK(int32_items(causal.file, "k_ranges") == std::vector<std::int32_t>{0, 7, 7, 13});
  CHECK(int32_items(causal.file, "attn_type_map") == std::vector<std::int32_t>{1, 1});

  // Any interval mask fits: rows that start at another key each need a slice
  // (unless causal steps continue them), rows that see nothing none, and rows
  // may see other documents.
  const std::string layout = "user:3 | user:3";
  const ism::interval_mask window({0, 0, 1, 2, 5, 0}, {0, 1, 2, 3, 4, 5});
  const ism::layout l = ism::parse_layout(layout);
  const arrays file(ism::export_arrays(l, window, "magi").arrays);
  CHECK(int32_items(file, "q_ranges") == std::vector<std::int32_t>{0, 2, 2, 3, 3, 4, 5, 6});
  CHECK(int32_items(file, "k_ranges") == std::vector<std::int32_t>{0, 2, 1, 3, 2, 4, 0, 6});
  CHECK(int32_items(file, "attn_type_map") == std::vector<std::int32_t>{1, 0, 0, 0});
  CHECK(ism::compare_masks(decode_mask("magi", layout, window), window).equal());

  // The four types over queries [0, 5) and keys [1, 3) of six tokens, as
  // MagiAttention draws them for 5 queries and 2 keys.
  const ism::layout six = ism::parse_layout("user:6");
  const auto rows_of = [&](std::int32_t type) {
    arrays a;
    a.add("q_ranges", owned_arrays::make_owned(std::vector<std::int32_t>{0, 5}, {1, 2}));
    a.add("k_ranges", owned_arrays::make_owned(std::vector<std::int32_t>{1, 3}, {1, 2}));
    a.add("attn_type_map", owned_arrays::make_owned(std::vector<std::int32_t>{type}, {1}));
    const ism::run_mask m = ism::decode_magi(a.views(), six);
    std::vector<std::vector<ism::key_run>> out;
    for (index_t q = 0; q < 6; ++q) out.emplace_back(m.row(q).begin(), m.row(q).end());
    return out;
  };
  using rows = std::vector<std::vector<ism::key_run>>;
  CHECK(rows_of(0) == rows{{{1, 3}}, {{1, 3}}, {{1, 3}}, {{1, 3}}, {{1, 3}}, {}});
  CHECK(rows_of(1) == rows{{}, {}, {}, {{1, 2}}, {{1, 3}}, {}});
  CHECK(rows_of(2) == rows{{{1, 3}}, {{2, 3}}, {}, {}, {}, {}});
  CHECK(rows_of(3) == rows{{}, {}, {}, {}, {}, {}});

  // Malformed files.
  CHECK(x.error(x.file.with("k_ranges", 2, std::int32_t{6})) ==
        "magi: k_ranges[1] is [6, 5); a range is half-open with 0 <= start <= end <= 13");
  CHECK(x.error(x.file.with("k_ranges", 0, std::int32_t{-1})) ==
        "magi: k_ranges[0] is [-1, 2); a range is half-open with 0 <= start <= end <= 13");
  CHECK(x.error(x.file.with("attn_type_map", 4, std::int32_t{4})) ==
        "magi: attn_type_map[4] is 4; types are 0 (full), 1 (causal), 2 (inverse causal) and 3 "
        "(bidirectional causal)");
  // Slice 1 reaching back over slice 0's queries holds their pairs twice.
  CHECK(x.error(x.file.with("q_ranges", 2, std::int32_t{1})) ==
        "magi: slices 0 and 1 both hold query 1 and key 0; the engine would count the pair twice");
}

TEST_CASE("decoders: vllm_ids writes the blocks' ids as int32") {
  const fixture x("vllm_ids", "ism");
  CHECK(int32_items(x.file, "range_ids") ==
        std::vector<std::int32_t>{0, 0, 1, 1, 1, -1, -1, 2, 2, 3, 3, 3, -1});
  CHECK(x.error(x.file.with("range_ids", 6, std::int32_t{13})) ==
        "vllm_ids: range_ids[6] is 13; ids are -1 (causal) or block numbers from 0 to 12");
  CHECK(error_message<ism::format_error>([&] {
          ism::export_arrays(ism::parse_layout("user:3"),
                             ism::interval_mask({0, 0, 0}, {1, 2, 2}), "vllm_ids");
        }) == "vllm_ids cannot express this mask: row 1 sees [0, 2], while token 0 of its block "
              "sees up to 1; the format holds masks that are causal within each document, or "
              "bidirectional inside blocks of tokens");
}

TEST_CASE("decoders: fa4_block_sparse lists full, partial and empty tiles of 128 and more") {
  // Long enough for tiles of every kind.
  const ism::layout l =
      ism::parse_layout("system:40,user:300,assistant:200 | user:100,tool:60,assistant:160");
  const oracle::row r = oracle::describe(l);
  for (const std::string& name : paradigm_names) {
    CAPTURE(name);
    const ism::interval_mask mask = ism::paradigm_from_name(name).intervals(l);
    const oracle::mask expected = oracle::mask_of(name, r);
    for (const ism::export_options& o : {blocks(128, 128), blocks(256, 128), blocks(128, 384)}) {
      const std::string options = options_text(o);
      CAPTURE(options);
      const arrays file(ism::export_arrays(l, mask, "fa4_block_sparse", o).arrays);
      CHECK(disagree(decode("fa4_block_sparse", file.views(), l, mask, o), expected, r.size())
                .pairs == 0);
      if (name == "causal" && o.block == ism::block_size{128, 128}) {
        // 860 tokens: 7 x 7 tiles; the second document starts at 540, in
        // query block 4, and the last block is cut short, so never full.
        CHECK(int32_items(file, "full_block_cnt") == std::vector<std::int32_t>{0, 1, 2, 3, 0, 0, 0});
        CHECK(int32_items(file, "mask_block_cnt") == std::vector<std::int32_t>{1, 1, 1, 1, 5, 2, 3});
      }
      // Index rows cut to the longest list decode the same, as FA4 allows.
      const auto counts = [&](const char* name_) {
        const std::vector<std::int32_t> c = int32_items(file, name_);
        return *std::max_element(c.begin(), c.end());
      };
      const index_t width = std::max(counts("mask_block_cnt"), counts("full_block_cnt"));
      arrays compact = file;
      for (const char* idx : {"mask_block_idx", "full_block_idx"}) {
        std::vector<index_t> shape = file[idx].shape;
        std::vector<std::int32_t> items;
        for (index_t row = 0; row < shape[2]; ++row)
          for (index_t j = 0; j < width; ++j)
            items.push_back(file.get<std::int32_t>(idx, row * shape[3] + j));
        shape[3] = width;
        compact[idx] = owned_arrays::make_owned(items, shape);
      }
      CHECK(disagree(decode("fa4_block_sparse", compact.views(), l, mask, o), expected, r.size())
                .pairs == 0);
    }
  }

  // The block-size rule, on export and in a file.
  const fixture x("fa4_block_sparse", "ism", blocks(128, 128));
  for (const ism::block_size b : {ism::block_size{64, 128}, ism::block_size{128, 96}}) {
    const std::string message = "fa4_block_sparse: block size " + std::to_string(b.q) + "x" +
                                std::to_string(b.k) +
                                " is not a multiple of 128 each way, which FlashAttention-4's "
                                "tiles need";
    CHECK(error_message<ism::argument_error>([&] {
            ism::export_arrays(x.sequence, x.mask, "fa4_block_sparse", blocks(b.q, b.k));
          }) == message);
    CHECK(error_message<ism::argument_error>([&] {
            ism::format_from_name("fa4_block_sparse")
                .shapes(x.sequence, [&]() -> const ism::interval_mask& { return x.mask; },
                        blocks(b.q, b.k));
          }) == message);
  }
  CHECK(x.error(x.file.with("block_size", 1, std::int32_t{0})) ==
        "fa4_block_sparse: block_size: block size 128x0 is not a multiple of 128 each way, which "
        "FlashAttention-4's tiles need");
  arrays wide = x.file;
  wide["mask_block_idx"].shape = {1, 1, 1, 2};
  wide["mask_block_idx"].data.resize(8);
  CHECK(x.error(wide) ==
        "fa4_block_sparse: mask_block_idx lists 2 blocks a row, more than the 1 key blocks");
  CHECK(x.error(x.file.with("full_block_cnt", 0, std::int32_t{1})) ==
        "fa4_block_sparse: key block 0 of query block 0 is listed both full and partial");
  CHECK(x.error(x.file.with("mask_block_idx", 0, std::int32_t{1})) ==
        "fa4_block_sparse: mask_block_idx[0, 0] is 1; a row lists blocks ascending, each in "
        "[0, 1)");
}

TEST_CASE("decoders: the native exports that read documents refuse a mask of another size") {
  const ism::layout l = ism::parse_layout("user:3");
  const ism::interval_mask four({0, 0, 0, 0}, {0, 1, 2, 3});
  for (const char* format : {"flashinfer_ranges", "cudnn_endpoints", "vllm_ids"}) {
    CAPTURE(format);
    CHECK(error_message<ism::shape_error>([&] { ism::export_arrays(l, four, format); }) ==
          std::string(format) + ": the mask has 4 rows but the layout has 3 tokens");
  }
}
