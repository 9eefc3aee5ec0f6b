// The engine exports of include/ism/exports/, each decoded back into
// visible(q, k) from its arrays alone, the way an engine reads them, and
// compared with the brute-force oracle of docs/semantics.md on seeded random layouts
// under every paradigm; plus small cases checked by hand and every error.
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ism/exports.hpp>
#include <ism/layout_text.hpp>
#include <ism/paradigms.hpp>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "error_messages.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;

constexpr int random_layout_count = 150;

// The first pair where decoded(q, k) and the oracle disagree, as text; empty
// when they agree on every pair of the n x n row.
template <class Decoded>
std::string first_mismatch(const oracle::mask& expected, index_t n, Decoded&& decoded) {
  for (index_t q = 0; q < n; ++q)
    for (index_t k = 0; k < n; ++k)
      if (decoded(q, k) != expected.visible(q, k))
        return "(q " + std::to_string(q) + ", k " + std::to_string(k) + "): decoded " +
               std::to_string(decoded(q, k)) + ", oracle " + std::to_string(expected.visible(q, k));
  return {};
}

// ---------------------------------------------------------------------------
// Decoders: what an engine does with the arrays, written from docs/formats.md
// ---------------------------------------------------------------------------

// The document of every token, from cu_seqlens.
std::vector<index_t> documents_of(const std::vector<std::int32_t>& cu_seqlens) {
  std::vector<index_t> out;
  for (std::size_t d = 0; d + 1 < cu_seqlens.size(); ++d)
    for (std::int32_t t = cu_seqlens[d]; t < cu_seqlens[d + 1]; ++t)
      out.push_back(static_cast<index_t>(d));
  return out;
}

// Varlen attention: the same document, and k <= q when causal.
struct varlen_decoder {
  std::vector<index_t> document;
  bool causal;
  bool operator()(index_t q, index_t k) const {
    return document[q] == document[k] && (!causal || k <= q);
  }
};

// HF: same document and (causal or same block id >= 0).
struct hf_decoder {
  std::vector<index_t> document;
  std::vector<std::int64_t> ids;
  bool operator()(index_t q, index_t k) const {
    return document[q] == document[k] && (k <= q || (ids[q] == ids[k] && ids[q] >= 0));
  }
};

// vLLM: same document and (causal or q and k inside one inclusive range,
// relative to the document start).
struct vllm_decoder {
  std::vector<std::int32_t> cu_seqlens;
  std::vector<index_t> document;
  ism::vllm_export x;
  bool operator()(index_t q, index_t k) const {
    if (document[q] != document[k]) return false;
    if (k <= q) return true;
    const index_t d = document[q];
    const index_t d0 = cu_seqlens[d];
    for (index_t r = 0; r < x.ranges_per_document; ++r) {
      const std::int32_t start =
          x.ranges[static_cast<std::size_t>(2 * (d * x.ranges_per_document + r))];
      const std::int32_t end =
          x.ranges[static_cast<std::size_t>(2 * (d * x.ranges_per_document + r) + 1)];
      if (start <= q - d0 && q - d0 <= end && start <= k - d0 && k - d0 <= end) return true;
    }
    return false;
  }
};

// FlashInfer: the request holding q, and the bit of (q, k) in its mask.
struct flashinfer_decoder {
  ism::flashinfer_export x;
  bool operator()(index_t q, index_t k) const {
    const auto r = static_cast<std::size_t>(
        std::upper_bound(x.qo_indptr.begin(), x.qo_indptr.end(), q) - x.qo_indptr.begin() - 1);
    const index_t q0 = x.qo_indptr[r], q1 = x.qo_indptr[r + 1];
    const index_t k0 = x.kv_indptr[r], k1 = x.kv_indptr[r + 1];
    if (k < k0 || k >= k1) return false;
    const index_t bit = (q - q0) * (k1 - k0) + (k - k0);
    REQUIRE(q1 > q);
    const std::uint8_t byte = x.packed_mask[static_cast<std::size_t>(x.mask_indptr[r] + bit / 8)];
    return ((byte >> (bit % 8)) & 1) != 0;
  }
};

// FlashMask: key k is seen by rows [UTE, LTS).
struct flashmask_decoder {
  ism::flashmask_export x;
  bool operator()(index_t q, index_t k) const {
    const std::int32_t lts = x.startend_row_indices[static_cast<std::size_t>(2 * k)];
    const std::int32_t ute = x.startend_row_indices[static_cast<std::size_t>(2 * k + 1)];
    return ute <= q && q < lts;
  }
};

struct intervals_decoder {
  ism::intervals_export x;
  bool operator()(index_t q, index_t k) const { return x.lo[q] <= k && k <= x.hi[q]; }
};

// llama.cpp: 0 is visible, -inf hidden; anything else fails the test.
template <class T>
bool ggml_visible(T value) {
  const auto v = static_cast<float>(value);
  if (v == 0.0f && !std::signbit(v)) return true;
  REQUIRE((std::isinf(v) && v < 0));
  return false;
}

