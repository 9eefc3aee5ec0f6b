// The ism command-line tool, run as a separate process the way people run it.
// Exported masks are checked against the docs/semantics.md oracle (oracle.hpp) over seeded
// random layouts (random_layouts.hpp), passed as text with varied spelling.
#include <doctest/doctest.h>

#if defined(ISM_CLI_PATH) && !defined(_WIN32)

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ism/config.hpp>
#include <ism/format_registry.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cli_runner.hpp"
#include "npy_reader.hpp"
#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

namespace fs = std::filesystem;
using cli_runner::numpy_python;
using cli_runner::quote;
using cli_runner::result;
using cli_runner::run;
using cli_runner::scratch;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool python_available() {
  return std::system("python3 -c 'import json' > /dev/null 2>&1") == 0;
}

// The tests and the CLI are built with the same sanitizer flags, so this also
// says whether the CLI runs under ASan.
#if defined(__SANITIZE_ADDRESS__)
#define ISM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ISM_TEST_ASAN 1
#endif
#endif

#if defined(ISM_TEST_ASAN)
constexpr bool under_asan = true;
#else
constexpr bool under_asan = false;
#endif

// A prelude for runs that must refuse a huge layout before allocating for it:
// it caps the CLI's memory at 1 GiB, so a regression fails fast instead of
// exhausting the machine. ASan reserves terabytes of address space at start, so
// there ASan's own limits cap the largest allocation and the resident memory.
const std::string memory_cap = under_asan ? "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
                                            "max_allocation_size_mb=1024:hard_rss_limit_mb=1024\" "
                                          : "ulimit -v 1048576; ";

// The oracle's mask of `d` under `paradigm`, and its number of tokens.
oracle::mask expected_mask(const oracle::declared_layout& d, std::string_view paradigm) {
  return oracle::mask_of(paradigm, oracle::describe(d));
}

std::int64_t size_of(const oracle::mask& m) {
  return static_cast<std::int64_t>(m.lo.size());
}

const std::vector<std::string> paradigms{"causal", "prefix", "ism", "bidirectional"};

}  // namespace

TEST_CASE("cli: --help of ism and of every command exits 0 and prints usage") {
  scratch s;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"demo", "--help"},
                                             {"show", "--help"},
                                             {"export", "--help"},
                                             {"verify", "--help"},
                                             {"formats", "--help"},
                                             {"stats", "-h"}}) {
    CAPTURE(args.front());
    const result r = run(s, args);
    CHECK(r.code == 0);
    CHECK(contains(r.out, "Usage: ism"));
    CHECK(r.err.empty());
  }
  // Every format of the library's registry is listed, and only those.
  std::string names;
  for (const ism::export_format& f : ism::formats()) names += f.name + "\n";
  CHECK(run(s, {"formats", "--names"}).out == names);
  const result listed = run(s, {"formats"});
  CHECK(listed.code == 0);
  CHECK(contains(listed.out, "flex: --block\n"));
  // --help wins over missing required options.
  CHECK(run(s, {"export", "--layout", "user:1", "--help"}).code == 0);
  const result version = run(s, {"--version"});
  CHECK(version.code == 0);
  CHECK(version.out == "ism " + std::to_string(ISM_VERSION_MAJOR) + "." +
                           std::to_string(ISM_VERSION_MINOR) + "." +
                           std::to_string(ISM_VERSION_PATCH) + "\n");
}

TEST_CASE("cli: demo prints the four masks and every table") {
  scratch s;
  const result r = run(s, {"demo"});
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  for (const std::string_view part :
       {"causal", "prefix", "ism", "bidirectional", "Intermittent Semi-working Mask",
        "1. The four masks", "2. Density", "3. Where a next-token loss may go",
        "4. KV cache across turns", "5. Training every answer once", "visible pairs", "trainable",
        "leaking", "reuse", "compute", "samples", "untrainable answers", "one sample per answer"})
    CHECK_MESSAGE(contains(r.out, std::string(part)), part);
  // The four pictures sit side by side in a 120-column terminal.
  std::size_t start = 0;
  while (start < r.out.size()) {
    const std::size_t end = r.out.find('\n', start);
    CHECK(end - start <= 120);
    start = end + 1;
  }
  CHECK(contains(r.out, "  causal                        prefix                        ism"));
}

TEST_CASE("cli: show prints the mask as text") {
  scratch s;
  const result r = run(s, {"show", "--layout", "system:2,user:1,assistant:2", "--paradigm", "ism"});
  REQUIRE(r.code == 0);
  const std::string picture =
      "   ss u aa\n"
      "s  ## . ..\n"
      "s  ## . ..\n"
      "          \n"
      "u  ## # ..\n"
      "          \n"
      "a  ## # #.\n"
      "a  ## # ##\n";
  CHECK(contains(r.out, "ism mask of 5 tokens: system:2, user:1, assistant:2\n"));
  CHECK(r.out.ends_with("\n\n" + picture));

  const result two = run(s, {"show", "--layout", "u:2,a:1 | u:1", "--paradigm", "prefix"});
  REQUIRE(two.code == 0);
  CHECK(
      two.out.ends_with("\n\n"
                        "   uu a|u\n"
                        "u  ## .|.\n"
                        "u  ## .|.\n"
                        "       | \n"
                        "a  ## #|.\n"
                        "   ----|-\n"
                        "u  .. .|#\n"));
}

