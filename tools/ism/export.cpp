// `ism export`: a mask as a NumPy file (FORMATS.md). Sizes are checked against
// --max-bytes from shapes alone, before any mask is built. Dense outputs
// (dense, additive, llamacpp) stream one block of rows at a time, so an N x N
// export holds its O(N) intervals plus one block; the other formats are built
// whole by include/ism/exports/ and are O(N), or O(QB x KB) for flex and
// O(sum of document lengths squared / 8) for flashinfer.
#include <algorithm>
#include <array>
#include <charconv>
#include <iostream>
#include <ism/exports.hpp>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "commands.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

constexpr std::uint64_t default_max_bytes = std::uint64_t{1} << 30;
// Rows are produced in blocks of about this many bytes.
constexpr std::size_t block_bytes = std::size_t{8} << 20;

enum class export_format {
  dense,
  additive,
  intervals,
  flex,
  flashinfer,
  flashmask,
  hf,
  vllm,
  llamacpp,
  cu_seqlens
};

struct dtype_choice {
  std::string_view name;
  ism::npy_dtype dtype;
};

struct format_info {
  std::string_view name;
  export_format format;
  std::vector<dtype_choice> dtypes;  // the first is the default; empty when fixed
  bool quadratic;                    // grows faster than N, so intervals is the way out
};

const std::vector<format_info>& formats() {
  using ism::npy_dtype;
  static const std::vector<format_info> all{
      {"dense",
       export_format::dense,
       {{"bool", npy_dtype::boolean}, {"uint8", npy_dtype::uint8}},
       true},
      {"additive",
       export_format::additive,
       {{"float32", npy_dtype::float32},
        {"float16", npy_dtype::float16},
        {"bfloat16", npy_dtype::bfloat16}},
       true},
      {"intervals", export_format::intervals, {{"int64", npy_dtype::int64}}, false},
      {"flex", export_format::flex, {{"int32", npy_dtype::int32}}, true},
      {"flashinfer", export_format::flashinfer, {}, true},
      {"flashmask", export_format::flashmask, {{"int32", npy_dtype::int32}}, false},
      {"hf", export_format::hf, {{"int64", npy_dtype::int64}}, false},
      {"vllm", export_format::vllm, {{"int32", npy_dtype::int32}}, false},
      {"llamacpp",
       export_format::llamacpp,
       {{"float16", npy_dtype::float16}, {"float32", npy_dtype::float32}},
       true},
      {"cu_seqlens", export_format::cu_seqlens, {{"int32", npy_dtype::int32}}, false}};
  return all;
}

const format_info& format_argument(const std::string& name) {
  std::string accepted;
  for (const format_info& f : formats()) {
    if (f.name == name) return f;
    accepted += (accepted.empty() ? "" : ", ") + std::string(f.name);
  }
  throw ism::argument_error("unknown format '" + name + "'; expected one of " + accepted);
}

// flashinfer, whose arrays mix two dtypes, takes no --dtype, and the choice
// returned for it is never read; the other fixed-dtype formats list their one
// dtype and accept its name.
dtype_choice dtype_argument(const format_info& format, const std::optional<std::string>& name) {
  if (format.dtypes.empty()) {
    if (name)
      throw ism::argument_error("--dtype does not apply to format " + std::string(format.name) +
                                ", whose arrays have fixed dtypes");
    return {"", ism::npy_dtype::uint8};
  }
  if (!name) return format.dtypes.front();
  std::string accepted;
  for (const dtype_choice& d : format.dtypes) {
    if (d.name == *name) return d;
    accepted += (accepted.empty() ? "" : " or ") + std::string(d.name);
  }
  throw ism::argument_error("--dtype '" + *name + "' does not apply to format " +
                            std::string(format.name) + "; expected " + accepted);
}

// An option that only one format reads.
void check_option_applies(const arguments& args, std::string_view option, const format_info& format,
                          export_format owner, std::string_view owner_name) {
  if (args.has(option) && format.format != owner)
    throw ism::argument_error(std::string(option) + " applies to --format " +
                              std::string(owner_name) + " only, not " + std::string(format.name));
}

// One side of --block: a positive integer that fits FlexAttention's int32.
std::optional<ism::index_t> block_side(std::string_view text) {
  ism::index_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 1 ||
      value > std::numeric_limits<std::int32_t>::max())
    return std::nullopt;
  return value;
}

// --block BQ[,BK]; BK defaults to BQ, and both to 128.
ism::block_size block_argument(const arguments& args) {
  const std::optional<std::string> text = args.find("--block");
  if (!text) return {};
  const std::size_t comma = text->find(',');
  const std::string_view all(*text);
  const std::optional<ism::index_t> q = block_side(all.substr(0, comma));
  const std::optional<ism::index_t> k =
      comma == std::string::npos ? q : block_side(all.substr(comma + 1));
  if (!q || !k)
    throw usage_error(
        "option --block expects BQ or BQ,BK, integers from 1 to 2147483647, got '" + *text + "'",
        "ism export");
  return {*q, *k};
}

