// Runs the ism CLI as a separate process, the way people run it, in a fresh
// scratch directory per test. Shared by the CLI test files.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "npy_reader.hpp"

namespace cli_runner {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards. Outputs go to `out`, so a
// test can assert that nothing else (no partial or temporary file) appears.
struct scratch {
  fs::path root;
  fs::path out;

  scratch() {
    static std::atomic<int> counter{0};
    root = fs::temp_directory_path() /
           ("ism_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(root);
    out = root / "out";
    fs::create_directories(out);
  }
  ~scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;

  bool empty() const { return fs::is_empty(out); }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(out))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

struct result {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string quote(const std::string& word) {
  std::string q = "'";
  for (const char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `prelude` is shell text run first, in the same shell: a limit, an
// environment variable, or a preparation ending in `exec ` so the CLI keeps the
// shell's process id ($$).
inline result run(const scratch& s, const std::vector<std::string>& args,
                  const std::string& prelude = "") {
  std::string command = prelude + quote(ISM_CLI_PATH);
  for (const std::string& a : args) command += " " + quote(a);
  const fs::path out = s.root / "stdout.txt";
  const fs::path err = s.root / "stderr.txt";
  command += " > " + quote(out.string()) + " 2> " + quote(err.string());
  const int status = std::system(command.c_str());
  result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = npy_reader::read_file(out);
  r.err = npy_reader::read_file(err);
  return r;
}

// An interpreter that can import numpy: Debian's python3-numpy serves
// /usr/bin/python3, which a python3 found first on PATH (pyenv, a venv) may not see.
inline std::optional<std::string> numpy_python() {
  for (const std::string python : {"/usr/bin/python3", "python3"})
    if (std::system((python + " -c 'import numpy' > /dev/null 2>&1").c_str()) == 0) return python;
  return std::nullopt;
}

}  // namespace cli_runner