TEST_CASE("cli: show --svg writes a well-formed SVG with role labels") {
  scratch s;
  const fs::path svg = s.out / "mask.svg";
  const result r =
      run(s, {"show", "--layout", "system:3,user:4,assistant:5 | user:2,tool:2,assistant:3",
              "--paradigm", "ism", "--svg", svg.string()});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "wrote " + svg.string()));
  CHECK(s.files() == std::vector<std::string>{"mask.svg"});
  const std::string text = npy_reader::read_file(svg);
  CHECK(text.starts_with("<svg"));
  CHECK(text.ends_with("</svg>\n"));
  for (const std::string_view part : {"system", "user", "tool", "assistant", "ism mask, 19 tokens"})
    CHECK_MESSAGE(contains(text, std::string(part)), part);

  // Every element closes, in order.
  std::vector<std::string> open;
  for (std::size_t at = text.find('<'); at != std::string::npos; at = text.find('<', at + 1)) {
    const std::size_t end = text.find('>', at);
    REQUIRE(end != std::string::npos);
    const std::string tag = text.substr(at + 1, end - at - 1);
    if (tag.starts_with("/")) {
      REQUIRE(!open.empty());
      CHECK(open.back() == tag.substr(1));
      open.pop_back();
    } else if (!tag.ends_with("/")) {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
  }
  CHECK(open.empty());
  if (python_available()) {
    const std::string command =
        "python3 -c \"import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])\" " +
        quote(svg.string()) + " > /dev/null 2>&1";
    CHECK(std::system(command.c_str()) == 0);
  }
}

// Runs `ism export` with `extra` options into `file` and decodes the .npy written.
npy_reader::array export_npy(const scratch& s, const std::string& layout,
                             const std::string& paradigm, const std::vector<std::string>& extra,
                             const fs::path& file) {
  std::vector<std::string> args{"export", "--layout", layout,       "--paradigm",
                                paradigm, "-o",       file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const result r = run(s, args);
  REQUIRE(r.code == 0);
  return npy_reader::read_npy(file);
}

// True when element (q, k) of the row-major n x n `values` satisfies
// ok(value, visible(q, k)) for every pair.
template <class T, class Ok>
bool every_pair(const std::vector<T>& values, const oracle::mask& expected, Ok ok) {
  const std::int64_t n = size_of(expected);
  for (std::int64_t q = 0; q < n; ++q)
    for (std::int64_t k = 0; k < n; ++k)
      if (!ok(values[static_cast<std::size_t>(q * n + k)], expected.visible(q, k))) return false;
  return true;
}

TEST_CASE("cli: export dense matches docs/semantics.md#paradigms-and-the-segment-function on random layouts, all paradigms") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  random_layouts::for_random_layouts(40000, 50, [&](std::mt19937_64& rng, const auto& d) {
    const std::string text = random_layouts::varied_text(rng, d);
    for (const std::string& paradigm : paradigms) {
      CAPTURE(text);
      CAPTURE(paradigm);
      const npy_reader::array a = export_npy(s, text, paradigm, {"--format", "dense"}, file);
      const oracle::mask expected = expected_mask(d, paradigm);
      const std::int64_t n = size_of(expected);
      REQUIRE(a.descr == "|b1");
      REQUIRE(a.shape == std::vector<std::int64_t>{n, n});
      CHECK(every_pair(a.values<std::uint8_t>(), expected,
                       [](std::uint8_t x, bool visible) { return x == (visible ? 1 : 0); }));
      CHECK(s.files() == std::vector<std::string>{"mask.npy"});
    }
  });
}

TEST_CASE("cli: export dense --dtype uint8 writes 0/1 bytes") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  std::size_t i = 0;
  random_layouts::for_random_layouts(41000, 10, [&](std::mt19937_64& rng, const auto& d) {
    const std::string& paradigm = paradigms[i++ % paradigms.size()];
    const npy_reader::array a = export_npy(s, random_layouts::varied_text(rng, d), paradigm,
                                           {"--format", "dense", "--dtype", "uint8"}, file);
    REQUIRE(a.descr == "|u1");
    CHECK(every_pair(a.values<std::uint8_t>(), expected_mask(d, paradigm),
                     [](std::uint8_t x, bool visible) { return x == (visible ? 1 : 0); }));
  });
}

TEST_CASE("cli: export additive is 0 where visible and -inf elsewhere, in each dtype") {
  scratch s;
  const fs::path file = s.out / "bias.npy";
  random_layouts::for_random_layouts(42000, 15, [&](std::mt19937_64& rng, const auto& d) {
    const std::string text = random_layouts::varied_text(rng, d);
    for (const std::string& paradigm : paradigms) {
      CAPTURE(text);
      CAPTURE(paradigm);
      const npy_reader::array a = export_npy(s, text, paradigm, {"--format", "additive"}, file);
      const oracle::mask expected = expected_mask(d, paradigm);
      const std::int64_t n = size_of(expected);
      REQUIRE(a.descr == "<f4");
      REQUIRE(a.shape == std::vector<std::int64_t>{n, n});
      CHECK(every_pair(a.values<float>(), expected, [](float x, bool visible) {
        return visible ? x == 0.0f && !std::signbit(x) : std::isinf(x) && x < 0;
      }));
    }
  });
  // Half precision: the bit patterns of +0 and -inf.
  const oracle::mask expected =
      expected_mask({{{ism::role::user, 3}, {ism::role::assistant, 2}}}, "ism");
  struct half_case {
    std::string dtype;
    std::string descr;
    std::uint16_t minus_inf;
  };
  for (const half_case& c :
       {half_case{"float16", "<f2", 0xFC00}, half_case{"bfloat16", "<u2", 0xFF80}}) {
    CAPTURE(c.dtype);
    const npy_reader::array a = export_npy(s, "user:3,assistant:2", "ism",
                                           {"--format", "additive", "--dtype", c.dtype}, file);
    CHECK(a.descr == c.descr);
    CHECK(every_pair(a.values<std::uint16_t>(), expected, [&](std::uint16_t x, bool visible) {
      return x == (visible ? 0 : c.minus_inf);
    }));
  }
}