// --pad N: llama.cpp rows padded to a multiple of N; 1 pads nothing.
ism::index_t pad_argument(const arguments& args) {
  const std::uint64_t pad = args.number("--pad", 1);
  if (pad < 1 || pad > static_cast<std::uint64_t>(ism::max_index))
    throw usage_error(
        "option --pad expects a row multiple from 1 to 2^63 - 1, got '" + args.value("--pad") + "'",
        "ism export");
  return static_cast<ism::index_t>(pad);
}

std::string_view dtype_name(ism::npy_dtype dtype) {
  switch (dtype) {
    case ism::npy_dtype::boolean:
      return "bool";
    case ism::npy_dtype::uint8:
      return "uint8";
    case ism::npy_dtype::int32:
      return "int32";
    case ism::npy_dtype::int64:
      return "int64";
    case ism::npy_dtype::float16:
      return "float16";
    case ism::npy_dtype::bfloat16:
      return "bfloat16";
    case ism::npy_dtype::float32:
      return "float32";
  }
  return "?";
}

std::string shape_text(std::span<const ism::index_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// What the command writes, decided before any work: the arrays' names, dtypes
// and shapes (one array makes a .npy file, several an .npz archive) and the
// file's exact size.
struct export_plan {
  const format_info* format;
  ism::block_size block;
  std::vector<ism::named_array> arrays;
  std::uint64_t bytes = 0;

  bool npz() const { return arrays.size() > 1; }
};

std::vector<ism::named_array> shapes_of(const format_info& format, ism::npy_dtype dtype,
                                        const ism::layout& sequence, ism::paradigm_kind kind,
                                        ism::block_size block, ism::index_t pad) {
  const ism::index_t n = sequence.size();
  const auto documents = static_cast<ism::index_t>(sequence.documents().size());
  switch (format.format) {
    case export_format::dense:
      return {{"mask", {dtype, {n, n}, {}}}};
    case export_format::additive:
      return {{"bias", {dtype, {n, n}, {}}}};
    case export_format::intervals:
      return ism::intervals_shapes(n);
    case export_format::flex: {
      const ism::block_grid grid(ism::whole(n), block);
      return ism::flex_shapes(grid.query_blocks(), grid.key_blocks());
    }
    case export_format::flashinfer:
      return ism::flashinfer_shapes(documents, ism::flashinfer_mask_bytes(sequence));
    case export_format::flashmask:
      return ism::flashmask_shapes(n);
    case export_format::hf:
      return ism::hf_shapes(n);
    case export_format::vllm:
      return ism::vllm_shapes(documents, ism::vllm_ranges_per_document(sequence, kind));
    case export_format::llamacpp: {
      const ism::index_t rows = ism::llamacpp_padded_rows(n, pad);
      return dtype == ism::npy_dtype::float16 ? ism::llamacpp_shapes<Eigen::half>(rows, n)
                                              : ism::llamacpp_shapes<float>(rows, n);
    }
    case export_format::cu_seqlens:
      return ism::cu_seqlens_shapes(documents);
  }
  throw ism::argument_error("export: format value names no format");
}

// Writes a (rows, cols) array a block of rows at a time: fill(r0, r1, out)
// writes rows [r0, r1) into out.
template <class T, class Fill>
void stream_rows(std::ostream& os, const ism::npy_array& shape, Fill fill) {
  const ism::index_t rows = shape.shape[0];
  const ism::index_t cols = shape.shape[1];
  ism::npy_writer writer(os, shape.dtype, shape.shape);
  const ism::index_t block = std::max<ism::index_t>(
      1, static_cast<ism::index_t>(block_bytes / (sizeof(T) * static_cast<std::size_t>(cols))));
  const auto buffer = std::make_unique<T[]>(static_cast<std::size_t>(block * cols));
  for (ism::index_t r0 = 0; r0 < rows; r0 += block) {
    const ism::index_t r1 = std::min(rows, r0 + block);
    const std::span<T> out(buffer.get(), static_cast<std::size_t>((r1 - r0) * cols));
    fill(r0, r1, out);
    // For uint8 files this writes the bool bytes as they are: 0 or 1.
    writer.write_raw(std::as_bytes(std::span<const T>(out)));
  }
  writer.finish();
}

template <class T>
void stream_additive(std::ostream& os, const ism::npy_array& shape, const ism::interval_mask& m) {
  stream_rows<T>(os, shape, [&](ism::index_t r0, ism::index_t r1, std::span<T> out) {
    ism::fill_additive_mask<T>(m, {r0, r1, 0, m.size()}, out, m.size());
  });
}

template <class T>
void stream_llamacpp(std::ostream& os, const ism::npy_array& shape, const ism::interval_mask& m) {
  stream_rows<T>(os, shape, [&](ism::index_t r0, ism::index_t r1, std::span<T> out) {
    ism::fill_llamacpp_rows<T>(m, ism::whole(m.size()), r0, r1 - r0, out);
  });
}

// Builds an export whole and writes its arrays.
template <class Export>
void write_arrays(std::ostream& os, const Export& x) {
  const std::vector<ism::named_array> arrays = ism::named_arrays(x);
  if (arrays.size() == 1)
    ism::write_npy(os, arrays.front().array);
  else
    ism::write_npz(os, arrays);
}

void write_export(std::ostream& os, const export_plan& plan, const ism::layout& sequence,
                  ism::paradigm_kind kind) {
  const ism::npy_array& first = plan.arrays.front().array;
  const auto mask = [&] { return ism::make_interval_mask(sequence, kind); };
  switch (plan.format->format) {
    case export_format::dense: {
      const ism::interval_mask m = mask();
      stream_rows<bool>(os, first, [&](ism::index_t r0, ism::index_t r1, std::span<bool> out) {
        ism::fill_dense_mask(m, {r0, r1, 0, m.size()}, out, m.size());
      });
      return;
    }
    case export_format::additive:
      if (first.dtype == ism::npy_dtype::float32)
        stream_additive<float>(os, first, mask());
      else if (first.dtype == ism::npy_dtype::float16)
        stream_additive<Eigen::half>(os, first, mask());
      else
        stream_additive<Eigen::bfloat16>(os, first, mask());
      return;
    case export_format::llamacpp:
      if (first.dtype == ism::npy_dtype::float16)
        stream_llamacpp<Eigen::half>(os, first, mask());
      else
        stream_llamacpp<float>(os, first, mask());
      return;
    case export_format::intervals:
      return write_arrays(os, ism::export_intervals(mask()));
    case export_format::flex:
      return write_arrays(os, ism::export_flex(ism::make_block_mask(mask(), plan.block)));
    case export_format::flashinfer:
      return write_arrays(os, ism::export_flashinfer(mask(), sequence));
    case export_format::flashmask:
      return write_arrays(os, ism::export_flashmask(mask()));
    case export_format::hf:
      return write_arrays(os, ism::export_hf(sequence, kind));
    case export_format::vllm:
      return write_arrays(os, ism::export_vllm(sequence, kind));
    case export_format::cu_seqlens:
      return write_arrays(os, ism::export_cu_seqlens(sequence));
  }
}

int run_export(const arguments& args) {
  const std::uint64_t max_bytes = args.number("--max-bytes", default_max_bytes);
  const ism::layout sequence = layout_argument(args);
  const ism::paradigm_kind kind = paradigm_argument(args);
  const format_info& format = format_argument(args.value("--format"));
  const dtype_choice dtype = dtype_argument(format, args.find("--dtype"));
  check_option_applies(args, "--block", format, export_format::flex, "flex");
  check_option_applies(args, "--pad", format, export_format::llamacpp, "llamacpp");
  const std::string& path = args.value("--output");

  // Size everything from shapes alone, before any work.
  const ism::block_size block = block_argument(args);
  export_plan plan{&format, block,
                   shapes_of(format, dtype.dtype, sequence, kind, block, pad_argument(args))};
  plan.bytes = plan.npz() ? ism::npz_bytes(plan.arrays)
                          : ism::npy_bytes(plan.arrays[0].array.shape, plan.arrays[0].array.dtype);
  if (plan.bytes > max_bytes)
    throw ism::argument_error(
        "the output would be " + std::to_string(plan.bytes) + " bytes (" + human_bytes(plan.bytes) +
        "), over the --max-bytes limit of " + std::to_string(max_bytes) + " bytes (" +
        human_bytes(max_bytes) + ")" +
        (format.quadratic ? "; raise --max-bytes, or export --format intervals"
                          : "; raise --max-bytes"));
  // write_npz refuses this too, but only once the arrays exist.
  if (plan.npz() && plan.bytes > ism::npz_max_bytes)
    throw ism::argument_error("the .npz would be " + std::to_string(plan.bytes) + " bytes (" +
                              human_bytes(plan.bytes) + "), over the " +
                              std::to_string(ism::npz_max_bytes) +
                              " bytes (4 GiB) a ZIP archive holds without ZIP64, which ism does "
                              "not write");

  atomic_file output(path);
  output.write([&](std::ostream& os) { write_export(os, plan, sequence, kind); },
               [&] {
                 std::string contents;
                 for (const ism::named_array& a : plan.arrays)
                   contents += (contents.empty() ? "" : ", ") + a.name + " " +
                               std::string(dtype_name(a.array.dtype)) + " " +
                               shape_text(a.array.shape);
                 std::cout << "wrote " << path << ": " << ism::paradigm_name(kind) << " "
                           << format.name << " mask, " << contents << ", "
                           << grouped(static_cast<std::int64_t>(plan.bytes)) << " bytes\n";
               });
  return exit_ok;
}

}  // namespace

