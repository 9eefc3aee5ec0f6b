#include "atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <system_error>
#include <utility>

#if defined(_WIN32)
#include <process.h>
#define ISM_CLI_GETPID _getpid
#else
#include <unistd.h>
#define ISM_CLI_GETPID getpid
#endif

namespace ism_cli {

namespace fs = std::filesystem;

namespace {

// As many links as Linux follows (MAXSYMLINKS) before it reports a loop.
constexpr int max_symbolic_links = 40;
// FILE.tmp.<pid>, then FILE.tmp.<pid>.1, ... are tried until one is free.
constexpr int temporary_name_attempts = 100;

std::string quote_path(const fs::path& path) {
  return "'" + path.string() + "'";
}

std::string reason(int error) {
  return error != 0 ? std::strerror(error) : "unknown error";
}

// The file that writing `target` replaces: `target` itself, or where its chain
// of symbolic links leads. Anything else that exists there is refused: renaming
// over a directory fails only after all the work, and renaming over a device or
// a FIFO would silently replace it with a regular file.
fs::path regular_destination(const fs::path& target, const std::string& cannot_write) {
  fs::path file = target;
  for (int links = 0;; ++links) {
    std::error_code error;
    const fs::file_status status = fs::symlink_status(file, error);
    if (status.type() == fs::file_type::not_found || fs::is_regular_file(status)) return file;
    if (error) throw ism::io_error(cannot_write + error.message());
    if (!fs::is_symlink(status))
      throw ism::io_error(cannot_write +
                          (file == target ? "it" : "its link target " + quote_path(file)) +
                          " exists and is not a regular file; ism writes regular files only");
    if (links == max_symbolic_links)
      throw ism::io_error(cannot_write + "too many levels of symbolic links");
    const fs::path link = fs::read_symlink(file, error);
    if (error) throw ism::io_error(cannot_write + error.message());
    file = file.parent_path() / link;  // an absolute link replaces the whole path
  }
}

}  // namespace

file_buffer::~file_buffer() {
  if (file_) std::fclose(file_);
}

int file_buffer::close() {
  if (file_ && std::fclose(file_) != 0) record_error();
  file_ = nullptr;
  return error_;
}

file_buffer::int_type file_buffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  if (std::fputc(c, file_) != EOF) return c;
  record_error();
  return traits_type::eof();
}

std::streamsize file_buffer::xsputn(const char* data, std::streamsize size) {
  const std::size_t written = std::fwrite(data, 1, static_cast<std::size_t>(size), file_);
  if (written < static_cast<std::size_t>(size)) record_error();
  return static_cast<std::streamsize>(written);
}

int file_buffer::sync() {
  if (std::fflush(file_) == 0) return 0;
  record_error();
  return -1;
}

void file_buffer::record_error() {
  if (error_ == 0) error_ = errno != 0 ? errno : EIO;
}

atomic_file::atomic_file(const fs::path& target) : target_(target) {
  if (target_.filename().empty()) throw ism::io_error(cannot_write() + "not a file name");
  destination_ = regular_destination(target_, cannot_write());
  // The temporary lives beside the destination so the final rename never
  // crosses file systems, and the process id keeps concurrent runs apart. "x"
  // creates it only where no file exists, so a file that happens to have the
  // name is never overwritten: the next name is tried instead.
  const std::string stem = destination_.string() + ".tmp." + std::to_string(ISM_CLI_GETPID());
  for (int attempt = 0; attempt < temporary_name_attempts; ++attempt) {
    fs::path candidate = attempt == 0 ? stem : stem + "." + std::to_string(attempt);
    errno = 0;
    if (std::FILE* file = std::fopen(candidate.string().c_str(), "wbx")) {
      buffer_.attach(file);
      temporary_ = std::move(candidate);
      return;
    }
    if (errno != EEXIST)
      throw ism::io_error(cannot_write() + "creating " + quote_path(candidate) +
                          " failed: " + reason(errno));
  }
  throw ism::io_error(cannot_write() + "the temporary names " + quote_path(stem) + " to " +
                      quote_path(stem + "." + std::to_string(temporary_name_attempts - 1)) +
                      " beside it are all taken");
}

atomic_file::~atomic_file() {
  if (committed_) return;
  buffer_.close();
  std::error_code ignored;  // a destructor cannot report; the original error is what matters
  fs::remove(temporary_, ignored);
}

std::string atomic_file::cannot_write() const {
  return "cannot write " + quote_path(target_) + ": ";
}

void atomic_file::close_temporary() {
  stream_.flush();
  const int error = buffer_.close();
  if (error != 0 || !stream_)
    throw ism::io_error(cannot_write() + "writing " + quote_path(temporary_) +
                        " failed: " + reason(error));
}

void atomic_file::rename_after_standard_output() {
  std::cout.flush();
  if (!std::cout) throw ism::io_error("writing to standard output failed");
  // Read now, just before the rename, so the replacement has the mode the file has.
  std::error_code error;
  const fs::file_status replaced = fs::status(destination_, error);
  if (replaced.type() != fs::file_type::not_found) {
    if (!error) fs::permissions(temporary_, replaced.permissions() & fs::perms::all, error);
    if (error)
      throw ism::io_error(cannot_write() + "copying its permissions to " + quote_path(temporary_) +
                          " failed: " + error.message());
  }
  fs::rename(temporary_, destination_, error);
  if (error) throw ism::io_error(cannot_write() + error.message());
  committed_ = true;
}

}  // namespace ism_cli
