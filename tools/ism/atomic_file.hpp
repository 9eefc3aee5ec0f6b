// All-or-nothing output files. The constructor checks the target and creates a
// fresh temporary file beside it; write() fills the temporary and renames it
// over the target, so an error at any point leaves no partial file and leaves an
// existing file as it was. A replaced file keeps its permission bits. Commands
// construct it before any work, so a target that cannot be written is reported
// before time is spent on its contents.
//
// The temporary is FILE.tmp.<pid> (FILE.tmp.<pid>.<k> when that name is taken).
// It is removed when writing fails, and when SIGHUP, SIGINT, SIGPIPE or SIGTERM
// ends the process while it exists. It remains after what no handler sees:
// SIGKILL, a crash, a power cut, any other signal. Such a stale temporary goes
// the next time any process writes the same FILE, once process <pid> no longer
// exists. It stays while a live process has that id again, when another user
// owns it, and as long as nothing writes FILE. A process in another PID
// namespace or on another machine sharing the directory looks dead from here,
// so two such writers of one FILE can remove each other's temporary (the victim
// then fails at its rename and leaves the target as it was). On Windows none of
// this cleanup runs.
#pragma once

#include <cstdio>
#include <filesystem>
#include <ism/errors.hpp>
#include <ostream>
#include <streambuf>
#include <string>

namespace ism_cli {

// An output stream buffer over a C FILE that it owns: std::fopen can create a
// file exclusively ("x"), which std::ofstream cannot before C++23.
class file_buffer : public std::streambuf {
 public:
  file_buffer() = default;
  ~file_buffer() override;
  file_buffer(const file_buffer&) = delete;
  file_buffer& operator=(const file_buffer&) = delete;

  // Takes ownership of an open file.
  void attach(std::FILE* file) { file_ = file; }
  // Flushes and closes the file. Returns 0, or the errno of the first failed
  // write, flush or close.
  int close();

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* data, std::streamsize size) override;
  int sync() override;

 private:
  // Remembers the first failure, for close() to report.
  void record_error();

  std::FILE* file_ = nullptr;
  int error_ = 0;
};

// While armed, unlinks one file if SIGHUP, SIGINT, SIGPIPE or SIGTERM arrives;
// the signal then ends the process as it would have, so the exit status still
// names it. A signal that the process inherited as ignored stays ignored. The
// handlers are installed while any signal_cleanup is armed.
class signal_cleanup {
 public:
  signal_cleanup() = default;
  ~signal_cleanup() { disarm(); }
  signal_cleanup(const signal_cleanup&) = delete;
  signal_cleanup& operator=(const signal_cleanup&) = delete;

  void arm(const std::filesystem::path& file);
  void disarm();

 private:
  friend struct armed_cleanups;  // the signal handler's list

  std::string path_;  // formatted before arming: the handler may only call unlink()
  signal_cleanup* next_ = nullptr;
  bool armed_ = false;
};

class atomic_file {
 public:
  // Follows symbolic links at `target`, so the file they lead to is replaced and
  // the links stay. Throws ism::io_error when the target is not a file name,
  // exists but is not a regular file (a directory, a device, a FIFO), or when
  // the temporary file cannot be created. An existing file is never overwritten
  // by the temporary: its name is taken only when it does not exist yet. Stale
  // temporaries of the same target are removed first (see above).
  explicit atomic_file(const std::filesystem::path& target);
  // Removes the temporary file unless write() succeeded.
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  // Writes the contents with produce(std::ostream&) and closes the temporary,
  // calls announce() to print what was written to std::cout, flushes std::cout,
  // and only then renames the temporary over the target: a command that fails,
  // even at telling what it wrote, leaves no new file. Throws ism::io_error
  // naming the target when the temporary cannot be written, given the replaced
  // file's permission bits or renamed, and "writing to standard output failed"
  // when the flush fails.
  template <class Produce, class Announce>
  void write(Produce&& produce, Announce&& announce) {
    try {
      produce(stream_);
    } catch (const ism::io_error& e) {
      throw ism::io_error(cannot_write() + e.what());
    }
    close_temporary();
    announce();
    rename_after_standard_output();
  }

 private:
  // "cannot write 'TARGET': ", the start of every error message.
  std::string cannot_write() const;
  void close_temporary();
  void rename_after_standard_output();

  std::filesystem::path target_;       // as the user named it, for messages
  std::filesystem::path destination_;  // the regular file it leads to
  std::filesystem::path temporary_;
  file_buffer buffer_;
  std::ostream stream_{&buffer_};
  signal_cleanup cleanup_;
  bool committed_ = false;
};

}  // namespace ism_cli