TEST_CASE("cli: export intervals writes lo and hi as docs/semantics.md#paradigms-and-the-segment-function defines them") {
  scratch s;
  const fs::path file = s.out / "intervals.npz";
  random_layouts::for_random_layouts(43000, 15, [&](std::mt19937_64& rng, const auto& d) {
    const std::string text = random_layouts::varied_text(rng, d);
    for (const std::string& paradigm : paradigms) {
      CAPTURE(text);
      CAPTURE(paradigm);
      const result r = run(s, {"export", "--layout", text, "--paradigm", paradigm, "--format",
                               "intervals", "--output", file.string()});
      REQUIRE(r.code == 0);
      const auto members = npy_reader::parse_zip(npy_reader::read_file(file));
      REQUIRE(members.size() == 2);
      CHECK(members[0].name == "lo.npy");
      CHECK(members[1].name == "hi.npy");
      const npy_reader::array lo = npy_reader::parse_npy(members[0].data);
      const npy_reader::array hi = npy_reader::parse_npy(members[1].data);
      const oracle::mask expected = expected_mask(d, paradigm);
      CHECK(lo.descr == "<i8");
      CHECK(hi.descr == "<i8");
      CHECK(lo.shape == std::vector<std::int64_t>{size_of(expected)});
      CHECK(lo.values<std::int64_t>() == expected.lo);
      CHECK(hi.values<std::int64_t>() == expected.hi);
    }
  });
}

TEST_CASE("cli: NumPy reads the exports, where NumPy is installed") {
  const std::optional<std::string> python = numpy_python();
  if (!python) {
    MESSAGE("numpy is not importable; skipping the NumPy round trip");
    return;
  }
  scratch s;
  const oracle::declared_layout layout{
      {{ism::role::system, 2}, {ism::role::user, 3}, {ism::role::assistant, 4}},
      {{ism::role::user, 2}, {ism::role::assistant, 2}}};
  const std::string text = "system:2,user:3,assistant:4 | user:2,assistant:2";
  const fs::path dense = s.out / "dense.npy";
  const fs::path additive = s.out / "additive.npy";
  const fs::path half = s.out / "half.npy";
  const fs::path intervals = s.out / "intervals.npz";
  for (const auto& [file, format] : std::vector<std::pair<fs::path, std::vector<std::string>>>{
           {dense, {"--format", "dense"}},
           {additive, {"--format", "additive"}},
           {half, {"--format", "additive", "--dtype", "float16"}},
           {intervals, {"--format", "intervals"}}}) {
    std::vector<std::string> args{"export", "--layout", text,         "--paradigm",
                                  "ism",    "-o",       file.string()};
    args.insert(args.end(), format.begin(), format.end());
    REQUIRE(run(s, args).code == 0);
  }
  const oracle::mask expected = expected_mask(layout, "ism");
  const auto joined = [](const std::vector<std::int64_t>& values) {
    std::string out;
    for (const std::int64_t v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
    return out;
  };
  // Exits non-zero naming the checks that fail.
  const std::string check =
      "import sys, numpy as np\n"
      "dense, additive, half, intervals, lo, hi = sys.argv[1:]\n"
      "lo = np.array([int(x) for x in lo.split(',')])\n"
      "hi = np.array([int(x) for x in hi.split(',')])\n"
      "k = np.arange(len(lo))\n"
      "expect = (lo[:, None] <= k[None, :]) & (k[None, :] <= hi[:, None])\n"
      "m = np.load(dense); z = np.load(intervals)\n"
      "checks = {\n"
      "  'dense': m.dtype == np.bool_ and m.shape == expect.shape and (m == expect).all(),\n"
      "  'intervals': sorted(z.files) == ['hi', 'lo'] and z['lo'].dtype == np.int64\n"
      "               and (z['lo'] == lo).all() and (z['hi'] == hi).all(),\n"
      "}\n"
      "for path, dtype in ((additive, np.float32), (half, np.float16)):\n"
      "  a = np.load(path)\n"
      "  checks['additive ' + np.dtype(dtype).name] = (\n"
      "      a.dtype == dtype and a.shape == expect.shape\n"
      "      and (a[expect] == 0).all() and not np.signbit(a[expect]).any()\n"
      "      and np.isneginf(a[~expect]).all())\n"
      "failed = [name for name, ok in checks.items() if not ok]\n"
      "if failed: sys.exit('NumPy checks failed: ' + ', '.join(failed))\n";
  const fs::path script = s.root / "check.py";
  std::ofstream(script) << check;
  const std::string command = *python + " " + quote(script.string()) + " " + quote(dense.string()) +
                              " " + quote(additive.string()) + " " + quote(half.string()) + " " +
                              quote(intervals.string()) + " " + joined(expected.lo) + " " +
                              joined(expected.hi);
  CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("cli: --max-bytes refuses an oversized output before writing anything") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  // user:100 as dense bool: a 128-byte header and 100 x 100 bytes.
  const result refused = run(s, {"export", "--layout", "user:100", "--paradigm", "ism", "--format",
                                 "dense", "--max-bytes", "10127", "-o", file.string()});
  CHECK(refused.code == 2);
  CHECK(contains(refused.err, "ism: error: "));
  CHECK(contains(refused.err, "10128 bytes"));
  CHECK(contains(refused.err, "10127"));
  CHECK(s.files().empty());

  const result fits = run(s, {"export", "--layout", "user:100", "--paradigm", "ism", "--format",
                              "dense", "--max-bytes", "10128", "-o", file.string()});
  CHECK(fits.code == 0);
  CHECK(fs::file_size(file) == 10128);

  // The default limit is 1 GiB: 40000^2 bytes is over it, and nothing is built.
  const result big = run(s, {"export", "--layout", "user:40000", "--paradigm", "causal", "--format",
                             "dense", "-o", (s.out / "big.npy").string()});
  CHECK(big.code == 2);
  CHECK(contains(big.err, "1073741824"));
  CHECK(s.files() == std::vector<std::string>{"mask.npy"});
}

// Runs export, show and stats on `layout`, the export writing to `file`, and
// hands each result to check.
template <class Check>
void for_each_layout_command(const scratch& s, const std::string& layout, const fs::path& file,
                             Check check) {
  for (const std::string command : {"export", "show", "stats"}) {
    CAPTURE(command);
    std::vector<std::string> args{command, "--layout", layout};
    if (command != "stats") args.insert(args.end(), {"--paradigm", "ism"});
    if (command == "export") args.insert(args.end(), {"--format", "dense", "-o", file.string()});
    check(run(s, args));
  }
}

TEST_CASE("cli: every class of invalid layout exits 2, names the problem and writes nothing") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  struct bad_layout {
    std::string layout;
    std::string message;
  };
  const std::vector<bad_layout> cases{
      {"bot:3", "unknown role 'bot'"},
      {"user:0", "length must be >= 1"},
      {"user:3,assistant:0", "length must be >= 1"},
      {"user:3,", "dangling ','"},
      {"user:3,,assistant:2", "dangling ','"},
      {"user:3|", "empty document"},
      {"user:3||assistant:2", "empty document"},
      {"user:99999999999", "larger than 2147483647"},
      {"user:2147483647,assistant:1", "longer than 2147483647"},
      {"", "layout is empty"},
      {"   ", "layout is empty"},
      {"user 3", "expected ':'"},
      {"user:-3", "expected a segment length"},
  };
  for (const bad_layout& c : cases) {
    CAPTURE(c.layout);
    for_each_layout_command(s, c.layout, file, [&](const result& r) {
      CHECK(r.code == 2);
      CHECK(r.err.starts_with("ism: error: invalid --layout"));
      CHECK(contains(r.err, c.message));
      CHECK(r.out.empty());
      CHECK(s.files().empty());
    });
  }
}

