// `ism export`: a mask as a NumPy file, in any format of the library's registry
// (include/ism/format_registry.hpp, docs/formats.md). Memory and file size are
// checked from the layout alone before any mask is built; the N x N formats
// stream a block of rows at a time.
#include <charconv>
#include <iostream>
#include <ism/ism.hpp>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "commands.hpp"
#include "text.hpp"

namespace ism_cli {

namespace {

constexpr std::uint64_t default_max_bytes = std::uint64_t{1} << 30;

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

// An option that only formats taking it accept.
void check_option_applies(const arguments& args, std::string_view option,
                          const ism::export_format& format, bool takes) {
  if (!args.has(option) || takes) return;
  std::string owners;
  for (const ism::export_format& f : ism::formats()) {
    const bool owner = option == "--block" ? f.takes_block : f.takes_pad;
    if (owner) owners += (owners.empty() ? "" : " or ") + f.name;
  }
  throw ism::argument_error(std::string(option) + " applies to --format " + owners +
                            " only, not " + format.name);
}

// --dtype NAME among the element types the format lets a user choose.
std::optional<ism::npy_dtype> dtype_argument(const arguments& args,
                                             const ism::export_format& format) {
  const std::optional<std::string> name = args.find("--dtype");
  if (!name) return std::nullopt;
  if (format.dtypes.empty())
    throw ism::argument_error("--dtype does not apply to format " + format.name +
                              ", whose arrays have fixed dtypes");
  std::string accepted;
  for (const ism::npy_dtype d : format.dtypes) {
    if (ism::npy_dtype_name(d) == *name) return d;
    accepted += (accepted.empty() ? "" : " or ") + std::string(ism::npy_dtype_name(d));
  }
  throw ism::argument_error("--dtype '" + *name + "' does not apply to format " + format.name +
                            "; expected " + accepted);
}

std::string shape_text(std::span<const ism::index_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

int run_export(const arguments& args) {
  const std::uint64_t max_bytes = args.number("--max-bytes", default_max_bytes);
  const std::uint64_t max_memory = memory_limit_argument(args);
  const ism::layout sequence = layout_argument(args);
  const ism::any_paradigm paradigm = paradigm_argument(args);
  const ism::export_format& format = ism::format_from_name(args.value("--format"));
  check_option_applies(args, "--block", format, format.takes_block);
  check_option_applies(args, "--pad", format, format.takes_pad);
  ism::export_options options;
  options.dtype = dtype_argument(args, format);
  options.block = block_argument(args);
  options.pad = pad_argument(args);
  // The target first: a path that cannot be written is reported before any
  // other check or work.
  const std::string& path = args.value("--output");
  atomic_file output(path);

  // Memory next, from the layout alone: the mask's 16 bytes a token and what
  // the format holds besides.
  check_memory(interval_bytes(sequence) + format.working_bytes(sequence, options), max_memory,
               "the export");
  std::optional<ism::interval_mask> mask;
  const auto built_mask = [&]() -> const ism::interval_mask& {
    if (!mask) mask = paradigm.intervals(sequence);
    return *mask;
  };
  const std::vector<ism::named_array> arrays = format.shapes(sequence, built_mask, options);
  const bool npz = arrays.size() > 1;
  const std::uint64_t bytes =
      npz ? ism::npz_bytes(arrays) : ism::npy_bytes(arrays[0].array.shape, arrays[0].array.dtype);
  if (bytes > max_bytes)
    throw ism::argument_error(
        "the output would be " + std::to_string(bytes) + " bytes (" + human_bytes(bytes) +
        "), over the --max-bytes limit of " + std::to_string(max_bytes) + " bytes (" +
        human_bytes(max_bytes) + ")" +
        (format.quadratic ? "; raise --max-bytes, or export --format intervals"
                          : "; raise --max-bytes"));
  // write_npz refuses this too, but only once the arrays exist.
  if (npz && bytes > ism::npz_max_bytes)
    throw ism::argument_error("the .npz would be " + std::to_string(bytes) + " bytes (" +
                              human_bytes(bytes) + "), over the " +
                              std::to_string(ism::npz_max_bytes) +
                              " bytes (4 GiB) a ZIP archive holds without ZIP64, which ism does "
                              "not write");

  output.write([&](std::ostream& os) { format.write(os, sequence, built_mask(), options); },
               [&] {
                 std::string contents;
                 for (const ism::named_array& a : arrays)
                   contents += (contents.empty() ? "" : ", ") + a.name + " " +
                               std::string(ism::npy_dtype_name(a.array.dtype)) + " " +
                               shape_text(a.array.shape);
                 std::cout << "wrote " << path << ": " << paradigm.name() << " " << format.name
                           << " mask, " << contents << ", "
                           << grouped(static_cast<std::int64_t>(bytes)) << " bytes\n";
               });
  return exit_ok;
}

std::string format_list() {
  std::string out;
  for (const ism::export_format& f : ism::formats()) {
    std::string name = "  " + f.name;
    name.resize(std::max<std::size_t>(name.size() + 1, 14), ' ');
    out += name + f.summary + "\n";
  }
  return out;
}

std::string format_names_comma() {
  std::string out;
  for (const ism::export_format& f : ism::formats()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

std::string dtype_help() {
  std::string out = "Element type:";
  for (const ism::export_format& f : ism::formats()) {
    if (f.dtypes.empty()) continue;
    out += " ";
    for (std::size_t i = 0; i < f.dtypes.size(); ++i)
      out += std::string(i == 0 ? "" : i + 1 == f.dtypes.size() ? " or " : ", ") +
             std::string(ism::npy_dtype_name(f.dtypes[i])) + (i == 0 ? " (default)" : "");
    out += " for " + f.name + ";";
  }
  return out + " the other formats have fixed dtypes.";
}

}  // namespace

command export_command() {
  // The help is read from the registry once; command keeps views of it.
  static const std::string description =
      "Writes the mask of one paradigm over a layout in an attention engine's format. Files "
      "are NumPy .npy (one array) or .npz (several, stored uncompressed), little-endian, C "
      "order. Row = query, column = key, in absolute positions. Formats (docs/formats.md):\n" +
      format_list() +
      "\n"
      "hf and vllm hold the blocks that see each other whole (ism: context segments; prefix: "
      "the prefix; bidirectional: documents; causal: none): with causal attention inside each "
      "document they reproduce the mask. A format that cannot express a paradigm's mask "
      "(cu_seqlens for ism, say) refuses it rather than write something else.\n"
      "\n"
      "The file is written to a new temporary file beside FILE and renamed over FILE when "
      "complete, so an error never leaves a partial file. A symbolic link FILE is followed "
      "and kept; a FILE that is not a regular file (a directory, a device) is refused. "
      "Outputs over --max-bytes, .npz archives over the 4 GiB of a ZIP without ZIP64, and "
      "exports that would hold more memory than --max-memory are refused before any work. "
      "dense, additive and llamacpp are written a block of rows at a time.\n"
      "\n"
      "Examples:\n"
      "  ism export --layout u:4,a:3 --paradigm ism --format dense -o mask.npy\n"
      "  ism export --layout u:90,a:60 --paradigm ism --format flex --block 64 -o m.npz";
  static const std::string format_help = format_names_comma() + ".";
  static const std::string dtypes = dtype_help();
  return {"export",
          "Write a mask as a NumPy file for an attention engine (dense, flex, flashinfer, ...)",
          description,
          {layout_option(),
           paradigm_option(true),
           {"--format", "", "F", format_help, true},
           {"--output", "-o", "FILE", "Where to write the .npy or .npz file.", true},
           {"--dtype", "", "T", dtypes, false},
           {"--block", "", "BQ[,BK]",
            "flex and fa4_block_sparse only: query and key block sizes (default 128,128; BK "
            "defaults to BQ; fa4_block_sparse takes multiples of 128).",
            false},
           {"--pad", "", "N",
            "llamacpp only: pad rows to a multiple of N with all-hidden rows (default 1: none; 64 "
            "for ggml builds with GGML_KQ_MASK_PAD 64).",
            false},
           {"--max-bytes", "", "N",
            "Refuse outputs larger than N bytes (default: 1073741824, that is 1 GiB).", false},
           memory_limit_option()},
          run_export};
}

}  // namespace ism_cli