// Which tiles of a chunk hold visible pairs, by brute force over the oracle;
// positions past the chunk's end are hidden.
ism::block_class oracle_tile(const oracle::mask& m, const ism::chunk& c, ism::block_size size,
                             index_t qb, index_t kb) {
  bool seen_visible = false;
  bool seen_hidden = false;
  for (index_t q = c.q0 + qb * size.q; q < c.q0 + (qb + 1) * size.q; ++q)
    for (index_t k = c.k0 + kb * size.k; k < c.k0 + (kb + 1) * size.k; ++k) {
      const bool inside = q < c.q1 && k < c.k1;
      (inside && m.visible(q, k) ? seen_visible : seen_hidden) = true;
    }
  if (!seen_visible) return ism::block_class::empty;
  return seen_hidden ? ism::block_class::partial : ism::block_class::full;
}

// Row i of a padded (rows, width) index array: its `count` entries, checked
// ascending and followed by flex_padding only.
std::vector<std::int32_t> listed_row(const std::vector<std::int32_t>& counts,
                                     const std::vector<std::int32_t>& indices, index_t width,
                                     index_t i) {
  const std::int32_t count = counts[static_cast<std::size_t>(i)];
  REQUIRE(count >= 0);
  REQUIRE(count <= width);
  const auto row = indices.begin() + static_cast<std::ptrdiff_t>(i * width);
  std::vector<std::int32_t> listed(row, row + count);
  CHECK(std::is_sorted(listed.begin(), listed.end()));
  CHECK(std::adjacent_find(listed.begin(), listed.end()) == listed.end());
  CHECK(std::all_of(row + count, row + static_cast<std::ptrdiff_t>(width),
                    [](std::int32_t v) { return v == ism::flex_padding; }));
  return listed;
}

// Checks a flex export of chunk c against the oracle: shapes, every tile's
// class, padding, and that the q_* arrays are the transposes of the kv_* ones.
void check_flex(const ism::flex_export& x, const oracle::mask& m, const ism::chunk& c,
                ism::block_size size) {
  const index_t qb_count = (c.rows() + size.q - 1) / size.q;
  const index_t kb_count = (c.cols() + size.k - 1) / size.k;
  REQUIRE(x.query_blocks == qb_count);
  REQUIRE(x.key_blocks == kb_count);
  REQUIRE(x.kv_num_blocks.size() == static_cast<std::size_t>(qb_count));
  REQUIRE(x.full_kv_num_blocks.size() == static_cast<std::size_t>(qb_count));
  REQUIRE(x.kv_indices.size() == static_cast<std::size_t>(qb_count * kb_count));
  REQUIRE(x.full_kv_indices.size() == static_cast<std::size_t>(qb_count * kb_count));
  REQUIRE(x.q_num_blocks.size() == static_cast<std::size_t>(kb_count));
  REQUIRE(x.full_q_num_blocks.size() == static_cast<std::size_t>(kb_count));
  REQUIRE(x.q_indices.size() == static_cast<std::size_t>(kb_count * qb_count));
  REQUIRE(x.full_q_indices.size() == static_cast<std::size_t>(kb_count * qb_count));
  CHECK(x.block_size == std::array<std::int32_t, 2>{static_cast<std::int32_t>(size.q),
                                                    static_cast<std::int32_t>(size.k)});
  CHECK(x.seq_lengths == std::array<std::int32_t, 2>{static_cast<std::int32_t>(c.rows()),
                                                     static_cast<std::int32_t>(c.cols())});

  // (qb, kb) -> class, read from the kv lists; then the transposes must agree.
  std::vector<ism::block_class> tiles(static_cast<std::size_t>(qb_count * kb_count),
                                      ism::block_class::empty);
  for (index_t qb = 0; qb < qb_count; ++qb) {
    for (const std::int32_t kb : listed_row(x.kv_num_blocks, x.kv_indices, kb_count, qb))
      tiles[static_cast<std::size_t>(qb * kb_count + kb)] = ism::block_class::partial;
    for (const std::int32_t kb :
         listed_row(x.full_kv_num_blocks, x.full_kv_indices, kb_count, qb)) {
      CHECK(tiles[static_cast<std::size_t>(qb * kb_count + kb)] == ism::block_class::empty);
      tiles[static_cast<std::size_t>(qb * kb_count + kb)] = ism::block_class::full;
    }
  }
  for (index_t kb = 0; kb < kb_count; ++kb) {
    std::vector<std::int32_t> partial, full;
    for (index_t qb = 0; qb < qb_count; ++qb) {
      const ism::block_class cls = tiles[static_cast<std::size_t>(qb * kb_count + kb)];
      if (cls == ism::block_class::partial) partial.push_back(static_cast<std::int32_t>(qb));
      if (cls == ism::block_class::full) full.push_back(static_cast<std::int32_t>(qb));
    }
    CHECK(listed_row(x.q_num_blocks, x.q_indices, qb_count, kb) == partial);
    CHECK(listed_row(x.full_q_num_blocks, x.full_q_indices, qb_count, kb) == full);
  }
  index_t wrong = 0;
  for (index_t qb = 0; qb < qb_count; ++qb)
    for (index_t kb = 0; kb < kb_count; ++kb)
      wrong +=
          tiles[static_cast<std::size_t>(qb * kb_count + kb)] != oracle_tile(m, c, size, qb, kb);
  CHECK(wrong == 0);
}