command export_command() {
  return {"export",
          "Write a mask as a NumPy file for an attention engine (dense, flex, flashinfer, ...)",
          "Writes the mask of one paradigm over a layout in an attention engine's format. Files "
          "are NumPy .npy (one array) or .npz (several, stored uncompressed), little-endian, C "
          "order. Row = query, column = key, in absolute positions. Formats:\n"
          "  dense       .npy bool mask [N, N]: true = visible (--dtype uint8: 0/1 bytes)\n"
          "  additive    .npy float32 bias [N, N]: 0 visible, -inf hidden (--dtype float16,\n"
          "              or bfloat16 stored as raw bits in uint16: view them as bfloat16)\n"
          "  intervals   .npz int64 lo [N], hi [N]: row q sees keys lo[q]..hi[q]\n"
          "  flex        .npz int32 FlexAttention BlockMask: kv_num_blocks [QB],\n"
          "              kv_indices [QB, KB], full_kv_num_blocks, full_kv_indices,\n"
          "              the transposes q_num_blocks [KB], q_indices [KB, QB],\n"
          "              full_q_num_blocks, full_q_indices, and block_size [2],\n"
          "              seq_lengths [2]; indices past each count are 0;\n"
          "              --block BQ[,BK] (default 128)\n"
          "  flashinfer  .npz FlashInfer custom mask, one request per document: uint8\n"
          "              packed_mask (row-major, least significant bit first), int32\n"
          "              mask_indptr (byte offsets), qo_indptr, kv_indptr [D + 1]\n"
          "  flashmask   .npy int32 startend_row_indices [N, 2]: [LTS, UTE] per key, seen\n"
          "              by rows [UTE, LTS)\n"
          "  hf          .npy int64 block_sequence_ids [N]: the bidirectional block's\n"
          "              id, -1 outside blocks\n"
          "  vllm        .npy int32 ranges [D, R, 2]: inclusive bidirectional ranges per\n"
          "              document, relative to its start, padded with -1\n"
          "  llamacpp    .npy float16 kq_mask [N', N]: 0 visible, -inf hidden (--dtype\n"
          "              float32); --pad 64 pads rows to a multiple of 64 with -inf rows\n"
          "  cu_seqlens  .npy int32 cu_seqlens [D + 1]: document starts, then N\n"
          "\n"
          "hf and vllm hold the blocks that see each other whole (ism: context segments; prefix: "
          "the prefix; bidirectional: documents; causal: none): with causal attention inside each "
          "document (cu_seqlens) they reproduce the mask.\n"
          "\n"
          "The file is written to a new temporary file beside FILE and renamed over FILE when "
          "complete, so an error never leaves a partial file. A symbolic link FILE is followed "
          "and kept; a FILE that is not a regular file (a directory, a device) is refused. "
          "Outputs over --max-bytes, and .npz archives over the 4 GiB of a ZIP without ZIP64, are "
          "refused before any work. dense, additive and llamacpp are written a block of rows at a "
          "time.\n"
          "\n"
          "Examples:\n"
          "  ism export --layout u:4,a:3 --paradigm ism --format dense -o mask.npy\n"
          "  ism export --layout u:90,a:60 --paradigm ism --format flex --block 64 -o m.npz",
          {layout_option(),
           paradigm_option(true),
           {"--format", "", "F",
            "dense, additive, intervals, flex, flashinfer, flashmask, hf, vllm, llamacpp or "
            "cu_seqlens.",
            true},
           {"--output", "-o", "FILE", "Where to write the .npy or .npz file.", true},
           {"--dtype", "", "T",
            "Element type: bool (default) or uint8 for dense; float32 (default), float16 or "
            "bfloat16 for additive; float16 (default) or float32 for llamacpp. The other formats "
            "have fixed dtypes.",
            false},
           {"--block", "", "BQ[,BK]",
            "flex only: query and key block sizes (default 128,128; BK defaults to BQ).", false},
           {"--pad", "", "N",
            "llamacpp only: pad rows to a multiple of N with all-hidden rows (default 1: none; 64 "
            "for ggml builds with GGML_KQ_MASK_PAD 64).",
            false},
           {"--max-bytes", "", "N",
            "Refuse outputs larger than N bytes (default: 1073741824, that is 1 GiB).", false}},
          run_export};
}

}  // namespace ism_cli