TEST_CASE("cli: a hostile --layout is quoted escaped and shortened, not echoed") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  std::string turns;
  for (int i = 0; i < 8000; ++i) turns += "user:1,";
  // 112 KB with a terminal escape sequence in the middle (one argument may
  // have 128 KiB on Linux).
  struct hostile {
    std::string layout;
    std::string err;
  };
  const std::vector<hostile> cases{
      {turns + "\x1b[2J" + turns,
       "ism: error: invalid --layout: expected a role (system, user, tool, assistant or s, u, t, "
       "a) (at character 56000) in ...'ser:1,user:1,user:1,\\x1b[2Juser:1,user:1,us'...\n"},
      {"user:4\xc3",
       "ism: error: invalid --layout: unexpected character '\\xc3'; expected ',' or '|' (at "
       "character 6) in 'user:4\\xc3'\n"},
  };
  for (const hostile& c : cases) {
    for_each_layout_command(s, c.layout, file, [&](const result& r) {
      CHECK(r.code == 2);
      CHECK(r.err == c.err);
      CHECK(r.out.empty());
      CHECK(s.files().empty());
    });
  }
}

TEST_CASE("cli: bad paradigm, format, dtype, option, value or command exits 2") {
  scratch s;
  const std::string file = (s.out / "mask.npy").string();
  struct bad_call {
    std::vector<std::string> args;
    std::string message;
    bool usage;  // a usage error adds a hint to run --help
  };
  const std::vector<bad_call> calls{
      {{"export", "--layout", "u:2", "--paradigm", "sideways", "--format", "dense", "-o", file},
       "unknown paradigm 'sideways'",
       false},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "sparse", "-o", file},
       "unknown format 'sparse'",
       false},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "dense", "--dtype", "float32",
        "-o", file},
       "--dtype 'float32'",
       false},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "dense", "--colour", "-o",
        file},
       "unknown option '--colour'",
       true},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "dense"},
       "missing required option --output",
       true},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "dense", "-o"},
       "needs a value",
       true},
      {{"export", "--layout", "--paradigm", "ism", "--format", "dense", "-o", file},
       "needs a value",
       true},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "dense", "--max-bytes", "ten",
        "-o", file},
       "non-negative integer",
       true},
      {{"export", "--layout", "u:2", "--paradigm", "ism", "--format", "dense", "--max-bytes", "-5",
        "-o", file},
       "non-negative integer",
       true},
      {{"export", "--layout", "u:2", "--layout", "u:3", "--paradigm", "ism", "--format", "dense",
        "-o", file},
       "given twice",
       true},
      {{"show", "--layout", "u:2", "--paradigm", "ism", "stray"},
       "unexpected argument 'stray'",
       true},
      {{"stats", "--layout", "u:2", "--json=yes"}, "takes no value", true},
      {{"stats", "--layout", "u:2", "--paradigm", "nope"}, "unknown paradigm 'nope'", false},
      {{"show", "--layout", "u:300", "--paradigm", "ism"}, "at most 256", false},
      {{"frobnicate"}, "unknown command 'frobnicate'", true},
      {{"--frobnicate"}, "unknown option '--frobnicate'", true},
      {{}, "missing command", true},
  };
  for (const bad_call& call : calls) {
    CAPTURE(call.message);
    const result r = run(s, call.args);
    CHECK(r.code == 2);
    CHECK(r.err.starts_with("ism: error: "));
    CHECK(contains(r.err, call.message));
    CHECK(contains(r.err, "--help' for usage") == call.usage);
    CHECK(s.files().empty());
  }
}