// The bytes write_npy / write_npz produce for an export, which must be what
// its shapes function announced.
std::uint64_t written_bytes(const std::vector<ism::named_array>& arrays) {
  std::ostringstream out;
  if (arrays.size() == 1)
    ism::write_npy(out, arrays[0].array);
  else
    ism::write_npz(out, arrays);
  return out.str().size();
}

std::uint64_t announced_bytes(const std::vector<ism::named_array>& shapes) {
  return shapes.size() == 1 ? ism::npy_bytes(shapes[0].array.shape, shapes[0].array.dtype)
                            : ism::npz_bytes(shapes);
}

std::vector<std::string> names_of(const std::vector<ism::named_array>& arrays) {
  std::vector<std::string> out;
  for (const ism::named_array& a : arrays) out.push_back(a.name);
  return out;
}

// The whole row a third of the time, else a random chunk (empty ones included).
ism::chunk chunk_or_whole(std::mt19937_64& rng, index_t n) {
  return random_layouts::chance(rng, 0.3) ? ism::whole(n) : random_layouts::random_chunk(rng, n);
}

const std::vector<ism::block_size> block_sizes{{1, 1}, {2, 3},   {3, 2},   {4, 4},    {5, 7},
                                               {8, 1}, {16, 16}, {64, 32}, {128, 128}};

}  // namespace

// ---------------------------------------------------------------------------
// Round trips on random layouts
// ---------------------------------------------------------------------------

TEST_CASE("exports: intervals, flashmask and flashinfer decode to the oracle") {
  random_layouts::for_random_layouts(
      random_layouts::default_seed, random_layout_count, [](std::mt19937_64&, const auto& d) {
        const ism::layout row(d);
        const oracle::row r = oracle::describe(d);
        const index_t n = row.size();
        random_layouts::for_each_paradigm([&](auto, const char* name, const ism::any_paradigm& kind) {
          CAPTURE(name);
          const oracle::mask expected = oracle::mask_of(name, r);
          const ism::interval_mask m = ism::make_interval_mask(row, kind);

          const ism::intervals_export iv = ism::export_intervals(m);
          CHECK(first_mismatch(expected, n, intervals_decoder{iv}) == "");
          CHECK(iv.lo == expected.lo);
          CHECK(iv.hi == expected.hi);

          const ism::flashmask_export fm = ism::export_flashmask(m);
          REQUIRE(fm.startend_row_indices.size() == static_cast<std::size_t>(2 * n));
          CHECK(first_mismatch(expected, n, flashmask_decoder{fm}) == "");
          // The same from the on-the-fly view.
          CHECK(ism::export_flashmask(m.view()).startend_row_indices == fm.startend_row_indices);

          const ism::flashinfer_export fi = ism::export_flashinfer(m, row);
          CHECK(first_mismatch(expected, n, flashinfer_decoder{fi}) == "");
          CHECK(fi.qo_indptr == ism::export_cu_seqlens(row).cu_seqlens);
          CHECK(fi.kv_indptr == fi.qo_indptr);
          for (std::size_t req = 0; req + 1 < fi.qo_indptr.size(); ++req) {
            const index_t len = fi.qo_indptr[req + 1] - fi.qo_indptr[req];
            CHECK(fi.mask_indptr[req + 1] - fi.mask_indptr[req] == (len * len + 7) / 8);
            // Bits past the request's L * L are 0.
            const std::uint8_t last =
                fi.packed_mask[static_cast<std::size_t>(fi.mask_indptr[req + 1] - 1)];
            if ((len * len) % 8 != 0) CHECK((last >> ((len * len) % 8)) == 0);
          }
          CHECK(static_cast<index_t>(fi.packed_mask.size()) == ism::flashinfer_mask_bytes(row));
        });
      });
}

