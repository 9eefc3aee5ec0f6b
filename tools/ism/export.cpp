// `ism export`: a mask as a NumPy file (FORMATS.md). Sizes are checked against
// --max-bytes before any mask is built, and dense outputs stream one block of
// rows at a time, so an N x N export holds its O(N) intervals plus one block.
#include <algorithm>
#include <array>
#include <iostream>
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

enum class export_format { dense, additive, intervals };

struct dtype_choice {
  std::string_view name;
  ism::npy_dtype dtype;
};

struct format_info {
  std::string_view name;
  export_format format;
  std::vector<dtype_choice> dtypes;  // the first is the default
};

const std::vector<format_info>& formats() {
  static const std::vector<format_info> all{
      {"dense",
       export_format::dense,
       {{"bool", ism::npy_dtype::boolean}, {"uint8", ism::npy_dtype::uint8}}},
      {"additive",
       export_format::additive,
       {{"float32", ism::npy_dtype::float32},
        {"float16", ism::npy_dtype::float16},
        {"bfloat16", ism::npy_dtype::bfloat16}}},
      {"intervals", export_format::intervals, {{"int64", ism::npy_dtype::int64}}}};
  return all;
}

const format_info& format_argument(const std::string& name) {
  for (const format_info& f : formats())
    if (f.name == name) return f;
  throw ism::argument_error("unknown format '" + name + "'; expected dense, additive or intervals");
}

const dtype_choice& dtype_argument(const format_info& format,
                                   const std::optional<std::string>& name) {
  if (!name) return format.dtypes.front();
  std::string accepted;
  for (const dtype_choice& d : format.dtypes) {
    if (d.name == *name) return d;
    accepted += (accepted.empty() ? "" : " or ") + std::string(d.name);
  }
  throw ism::argument_error("--dtype '" + *name + "' does not apply to format " +
                            std::string(format.name) + "; expected " + accepted);
}

// Writes the (N, N) array chunk by chunk: fill(mask, chunk, out, row_stride)
// is fill_dense_mask or fill_additive_mask<T>.
template <class T, class Fill>
void stream_rows(std::ostream& os, ism::npy_dtype dtype, const ism::interval_mask& mask,
                 Fill fill) {
  const ism::index_t n = mask.size();
  const std::array<ism::index_t, 2> shape{n, n};  // (Lq, Lk)
  ism::npy_writer writer(os, dtype, shape);
  const ism::index_t rows = std::max<ism::index_t>(
      1, static_cast<ism::index_t>(block_bytes / (sizeof(T) * static_cast<std::size_t>(n))));
  const auto block = std::make_unique<T[]>(static_cast<std::size_t>(rows * n));
  for (ism::index_t q0 = 0; q0 < n; q0 += rows) {
    const ism::index_t q1 = std::min(n, q0 + rows);
    const std::span<T> out(block.get(), static_cast<std::size_t>((q1 - q0) * n));
    fill(mask, ism::chunk{q0, q1, 0, n}, out, n);
    // For uint8 files this writes the bool bytes as they are: 0 or 1.
    writer.write_raw(std::as_bytes(std::span<const T>(out)));
  }
  writer.finish();
}

template <class T>
void stream_additive(std::ostream& os, ism::npy_dtype dtype, const ism::interval_mask& mask) {
  stream_rows<T>(os, dtype, mask,
                 [](const ism::interval_mask& m, const ism::chunk& c, std::span<T> out,
                    ism::index_t stride) { ism::fill_additive_mask<T>(m, c, out, stride); });
}

