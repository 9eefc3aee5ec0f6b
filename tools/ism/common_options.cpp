#include "commands.hpp"
#include "text.hpp"

namespace ism_cli {

option layout_option() {
  return {"--layout", "", "L",
          "The layout: documents separated by '|', segments by ',', each ROLE:LENGTH with "
          "ROLE system, user, tool or assistant (s, u, t, a), e.g. "
          "system:6,user:5,assistant:7|user:4,assistant:2 (quote it when it has spaces).",
          true};
}

option paradigm_option(bool required) {
  // Read from the registry once, so a paradigm added there is listed here.
  static const std::string help =
      "The mask: " + ism::paradigms().accepted() +
      " (segments of the listed roles are bidirectional blocks, the others causal).";
  return {"--paradigm", "", "P", help, required};
}

option memory_limit_option() {
  return {"--max-memory", "", "N",
          "Refuse work that would hold more than N bytes of memory, judged from the layout "
          "before anything is built (default: 2147483648, that is 2 GiB).",
          false};
}

std::uint64_t memory_limit_argument(const arguments& args) {
  return args.number("--max-memory", std::uint64_t{1} << 31);
}

std::uint64_t interval_bytes(const ism::layout& sequence) {
  return static_cast<std::uint64_t>(sequence.size()) * 2 * sizeof(ism::index_t);
}

void check_memory(std::uint64_t bytes, std::uint64_t limit, std::string_view what) {
  if (bytes > limit)
    throw ism::argument_error(std::string(what) + " would hold about " + std::to_string(bytes) +
                              " bytes (" + human_bytes(bytes) + ") of memory, over the " +
                              "--max-memory limit of " + std::to_string(limit) + " bytes (" +
                              human_bytes(limit) + "); raise --max-memory");
}

ism::layout layout_argument(const arguments& args) {
  try {
    return ism::parse_layout(args.value("--layout"));
  } catch (const ism::layout_error& e) {
    // The text is not repeated here: --layout may be any bytes of any length, and
    // a parse error already quotes the part around the fault (ism::quote_excerpt).
    throw ism::layout_error(std::string("invalid --layout: ") + e.what());
  }
}

ism::any_paradigm paradigm_argument(const arguments& args) {
  return ism::paradigm_from_name(args.value("--paradigm"));
}

}  // namespace ism_cli