TEST_CASE("cli: an unwritable output path exits 2 and leaves no file behind") {
  scratch s;
  SUBCASE("directory that does not exist") {
    const fs::path file = s.out / "missing" / "mask.npy";
    const result r = run(s, {"export", "--layout", "u:3,a:2", "--paradigm", "ism", "--format",
                             "dense", "-o", file.string()});
    CHECK(r.code == 2);
    CHECK(contains(r.err, "cannot write"));
    CHECK(contains(r.err, file.string()));
    CHECK(s.files().empty());
  }
  SUBCASE("svg into a directory that does not exist") {
    const result r = run(s, {"show", "--layout", "u:3,a:2", "--paradigm", "ism", "--svg",
                             (s.out / "missing" / "mask.svg").string()});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(s.files().empty());
  }
}

TEST_CASE("cli: a failed export leaves an existing output file untouched") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  std::ofstream(file) << "precious";
  const std::vector<std::vector<std::string>> failing{
      {"export", "--layout", "u:3,", "--paradigm", "ism", "--format", "dense", "-o", file.string()},
      {"export", "--layout", "u:3", "--paradigm", "nope", "--format", "dense", "-o", file.string()},
      {"export", "--layout", "u:300", "--paradigm", "ism", "--format", "dense", "--max-bytes",
       "1000", "-o", file.string()},
  };
  for (const auto& args : failing) {
    CHECK(run(s, args).code == 2);
    CHECK(npy_reader::read_file(file) == "precious");
    CHECK(s.files() == std::vector<std::string>{"mask.npy"});
  }
  // A successful export replaces it whole.
  CHECK(run(s, {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense", "-o",
                file.string()})
            .code == 0);
  CHECK(npy_reader::read_npy(file).shape == std::vector<std::int64_t>{3, 3});
}

TEST_CASE("cli: a summary that cannot be printed leaves no new file") {
  if (!fs::exists("/dev/full")) {
    MESSAGE("no /dev/full here; skipping");
    return;
  }
  scratch s;
  // The CLI's standard output goes to /dev/full, where every write fails.
  const std::string to_full = "to_full() { \"$@\" > /dev/full; }; to_full ";
  const fs::path npy = s.out / "mask.npy";
  const fs::path svg = s.out / "mask.svg";
  const std::vector<std::string> export_npy{"export",   "--layout", "u:3,a:2", "--paradigm", "ism",
                                            "--format", "dense",    "-o",      npy.string()};
  const std::vector<std::string> show_svg{"show", "--layout", "u:3,a:2",   "--paradigm",
                                          "ism",  "--svg",    svg.string()};
  for (const std::vector<std::string>& args : {export_npy, show_svg}) {
    CAPTURE(args.front());
    const result r = run(s, args, to_full);
    CHECK(r.code == 2);
    CHECK(r.err == "ism: error: writing to standard output failed\n");
    CHECK(s.files().empty());
  }
  // An existing file stays as it was.
  std::ofstream(npy) << "precious";
  CHECK(run(s, export_npy, to_full).code == 2);
  CHECK(npy_reader::read_file(npy) == "precious");
  CHECK(s.files() == std::vector<std::string>{"mask.npy"});
}

TEST_CASE("cli: a replaced file keeps its permission bits") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  const fs::perms modes[] = {fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read,
                             fs::perms::owner_read | fs::perms::owner_write, fs::perms::owner_read};
  for (const fs::perms mode : modes) {
    CAPTURE(static_cast<int>(mode));
    fs::remove(file);
    std::ofstream(file) << "old";
    fs::permissions(file, mode);
    const result r = run(s, {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense",
                             "-o", file.string()});
    CHECK(r.code == 0);
    CHECK(npy_reader::read_npy(file).shape == std::vector<std::int64_t>{3, 3});
    CHECK(fs::status(file).permissions() == mode);
    CHECK(s.files() == std::vector<std::string>{"mask.npy"});
  }
  // Through a link, the file it leads to keeps its mode.
  fs::create_symlink("mask.npy", s.out / "link.npy");
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  CHECK(run(s, {"show", "--layout", "u:3", "--paradigm", "ism", "--svg",
                (s.out / "link.npy").string()})
            .code == 0);
  CHECK(fs::symlink_status(s.out / "link.npy").type() == fs::file_type::symlink);
  CHECK(fs::status(file).permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
}