TEST_CASE("exports: cu_seqlens, hf and vllm reproduce each paradigm with causal attention") {
  random_layouts::for_random_layouts(
      random_layouts::default_seed + 1000, random_layout_count,
      [](std::mt19937_64&, const auto& d) {
        const ism::layout row(d);
        const oracle::row r = oracle::describe(d);
        const index_t n = row.size();

        const ism::cu_seqlens_export cu = ism::export_cu_seqlens(row);
        std::vector<std::int32_t> starts{0};
        for (const auto& doc : r.documents) starts.push_back(static_cast<std::int32_t>(doc.second));
        CHECK(cu.cu_seqlens == starts);
        const std::vector<index_t> document = documents_of(cu.cu_seqlens);
        CHECK(first_mismatch(oracle::mask_of("causal", r), n, varlen_decoder{document, true}) ==
              "");
        CHECK(first_mismatch(oracle::mask_of("bidirectional", r), n,
                             varlen_decoder{document, false}) == "");

        random_layouts::for_each_paradigm([&](auto, const char* name, const ism::any_paradigm& kind) {
          CAPTURE(name);
          const oracle::mask expected = oracle::mask_of(name, r);

          const ism::hf_export hf = ism::export_hf(row, ism::make_interval_mask(row, kind));
          REQUIRE(hf.block_sequence_ids.size() == static_cast<std::size_t>(n));
          CHECK(first_mismatch(expected, n, hf_decoder{document, hf.block_sequence_ids}) == "");
          // Ids are unique per block: 0, 1, 2, ... in row order, never shared across documents.
          std::int64_t next_id = 0;
          for (index_t t = 0; t < n; ++t) {
            const std::int64_t id = hf.block_sequence_ids[t];
            if (id < 0) continue;
            if (t > 0 && hf.block_sequence_ids[t - 1] == id) {
              CHECK(document[t - 1] == document[t]);
              continue;
            }
            CHECK(id == next_id++);
          }

          const ism::vllm_export v = ism::export_vllm(row, ism::make_interval_mask(row, kind));
          CHECK(v.documents == static_cast<index_t>(r.documents.size()));
          CHECK(v.ranges_per_document == ism::detail::most_blocks_per_document(row, ism::bidirectional_blocks(row, ism::make_interval_mask(row, kind), "vllm")));
          CHECK(v.ranges_per_document >= 1);
          REQUIRE(v.ranges.size() ==
                  static_cast<std::size_t>(v.documents * v.ranges_per_document * 2));
          CHECK(first_mismatch(expected, n, vllm_decoder{cu.cu_seqlens, document, v}) == "");
          // Listed ranges come first and ascending, padding is [-1, -1].
          for (index_t doc = 0; doc < v.documents; ++doc) {
            bool padding = false;
            std::int32_t previous_end = -1;
            for (index_t i = 0; i < v.ranges_per_document; ++i) {
              const std::size_t at =
                  static_cast<std::size_t>(2 * (doc * v.ranges_per_document + i));
              if (v.ranges[at] == ism::vllm_padding) {
                CHECK(v.ranges[at + 1] == ism::vllm_padding);
                padding = true;
                continue;
              }
              CHECK(!padding);
              CHECK(v.ranges[at] > previous_end);
              CHECK(v.ranges[at] <= v.ranges[at + 1]);
              previous_end = v.ranges[at + 1];
            }
          }
        });
      });
}

TEST_CASE("exports: llamacpp decodes to the oracle on chunks, padded and not, in both dtypes") {
  random_layouts::for_random_layouts(
      random_layouts::default_seed + 2000, random_layout_count / 2,
      [](std::mt19937_64& rng, const auto& d) {
        const ism::layout row(d);
        const oracle::row r = oracle::describe(d);
        random_layouts::for_each_paradigm([&](auto, const char* name, const ism::any_paradigm& kind) {
          CAPTURE(name);
          const oracle::mask expected = oracle::mask_of(name, r);
          const ism::interval_mask m = ism::make_interval_mask(row, kind);
          const ism::chunk c = chunk_or_whole(rng, row.size());
          CAPTURE(ism::to_string(c));
          const index_t pad =
              random_layouts::chance(rng, 0.5) ? 1 : random_layouts::uniform(rng, 1, 70);
          CAPTURE(pad);
          const auto check = [&](const auto& x) {
            const index_t padded = (c.rows() + pad - 1) / pad * pad;
            REQUIRE(x.rows == padded);
            REQUIRE(x.keys == c.cols());
            REQUIRE(x.kq_mask.size() == static_cast<std::size_t>(padded * c.cols()));
            index_t wrong = 0;
            for (index_t i = 0; i < padded; ++i)
              for (index_t j = 0; j < c.cols(); ++j) {
                const bool visible = i < c.rows() && expected.visible(c.q0 + i, c.k0 + j);
                wrong +=
                    ggml_visible(x.kq_mask[static_cast<std::size_t>(i * c.cols() + j)]) != visible;
              }
            CHECK(wrong == 0);
          };
          check(ism::export_llamacpp(m, c, pad));
          check(ism::export_llamacpp<float>(m, c, pad));
        });
      });
}

TEST_CASE("exports: flex lists exactly the partial and full tiles, on chunks and block sizes") {
  random_layouts::for_random_layouts(
      random_layouts::default_seed + 3000, random_layout_count,
      [](std::mt19937_64& rng, const auto& d) {
        const ism::layout row(d);
        const oracle::row r = oracle::describe(d);
        random_layouts::for_each_paradigm([&](auto, const char* name, const ism::any_paradigm& kind) {
          CAPTURE(name);
          const oracle::mask expected = oracle::mask_of(name, r);
          const ism::interval_mask m = ism::make_interval_mask(row, kind);
          const ism::chunk c = chunk_or_whole(rng, row.size());
          const ism::block_size size = block_sizes[static_cast<std::size_t>(
              random_layouts::uniform(rng, 0, static_cast<index_t>(block_sizes.size()) - 1))];
          CAPTURE(ism::to_string(c));
          CAPTURE(ism::to_string(size));
          check_flex(ism::export_flex(ism::make_block_mask(m, c, size)), expected, c, size);
        });
      });
}