std::string shape_text(std::span<const ism::index_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

int run_export(const arguments& args) {
  const std::uint64_t max_bytes = args.number("--max-bytes", default_max_bytes);
  const ism::layout row = layout_argument(args);
  const ism::paradigm_kind kind = paradigm_argument(args);
  const format_info& format = format_argument(args.value("--format"));
  const dtype_choice& dtype = dtype_argument(format, args.find("--dtype"));
  const std::string& path = args.value("--output");
  const ism::index_t n = row.size();

  // Size everything from shapes alone, before any work.
  const std::array<ism::index_t, 2> square{n, n};
  std::array<ism::named_array, 2> intervals{
      ism::named_array{"lo", {ism::npy_dtype::int64, {n}, {}}},
      ism::named_array{"hi", {ism::npy_dtype::int64, {n}, {}}}};
  const std::uint64_t bytes = format.format == export_format::intervals
                                  ? ism::npz_bytes(intervals)
                                  : ism::npy_bytes(square, dtype.dtype);
  if (bytes > max_bytes)
    throw ism::argument_error("the output would be " + std::to_string(bytes) + " bytes (" +
                              human_bytes(bytes) + "), over the --max-bytes limit of " +
                              std::to_string(max_bytes) + " bytes (" + human_bytes(max_bytes) +
                              ")" +
                              (format.format == export_format::intervals
                                   ? ""
                                   : "; raise --max-bytes, or export --format intervals"));

  // write_npz refuses this too, but only once the mask exists.
  if (format.format == export_format::intervals && bytes > ism::npz_max_bytes)
    throw ism::argument_error("the .npz would be " + std::to_string(bytes) + " bytes (" +
                              human_bytes(bytes) + "), over the " +
                              std::to_string(ism::npz_max_bytes) +
                              " bytes (4 GiB) a ZIP archive holds without ZIP64, which ism does "
                              "not write");

  atomic_file output(path);
  const ism::interval_mask mask = ism::make_interval_mask(row, kind);
  output.write([&](std::ostream& os) {
    switch (format.format) {
      case export_format::dense:
        stream_rows<bool>(os, dtype.dtype, mask,
                          [](const ism::interval_mask& m, const ism::chunk& c, std::span<bool> out,
                             ism::index_t stride) { ism::fill_dense_mask(m, c, out, stride); });
        break;
      case export_format::additive:
        if (dtype.dtype == ism::npy_dtype::float32)
          stream_additive<float>(os, dtype.dtype, mask);
        else if (dtype.dtype == ism::npy_dtype::float16)
          stream_additive<Eigen::half>(os, dtype.dtype, mask);
        else
          stream_additive<Eigen::bfloat16>(os, dtype.dtype, mask);
        break;
      case export_format::intervals:
        intervals[0].array.data = std::as_bytes(mask.lo());
        intervals[1].array.data = std::as_bytes(mask.hi());
        ism::write_npz(os, intervals);
        break;
    }
  });

  const std::string contents = format.format == export_format::intervals
                                   ? "lo and hi int64 " + shape_text(intervals[0].array.shape)
                                   : std::string(dtype.name) + " " + shape_text(square);
  std::cout << "wrote " << path << ": " << ism::paradigm_name(kind) << " " << format.name
            << " mask, " << contents << ", " << grouped(static_cast<std::int64_t>(bytes))
            << " bytes\n";
  return exit_ok;
}

}  // namespace

command export_command() {
  return {"export",
          "Write a mask as a NumPy file (dense, additive or intervals)",
          "Writes the mask of one paradigm over a layout for an attention engine. Formats:\n"
          "  dense      .npy bool [N, N]: row = query, column = key, true = visible\n"
          "             (--dtype uint8 writes 0/1 bytes instead)\n"
          "  additive   .npy float32 [N, N]: 0 where visible, -inf where hidden\n"
          "             (--dtype float16 or bfloat16; NumPy has no bfloat16, so bfloat16\n"
          "             is stored as its raw bits in uint16: view them as bfloat16)\n"
          "  intervals  .npz with int64 lo [N] and hi [N]: row q sees keys lo[q]..hi[q]\n"
          "\n"
          "The file is written to a new temporary file beside FILE and renamed over FILE when "
          "complete, so an error never leaves a partial file. A symbolic link FILE is followed "
          "and kept; a FILE that is not a regular file (a directory, a device) is refused. "
          "Outputs over --max-bytes, and intervals over the 4 GiB of a ZIP without ZIP64, are "
          "refused before any work.\n"
          "\n"
          "Example:\n"
          "  ism export --layout user:4,assistant:3 --paradigm ism --format dense -o mask.npy",
          {layout_option(),
           paradigm_option(true),
           {"--format", "", "F", "dense, additive or intervals.", true},
           {"--output", "-o", "FILE", "Where to write the .npy or .npz file.", true},
           {"--dtype", "", "T",
            "Element type: bool (default) or uint8 for dense; float32 (default), float16 or "
            "bfloat16 for additive; int64 for intervals.",
            false},
           {"--max-bytes", "", "N",
            "Refuse outputs larger than N bytes (default: 1073741824, that is 1 GiB).", false}},
          run_export};
}

}  // namespace ism_cli