TEST_CASE("cli: an output path that is a symbolic link replaces the file it leads to") {
  scratch s;
  const std::vector<std::string> export_ism{"export", "--layout", "u:3",   "--paradigm",
                                            "ism",    "--format", "dense", "-o"};
  const auto export_to = [&](const fs::path& file) {
    std::vector<std::string> args = export_ism;
    args.push_back(file.string());
    return run(s, args);
  };
  std::ofstream(s.out / "real.npy") << "old";
  fs::create_symlink("real.npy", s.out / "link.npy");
  fs::create_symlink("link.npy", s.out / "chain.npy");
  SUBCASE("a link, and a chain of links") {
    for (const std::string name : {"link.npy", "chain.npy"}) {
      CAPTURE(name);
      fs::remove(s.out / "real.npy");
      std::ofstream(s.out / "real.npy") << "old";
      const result r = export_to(s.out / name);
      CHECK(r.code == 0);
      CHECK(contains(r.out, "wrote " + (s.out / name).string()));
      CHECK(fs::is_symlink(s.out / "link.npy"));
      CHECK(fs::is_symlink(s.out / "chain.npy"));
      CHECK(npy_reader::read_npy(s.out / "real.npy").shape == std::vector<std::int64_t>{3, 3});
      CHECK(s.files() == std::vector<std::string>{"chain.npy", "link.npy", "real.npy"});
    }
  }
  SUBCASE("a dangling link creates the file it names") {
    fs::create_symlink("fresh.npy", s.out / "dangling.npy");
    CHECK(export_to(s.out / "dangling.npy").code == 0);
    CHECK(fs::is_symlink(s.out / "dangling.npy"));
    CHECK(npy_reader::read_npy(s.out / "fresh.npy").shape == std::vector<std::int64_t>{3, 3});
  }
  SUBCASE("a loop of links is refused") {
    fs::create_symlink("loop.npy", s.out / "loop.npy");
    const result r = export_to(s.out / "loop.npy");
    CHECK(r.code == 2);
    CHECK(contains(r.err, "too many levels of symbolic links"));
    CHECK(fs::is_symlink(s.out / "loop.npy"));
  }
}

TEST_CASE("cli: an output path that is not a regular file is refused before any work") {
  scratch s;
  const auto refusal = [](const fs::path& target, const std::string& what) {
    return "ism: error: cannot write '" + target.string() + "': " + what +
           " exists and is not a regular file; ism writes regular files only\n";
  };
  SUBCASE("a directory") {
    const fs::path taken = s.out / "taken";
    fs::create_directories(taken / "inside");
    // The mask of 200 million tokens would need 3.2 GB, over the memory cap:
    // the refusal must come before it is built.
    const result r = run(s,
                         {"export", "--layout", "user:200000000", "--paradigm", "ism", "--format",
                          "intervals", "--max-bytes", "100000000000", "-o", taken.string()},
                         memory_cap);
    CHECK(r.code == 2);
    CHECK(r.err == refusal(taken, "it"));
    CHECK(s.files() == std::vector<std::string>{"taken"});
    CHECK(fs::is_directory(taken / "inside"));

    const result svg =
        run(s, {"show", "--layout", "u:3", "--paradigm", "ism", "--svg", taken.string()});
    CHECK(svg.code == 2);
    CHECK(svg.err == refusal(taken, "it"));
    CHECK(svg.out.empty());
  }
  SUBCASE("a FIFO, which a rename would replace with a regular file") {
    const fs::path pipe = s.out / "pipe";
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
    const result r = run(s, {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense",
                             "-o", pipe.string()});
    CHECK(r.code == 2);
    CHECK(r.err == refusal(pipe, "it"));
    CHECK(fs::is_fifo(pipe));
    CHECK(s.files() == std::vector<std::string>{"pipe"});
  }
  SUBCASE("a link to a directory") {
    fs::create_directories(s.out / "taken");
    fs::create_symlink("taken", s.out / "link");
    const result r = run(s, {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense",
                             "-o", (s.out / "link").string()});
    CHECK(r.code == 2);
    CHECK(r.err == refusal(s.out / "link", "its link target '" + (s.out / "taken").string() + "'"));
    CHECK(s.files() == std::vector<std::string>{"link", "taken"});
    CHECK(fs::is_empty(s.out / "taken"));
  }
}

TEST_CASE("cli: the temporary file never overwrites a file that has its name") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  // The shell writes the first two temporary names for its own process id,
  // then becomes the CLI, which keeps that id.
  const std::string taken = "printf precious > " + quote(file.string() + ".tmp.") +
                            "$$; printf precious > " + quote(file.string() + ".tmp.") +
                            "$$.1; exec ";
  const result r = run(
      s,
      {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense", "-o", file.string()},
      taken);
  CHECK(r.code == 0);
  CHECK(npy_reader::read_npy(file).shape == std::vector<std::int64_t>{3, 3});
  const std::vector<std::string> names = s.files();
  REQUIRE(names.size() == 3);
  for (const std::string& name : names) {
    if (name == "mask.npy") continue;
    CAPTURE(name);
    CHECK(name.starts_with("mask.npy.tmp."));
    CHECK(npy_reader::read_file(s.out / name) == "precious");
  }
}