TEST_CASE("exports: each shapes function announces the exact file size and array names") {
  const ism::layout row =
      ism::parse_layout("system:3,user:5,assistant:4|user:2|assistant:7,user:1");
  for (const ism::any_paradigm& kind : ism::paradigms().all()) {
    CAPTURE(kind.name());
    const ism::interval_mask m = ism::make_interval_mask(row, kind);
    const index_t n = row.size();
    const auto documents = static_cast<index_t>(row.documents().size());

    const ism::flex_export flex = ism::export_flex(ism::make_block_mask(m, ism::block_size{4, 8}));
    CHECK(written_bytes(ism::named_arrays(flex)) ==
          announced_bytes(ism::flex_shapes((n + 3) / 4, (n + 7) / 8)));
    CHECK(names_of(ism::named_arrays(flex)) ==
          std::vector<std::string>{"kv_num_blocks", "kv_indices", "full_kv_num_blocks",
                                   "full_kv_indices", "q_num_blocks", "q_indices",
                                   "full_q_num_blocks", "full_q_indices", "block_size",
                                   "seq_lengths"});

    const ism::flashinfer_export fi = ism::export_flashinfer(m, row);
    CHECK(written_bytes(ism::named_arrays(fi)) ==
          announced_bytes(ism::flashinfer_shapes(documents, ism::flashinfer_mask_bytes(row))));
    CHECK(names_of(ism::named_arrays(fi)) ==
          std::vector<std::string>{"packed_mask", "mask_indptr", "qo_indptr", "kv_indptr"});

    const ism::flashmask_export fm = ism::export_flashmask(m);
    CHECK(written_bytes(ism::named_arrays(fm)) == announced_bytes(ism::flashmask_shapes(n)));
    CHECK(names_of(ism::named_arrays(fm)) == std::vector<std::string>{"startend_row_indices"});

    const ism::hf_export hf = ism::export_hf(row, ism::make_interval_mask(row, kind));
    CHECK(written_bytes(ism::named_arrays(hf)) == announced_bytes(ism::hf_shapes(n)));
    CHECK(names_of(ism::named_arrays(hf)) == std::vector<std::string>{"block_sequence_ids"});

    const ism::vllm_export v = ism::export_vllm(row, ism::make_interval_mask(row, kind));
    CHECK(written_bytes(ism::named_arrays(v)) ==
          announced_bytes(ism::vllm_shapes(documents, ism::detail::most_blocks_per_document(row, ism::bidirectional_blocks(row, ism::make_interval_mask(row, kind), "vllm")))));
    CHECK(names_of(ism::named_arrays(v)) == std::vector<std::string>{"ranges"});

    const auto llama = ism::export_llamacpp(m, 64);
    CHECK(written_bytes(ism::named_arrays(llama)) ==
          announced_bytes(ism::llamacpp_shapes<Eigen::half>(64, n)));
    CHECK(ism::named_arrays(llama)[0].array.dtype == ism::npy_dtype::float16);
    CHECK(ism::named_arrays(ism::export_llamacpp<float>(m))[0].array.dtype ==
          ism::npy_dtype::float32);
    CHECK(names_of(ism::named_arrays(llama)) == std::vector<std::string>{"kq_mask"});

    const ism::cu_seqlens_export cu = ism::export_cu_seqlens(row);
    CHECK(written_bytes(ism::named_arrays(cu)) ==
          announced_bytes(ism::cu_seqlens_shapes(documents)));
    CHECK(names_of(ism::named_arrays(cu)) == std::vector<std::string>{"cu_seqlens"});

    const ism::intervals_export iv = ism::export_intervals(m);
    CHECK(written_bytes(ism::named_arrays(iv)) == announced_bytes(ism::intervals_shapes(n)));
    CHECK(names_of(ism::named_arrays(iv)) == std::vector<std::string>{"lo", "hi"});
  }
}

// ---------------------------------------------------------------------------
// Small cases checked by hand
// ---------------------------------------------------------------------------

