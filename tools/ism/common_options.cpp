#include "commands.hpp"

namespace ism_cli {

option layout_option() {
  return {"--layout", "", "SPEC",
          "The layout: documents separated by '|', segments by ',', each ROLE:LENGTH with "
          "ROLE system, user, tool or assistant (s, u, t, a), e.g. "
          "system:6,user:5,assistant:7|user:4,assistant:2 (quote it when it has spaces).",
          true};
}

option paradigm_option(bool required) {
  return {"--paradigm", "", "P", "The mask: causal, prefix, ism or bidirectional.", required};
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

ism::paradigm_kind paradigm_argument(const arguments& args) {
  return ism::paradigm_from_name(args.value("--paradigm"));
}

}  // namespace ism_cli