TEST_CASE("cli: a signal during a large export leaves neither the temporary nor the file") {
  scratch s;
  const fs::path file = s.out / "mask.npy";
  // 900 MB of dense mask: the export is still writing when the signal comes.
  const std::vector<std::string> large{"export",     "--layout", "user:30000", "--paradigm",
                                       "causal",     "--format", "dense",      "--max-bytes",
                                       "1000000000", "-o",       file.string()};
  // Starts the export in the background, waits until its temporary has
  // contents, sends the signal and ends with the export's exit status.
  const auto signal_while_writing = [&](const std::string& launcher, const std::string& signal) {
    return "signal_while_writing() { " + launcher + " \"$@\" & pid=$!; tries=0; until [ -s " +
           quote(file.string() + ".tmp.") +
           "$pid ] || [ $tries -ge 2000 ]; do sleep 0.01; tries=$((tries + 1)); done; kill -" +
           signal + " $pid; wait $pid; }; signal_while_writing ";
  };
  SUBCASE("SIGTERM") {
    const result r = run(s, large, signal_while_writing("", "TERM"));
    CHECK(r.code == 128 + SIGTERM);
    CHECK(s.files().empty());
  }
  SUBCASE("SIGINT") {
    // A shell starts background commands with SIGINT ignored, and ism keeps an
    // ignored signal ignored; GNU env restores the default first.
    if (std::system("env --default-signal=INT true > /dev/null 2>&1") != 0) {
      MESSAGE("env --default-signal is not available; skipping");
      return;
    }
    const result r = run(s, large, signal_while_writing("env --default-signal=INT", "INT"));
    CHECK(r.code == 128 + SIGINT);
    CHECK(s.files().empty());
  }
  SUBCASE("SIGKILL leaves the temporary, and the next export to the file removes it") {
    const result r = run(s, large, signal_while_writing("", "KILL"));
    CHECK(r.code == 128 + SIGKILL);
    const std::vector<std::string> left = s.files();
    REQUIRE(left.size() == 1);
    CHECK(left.front().starts_with("mask.npy.tmp."));
    CHECK(run(s, {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense", "-o",
                  file.string()})
              .code == 0);
    CHECK(s.files() == std::vector<std::string>{"mask.npy"});
  }
}

TEST_CASE("cli: an export removes the temporaries of its file that dead processes left") {
  scratch s;
  // A process id that certainly names no process: a child that has exited and
  // been waited for.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  const std::string dead = std::to_string(child);
  const std::string alive = std::to_string(::getpid());  // this test
  const std::vector<std::string> stale{"mask.npy.tmp." + dead, "mask.npy.tmp." + dead + ".1"};
  // A live process's temporary, names atomic_file does not write, another file's temporary.
  std::vector<std::string> kept{"mask.npy.tmp." + alive, "mask.npy.tmp.0" + dead,
                                "mask.npy.tmp." + dead + ".x", "other.npy.tmp." + dead};
  for (const std::string& name : stale) std::ofstream(s.out / name) << "stale";
  for (const std::string& name : kept) std::ofstream(s.out / name) << "kept";
  const result r = run(s, {"export", "--layout", "u:3", "--paradigm", "ism", "--format", "dense",
                           "-o", (s.out / "mask.npy").string()});
  CHECK(r.code == 0);
  kept.push_back("mask.npy");
  std::sort(kept.begin(), kept.end());
  CHECK(s.files() == kept);
}

TEST_CASE("cli: show checks its size limits before building the mask") {
  scratch s;
  // Two billion tokens: the mask would need 32 GB, far over the memory cap.
  const std::string huge = "user:2000000000";
  const result text = run(s, {"show", "--layout", huge, "--paradigm", "ism"}, memory_cap);
  CHECK(text.code == 2);
  CHECK(contains(text.err, "the layout has 2000000000 tokens; a text picture shows at most 256"));
  const result svg = run(
      s, {"show", "--layout", huge, "--paradigm", "ism", "--svg", (s.out / "mask.svg").string()},
      memory_cap);
  CHECK(svg.code == 2);
  CHECK(svg.err ==
        "ism: error: the layout has 2000000000 tokens; SVG pictures show at most 2048\n");
  CHECK(svg.out.empty());
  CHECK(s.files().empty());
}

TEST_CASE("cli: stats --max-tokens refuses larger layouts before any work") {
  scratch s;
  const result over = run(s, {"stats", "--layout", "user:60,assistant:40", "--max-tokens", "99"});
  CHECK(over.code == 2);
  CHECK(over.err ==
        "ism: error: the layout has 100 tokens, over the --max-tokens limit of 99; raise "
        "--max-tokens to analyse it\n");
  CHECK(over.out.empty());
  CHECK(run(s, {"stats", "--layout", "user:60,assistant:40", "--max-tokens", "100"}).code == 0);

  // The default is 2^24 tokens; four masks of this layout would need 1 GiB.
  const result big = run(s, {"stats", "--layout", "user:16777217"}, memory_cap);
  CHECK(big.code == 2);
  CHECK(contains(big.err, "16777217 tokens, over the --max-tokens limit of 16777216"));
  CHECK(contains(run(s, {"stats", "--help"}).out, "16 bytes a token"));
}