// Tokens: system [0, 3), user [3, 5), assistant [5, 8) | user [8, 10), assistant [10, 11).
// Under ism, rows 0-2 see [0, 2], 3-4 [0, 4], 5-7 [0, q], 8-9 [8, 9], 10 [8, 10].
TEST_CASE("exports: hand-checked ism row") {
  const ism::layout row = ism::parse_layout("system:3,user:2,assistant:3|user:2,assistant:1");
  const ism::interval_mask m = ism::make_interval_mask(row, ism::paradigm_from_name("ism"));

  CHECK(ism::export_intervals(m).lo == std::vector<std::int64_t>{0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8});
  CHECK(ism::export_intervals(m).hi == std::vector<std::int64_t>{2, 2, 2, 4, 4, 5, 6, 7, 9, 9, 10});
  // [LTS, UTE]: a system key is seen by rows [0, 8), a user key by [3, 8), an answer key k by [k,
  // 8).
  CHECK(ism::export_flashmask(m).startend_row_indices ==
        std::vector<std::int32_t>{8, 0, 8, 0, 8, 0,  8, 3,  8, 3,  8,
                                  5, 8, 6, 8, 7, 11, 8, 11, 8, 11, 10});
  CHECK(ism::export_cu_seqlens(row).cu_seqlens == std::vector<std::int32_t>{0, 8, 11});
  CHECK(ism::export_hf(row, ism::make_interval_mask(row, ism::paradigm_from_name("ism"))).block_sequence_ids ==
        std::vector<std::int64_t>{0, 0, 0, 1, 1, -1, -1, -1, 2, 2, -1});
  const ism::vllm_export v = ism::export_vllm(row, ism::make_interval_mask(row, ism::paradigm_from_name("ism")));
  CHECK(v.documents == 2);
  CHECK(v.ranges_per_document == 2);
  CHECK(v.ranges == std::vector<std::int32_t>{0, 2, 3, 4, 0, 1, -1, -1});

  // Document 0 (8 x 8): rows 0-2 = 0b111, rows 3-4 = 0b11111, then 0x3f, 0x7f, 0xff.
  // Document 1 (3 x 3, 9 bits): row 0 bits 0-1, row 1 bits 3-4, row 2 bits 6-8.
  const ism::flashinfer_export fi = ism::export_flashinfer(m, row);
  CHECK(fi.packed_mask == std::vector<std::uint8_t>{0x07, 0x07, 0x07, 0x1f, 0x1f, 0x3f, 0x7f, 0xff,
                                                    0b11011011, 0b00000001});
  CHECK(fi.mask_indptr == std::vector<std::int32_t>{0, 8, 10});
  CHECK(fi.qo_indptr == std::vector<std::int32_t>{0, 8, 11});
  CHECK(fi.kv_indptr == std::vector<std::int32_t>{0, 8, 11});

  // Blocks of 4 queries x 2 keys: QB = 3 (the last of 3 rows), KB = 6 (the last of 1 key).
  const ism::flex_export flex = ism::export_flex(ism::make_block_mask(m, ism::block_size{4, 2}));
  CHECK(flex.kv_num_blocks == std::vector<std::int32_t>{2, 2, 2});
  CHECK(flex.kv_indices == std::vector<std::int32_t>{1, 2, 0, 0, 0, 0,  //
                                                     2, 3, 0, 0, 0, 0,  //
                                                     4, 5, 0, 0, 0, 0});
  CHECK(flex.full_kv_num_blocks == std::vector<std::int32_t>{1, 2, 0});
  CHECK(flex.full_kv_indices == std::vector<std::int32_t>{0, 0, 0, 0, 0, 0,  //
                                                          0, 1, 0, 0, 0, 0,  //
                                                          0, 0, 0, 0, 0, 0});
  CHECK(flex.q_num_blocks == std::vector<std::int32_t>{0, 1, 2, 1, 1, 1});
  CHECK(flex.q_indices ==
        std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 0, 0, 2, 0, 0});
  CHECK(flex.full_q_num_blocks == std::vector<std::int32_t>{2, 1, 0, 0, 0, 0});
  CHECK(flex.full_q_indices ==
        std::vector<std::int32_t>{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(flex.block_size == std::array<std::int32_t, 2>{4, 2});
  CHECK(flex.seq_lengths == std::array<std::int32_t, 2>{11, 11});

  // 11 rows pad to 12, a multiple of 4; the padding row is all hidden.
  const auto llama = ism::export_llamacpp<float>(m, 4);
  CHECK(llama.rows == 12);
  CHECK(llama.keys == 11);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(std::vector<float>(llama.kq_mask.begin() + 3 * 11, llama.kq_mask.begin() + 4 * 11) ==
        std::vector<float>{0, 0, 0, 0, 0, -inf, -inf, -inf, -inf, -inf, -inf});
  CHECK(std::all_of(llama.kq_mask.begin() + 11 * 11, llama.kq_mask.end(),
                    [&](float x) { return x == -inf; }));
}

TEST_CASE("exports: hand-checked bidirectional blocks of prefix, bidirectional and causal") {
  // P = 5 in document 0 (the trailing answer is [5, 7)); document 1 is all answer,
  // so its prefix is empty; document 2 ends with a context segment, so P = d1.
  const ism::layout row =
      ism::parse_layout("user:2,assistant:2,user:1,assistant:2|assistant:3|system:1,user:2");
  using block = ism::bidirectional_block;
  CHECK(ism::bidirectional_blocks(row, ism::make_interval_mask(row, ism::paradigm_from_name("prefix")), "hf") ==
        std::vector<block>{{0, 5, 0}, {10, 13, 2}});
  CHECK(ism::bidirectional_blocks(row, ism::make_interval_mask(row, ism::paradigm_from_name("bidirectional")), "hf") ==
        std::vector<block>{{0, 7, 0}, {7, 10, 1}, {10, 13, 2}});
  CHECK(ism::bidirectional_blocks(row, ism::make_interval_mask(row, ism::paradigm_from_name("ism")), "hf") ==
        std::vector<block>{{0, 2, 0}, {11, 13, 2}});  // one-token segments add nothing to causal
  CHECK(ism::bidirectional_blocks(row, ism::make_interval_mask(row, ism::paradigm_from_name("causal")), "hf").empty());

  CHECK(ism::export_hf(row, ism::make_interval_mask(row, ism::paradigm_from_name("prefix"))).block_sequence_ids ==
        std::vector<std::int64_t>{0, 0, 0, 0, 0, -1, -1, -1, -1, -1, 1, 1, 1});
  CHECK(ism::export_vllm(row, ism::make_interval_mask(row, ism::paradigm_from_name("prefix"))).ranges ==
        std::vector<std::int32_t>{0, 4, -1, -1, 0, 2});
  // ism: documents 0 and 2 have one context segment longer than a token each.
  CHECK(ism::export_vllm(row, ism::make_interval_mask(row, ism::paradigm_from_name("ism"))).ranges ==
        std::vector<std::int32_t>{0, 1, -1, -1, 1, 2});
  // causal: no block anywhere, one padding range per document.
  const ism::vllm_export causal = ism::export_vllm(row, ism::make_interval_mask(row, ism::paradigm_from_name("causal")));
  CHECK(causal.ranges_per_document == 1);
  CHECK(causal.ranges == std::vector<std::int32_t>(6, -1));
  CHECK(ism::export_hf(row, ism::make_interval_mask(row, ism::paradigm_from_name("causal"))).block_sequence_ids ==
        std::vector<std::int64_t>(13, -1));
}

TEST_CASE("exports: flashmask is exact for interval masks that are not monotone") {
  // Row 0 sees key 2, row 1 keys 1-2, row 2 key 0, row 3 nothing: lo decreases,
  // yet each key is seen by one range of rows; key 3 by none.
  const ism::interval_mask m({2, 1, 0, 4}, {2, 2, 0, 3});
  CHECK(!m.monotone());
  CHECK(ism::export_flashmask(m).startend_row_indices ==
        std::vector<std::int32_t>{3, 2, 2, 1, 2, 0, 0, 0});
  // A composition works through its intervals: ism under a window of 2 keys.
  const ism::layout row = ism::parse_layout("user:3,assistant:3");
  const ism::interval_mask ism_mask = ism::make_interval_mask(row, ism::paradigm_from_name("ism"));
  const auto windowed = ism::and_masks(ism_mask.view(), ism::sliding_window(2));
  const ism::flashmask_export fm = ism::export_flashmask(windowed);
  for (index_t q = 0; q < 6; ++q)
    for (index_t k = 0; k < 6; ++k) {
      CAPTURE(q);
      CAPTURE(k);
      CHECK(flashmask_decoder{fm}(q, k) == windowed.visible(q, k));
    }
  CHECK(ism::export_intervals(windowed).hi == std::vector<std::int64_t>{2, 2, 2, 3, 4, 5});
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

namespace {

// A mask of 2^31 rows that is never materialized.
struct huge_mask {
  index_t size() const { return index_t{1} << 31; }
  ism::row_interval interval(index_t q) const { return {0, q}; }
  bool visible(index_t q, index_t k) const { return k <= q; }
};

}  // namespace

TEST_CASE("exports: every error names the problem") {
  const ism::layout row = ism::parse_layout("user:2|user:2");
  // hf and vllm hold "causal, or one block" masks only.
  const ism::interval_mask window({0, 0, 2, 3}, {0, 1, 2, 3});
  CHECK(error_message<ism::format_error>([&] { ism::export_hf(row, window); }) ==
        "hf cannot express this mask: row 3 sees [3, 3], which does not start at its document's "
        "first token; the format holds masks that are causal within each document, or "
        "bidirectional inside blocks of tokens");
  const ism::interval_mask ragged({0, 0, 2, 2}, {1, 0, 3, 3});
  CHECK(error_message<ism::format_error>([&] { ism::export_vllm(row, ragged); }) ==
        "vllm cannot express this mask: row 1 sees [0, 0], while token 0 of its block sees up "
        "to 1; the format holds masks that are causal within each document, or bidirectional "
        "inside blocks of tokens");
  CHECK(error_message<ism::format_error>([&] {
          ism::export_hf(row, ism::interval_mask({0, 0, 2, 2}, {0, 0, 2, 2}));
        }).find("row 1 sees [0, 0], which stops before the token itself") != std::string::npos);
  CHECK(error_message<ism::shape_error>([&] {
          ism::export_hf(ism::parse_layout("user:3"), window);
        }) == "hf: the mask has 4 rows but the layout has 3 tokens");

  // flashmask: key 1 is seen by rows 0 and 2 only.
  CHECK(error_message<ism::format_error>([] {
          ism::export_flashmask(ism::interval_mask({1, 0, 1}, {1, 0, 1}));
        }) ==
        "flashmask: key 1 is seen by rows 0 and 2 but not by row 1 between them; "
        "FlashMask's [LTS, UTE] form holds one range of rows per key");
  CHECK(error_message<ism::shape_error>([] { ism::export_flashmask(huge_mask{}); }) ==
        "flashmask: a mask of 2147483648 rows does not fit FlashMask's int32 row indices");

  // flashinfer
  const ism::interval_mask one_document =
      ism::make_interval_mask(ism::parse_layout("user:4"), ism::paradigm_from_name("bidirectional"));
  CHECK(error_message<ism::shape_error>([&] {
          ism::export_flashinfer(one_document, ism::parse_layout("user:5"));
        }) == "flashinfer: the mask has 4 rows but the layout has 5 tokens");
  CHECK(error_message<ism::argument_error>([&] { ism::export_flashinfer(one_document, row); }) ==
        "flashinfer: row 0 sees keys [0, 3], outside its document [0, 2); one request per "
        "document cannot hold them");
  // 131,071 tokens fill 2,147,450,881 bytes; one more token passes 2^31 - 1.
  CHECK(ism::flashinfer_mask_bytes(ism::parse_layout("user:131071|user:1")) == 2147450882);
  const ism::layout too_long = ism::parse_layout("user:131072");
  const std::string too_many_bytes =
      "flashinfer: the packed mask would be 2147483648 bytes, past the int32 byte offsets of "
      "mask_indptr";
  CHECK(error_message<ism::shape_error>([&] { ism::flashinfer_mask_bytes(too_long); }) ==
        too_many_bytes);
  CHECK(error_message<ism::shape_error>([&] {
          ism::export_flashinfer(ism::make_interval_mask(too_long, ism::paradigm_from_name("causal")),
                                 too_long);
        }) == too_many_bytes);

  // flex: block_size and seq_lengths are int32.
  const ism::interval_mask small = ism::make_interval_mask(row, ism::paradigm_from_name("causal"));
  CHECK(error_message<ism::argument_error>([&] {
          ism::export_flex(ism::make_block_mask(small, ism::block_size{1, index_t{1} << 31}));
        }) == "flex: block size 1 x 2147483648 does not fit FlexAttention's int32 block_size");
  // A bare predicate over 2^31 rows: each tile stops at its second pair.
  const ism::predicate_mask alternating{[](index_t q, index_t k) { return (q + k) % 2 == 0; }};
  CHECK(error_message<ism::shape_error>([&] {
          ism::export_flex(ism::make_block_mask(alternating, ism::chunk{0, index_t{1} << 31, 0, 1},
                                                ism::block_size{index_t{1} << 30, 1}));
        }) ==
        "flex: chunk [0, 2147483648) x [0, 1) does not fit FlexAttention's int32 "
        "seq_lengths");

  // llamacpp
  CHECK(error_message<ism::argument_error>([&] { ism::export_llamacpp(small, 0); }) ==
        "llamacpp: row padding 0 must be at least 1");
  CHECK(error_message<ism::argument_error>([] { ism::llamacpp_padded_rows(5, -3); }) ==
        "llamacpp: row padding -3 must be at least 1");
  CHECK(ism::llamacpp_padded_rows(5, ism::max_index) == ism::max_index);
  CHECK(error_message<ism::shape_error>(
            [] { ism::llamacpp_padded_rows(ism::max_index - 1, ism::max_index / 2 + 1); }) ==
        "llamacpp: 9223372036854775806 rows padded to a multiple of 4611686018427387904 "
        "overflow a 64-bit count");
  CHECK(error_message<ism::shape_error>([&] {
          ism::export_llamacpp(small, ism::chunk{0, 5, 0, 4});
        }) == "chunk [0, 5) x [0, 4) leaves the mask's 4 positions");
  CHECK(error_message<ism::shape_error>([&] { ism::export_llamacpp(small, ism::max_index); }) ==
        "llamacpp: 9223372036854775807 rows (padded to a multiple of 9223372036854775807) of 4 "
        "keys are more elements than a vector holds");
  std::vector<float> buffer(7);
  CHECK(error_message<ism::argument_error>([&] {
          ism::fill_llamacpp_rows<float>(small, ism::whole(4), -1, 1, std::span<float>(buffer));
        }) == "llamacpp: first_row -1 and rows 1 must not be negative");
  CHECK(error_message<ism::shape_error>([&] {
          ism::fill_llamacpp_rows<float>(small, ism::whole(4), 0, 2, std::span<float>(buffer));
        }) == "llamacpp: a buffer of 7 elements for 2 rows of 4 keys");
}
