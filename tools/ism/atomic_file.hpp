// All-or-nothing output files. Data goes to `FILE.tmp.<pid>` beside FILE and is
// renamed over FILE only by commit(), so an error at any point leaves no partial
// FILE and leaves an existing FILE as it was.
#pragma once

#include <filesystem>
#include <fstream>
#include <ism/errors.hpp>
#include <string>

namespace ism_cli {

class atomic_file {
 public:
  // Throws ism::io_error when the target is not a file name or the temporary
  // file cannot be created.
  explicit atomic_file(std::filesystem::path target);
  // Removes the temporary file unless commit() succeeded.
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  std::ostream& stream() { return out_; }

  // Flushes, closes and renames the temporary file to the target. Throws
  // ism::io_error on failure; the destructor then cleans up.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temporary_;
  std::ofstream out_;
  bool committed_ = false;
};

// Writes `target` all-or-nothing with produce(std::ostream&). I/O errors from
// the producer are reported with the target's name.
template <class F>
void write_atomically(const std::filesystem::path& target, F&& produce) {
  atomic_file file(target);
  try {
    produce(file.stream());
  } catch (const ism::io_error& e) {
    throw ism::io_error("cannot write '" + target.string() + "': " + e.what());
  }
  file.commit();
}

}  // namespace ism_cli