TEST_CASE("cli: export bounds its memory, not only its file, before any work") {
  scratch s;
  // A 2 KB flex file whose mask alone would take 1.6 GB: refused from the
  // layout, under a 1 GiB cap that a regression would run into.
  const result r = run(s,
                       {"export", "--layout", "user:100000000", "--paradigm", "ism", "--format",
                        "flex", "--block", "2147483647", "-o", (s.out / "m.npz").string()},
                       memory_cap);
  CHECK(r.code == 2);
  CHECK(r.err ==
        "ism: error: the export would hold about 3200000088 bytes (3.0 GiB) of memory, over the "
        "--max-memory limit of 2147483648 bytes (2.0 GiB); raise --max-memory\n");
  CHECK(s.files().empty());
  const result lowered = run(s, {"export", "--layout", "user:1000", "--paradigm", "ism", "--format",
                                 "intervals", "--max-memory", "1000", "-o",
                                 (s.out / "m.npz").string()});
  CHECK(lowered.code == 2);
  CHECK(contains(lowered.err, "over the --max-memory limit of 1000 bytes"));
  CHECK(s.files().empty());
}

TEST_CASE("cli: export refuses intervals over the ZIP size limit before any work") {
  scratch s;
  // lo and hi of 300 million int64 each: 4.8 GB, over the 4 GiB of a ZIP
  // without ZIP64, and the mask itself would be as large.
  const auto start = std::chrono::steady_clock::now();
  const result r =
      run(s,
          {"export", "--layout", "user:300000000", "--paradigm", "ism", "--format", "intervals",
           "--max-bytes", "100000000000", "--max-memory", "100000000000", "-o",
           (s.out / "mask.npz").string()},
          memory_cap);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.code == 2);
  CHECK(contains(r.err, "ism: error: the .npz would be 4800000"));
  CHECK(contains(r.err,
                 "(4.5 GiB), over the 4294967294 bytes (4 GiB) a ZIP archive holds "
                 "without ZIP64"));
  CHECK(elapsed < std::chrono::seconds(1));
  CHECK(s.files().empty());
}

TEST_CASE("cli: running out of memory exits 2 and names the command") {
  if (under_asan) {
    MESSAGE("ASan reports a failed allocation itself; skipping");
    return;
  }
  scratch s;
  // 100 million tokens pass --max-tokens here, but their mask does not fit the cap.
  const result r =
      run(s, {"stats", "--layout", "user:100000000", "--max-tokens", "100000000"}, memory_cap);
  CHECK(r.code == 2);
  CHECK(r.err == "ism: error: out of memory while running 'ism stats'; try a smaller layout\n");
}

TEST_CASE("cli: stats prints every paradigm, and --json is valid JSON") {
  scratch s;
  const std::string layout = "system:6,user:5,assistant:7 | user:4,assistant:2";
  const result text = run(s, {"stats", "--layout", layout});
  REQUIRE(text.code == 0);
  for (const std::string& p : paradigms) CHECK(contains(text.out, p));
  CHECK(contains(text.out, "tokens     24"));

  const result one = run(s, {"stats", "--layout", layout, "--paradigm", "prefix"});
  REQUIRE(one.code == 0);
  CHECK(contains(one.out, "prefix"));
  CHECK(!contains(one.out, "bidirectional"));

  const result json = run(s, {"stats", "--layout", layout, "--json"});
  REQUIRE(json.code == 0);
  CHECK(json.out.starts_with("{\n"));
  CHECK(json.out.ends_with("}\n"));
  CHECK(contains(json.out, "\"tokens\": 24,"));
  CHECK(contains(json.out, "\"name\": \"bidirectional\""));
  // The ism mask of this layout sees 223 of 576 pairs (checked by hand from docs/semantics.md).
  CHECK(contains(json.out, "\"visible_pairs\": 223,"));
  CHECK(std::count(json.out.begin(), json.out.end(), '{') ==
        std::count(json.out.begin(), json.out.end(), '}'));
  if (python_available()) {
    const fs::path file = s.root / "stats.json";
    std::ofstream(file) << json.out;
    const std::string command = "python3 -m json.tool " + quote(file.string()) + " > /dev/null";
    CHECK(std::system(command.c_str()) == 0);
  }
}

#endif  // ISM_CLI_PATH && !_WIN32

#if defined(ISM_CLI_PATH) && !defined(_WIN32)

TEST_CASE("cli: stats bounds the training-cost work before starting, and prefix costs O(segments)") {
  scratch s;
  // Answers that see themselves whole leak, so this paradigm trains one
  // sample per answer and builds each: the 13 tokens, then samples of 6 and 13.
  const result refused = run(s, {"stats", "--layout", "user:2,assistant:4,user:3,assistant:4",
                                 "--paradigm", "bidirectional-roles:assistant", "--max-work", "24"});
  CHECK(refused.code == 2);
  CHECK(refused.err ==
        "ism: error: the training cost of paradigm 'bidirectional-roles:assistant' would visit 32 "
        "tokens (one sample per answer), over the --max-work limit of 24; raise --max-work to "
        "compute it\n");
  CHECK(run(s, {"stats", "--layout", "user:2,assistant:4,user:3,assistant:4", "--paradigm",
                "bidirectional-roles:assistant", "--max-work", "32"})
            .code == 0);
  // One conversation of a million tokens and 4,000 answers: every registered
  // paradigm, prefix and bidirectional by their closed forms.
  std::string chat;
  for (int turn = 0; turn < 4000; ++turn) chat += turn ? ",u:100,a:150" : "u:100,a:150";
  const result all = run(s, {"stats", "--layout", chat, "--json"});
  CHECK(all.code == 0);
  CHECK(contains(all.out, "\"samples\": 4000"));
}

#endif
