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
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <string_view>
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

#if defined(_WIN32)

struct signals_blocked {
  signals_blocked() = default;
};

void remove_stale_temporaries(const fs::path&) {}

#else

// The signals that end a process from outside: a closed terminal, Ctrl-C, a
// reader of standard output that went away, kill.
constexpr std::array<int, 4> cleanup_signals{SIGHUP, SIGINT, SIGPIPE, SIGTERM};

// Holds the cleanup signals back while it lives; they arrive when it ends.
class signals_blocked {
 public:
  signals_blocked() {
    sigset_t set;
    sigemptyset(&set);
    for (const int signal : cleanup_signals) sigaddset(&set, signal);
    sigprocmask(SIG_BLOCK, &set, &previous_);
  }
  ~signals_blocked() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  signals_blocked(const signals_blocked&) = delete;
  signals_blocked& operator=(const signals_blocked&) = delete;

 private:
  sigset_t previous_;
};

// The process id in a temporary's name after "FILE.tmp.": "<pid>" or
// "<pid>.<k>", digits as atomic_file writes them; nothing for any other name.
std::optional<pid_t> temporary_owner(std::string_view suffix) {
  const auto number = [](std::string_view digits, long long& value) {
    if (digits.empty() || digits.front() < '1' || digits.front() > '9') return false;
    const char* end = digits.data() + digits.size();
    const auto [stop, error] = std::from_chars(digits.data(), end, value);
    return error == std::errc() && stop == end;
  };
  const std::size_t dot = suffix.find('.');
  long long pid = 0;
  long long attempt = 0;
  if (!number(suffix.substr(0, dot), pid) || pid > std::numeric_limits<pid_t>::max())
    return std::nullopt;
  if (dot != std::string_view::npos &&
      (!number(suffix.substr(dot + 1), attempt) || attempt >= temporary_name_attempts))
    return std::nullopt;
  return static_cast<pid_t>(pid);
}

// Removes the temporaries of `destination` that processes killed past their
// signal handlers (SIGKILL, a crash) left beside it: regular files of this user
// named as atomic_file names them, whose process no longer exists (kill(pid, 0)
// fails with ESRCH). What cannot be read or removed stays; it does not stop
// this run.
void remove_stale_temporaries(const fs::path& destination) {
  const std::string prefix = destination.filename().string() + ".tmp.";
  const fs::path directory =
      destination.has_parent_path() ? destination.parent_path() : fs::path(".");
  std::error_code error;
  for (fs::directory_iterator entry(directory, error), end; !error && entry != end;
       entry.increment(error)) {
    const std::string name = entry->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::optional<pid_t> owner =
        temporary_owner(std::string_view(name).substr(prefix.size()));
    if (!owner || *owner == getpid() || kill(*owner, 0) == 0 || errno != ESRCH) continue;
    struct stat status;
    if (lstat(entry->path().c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
        status.st_uid == geteuid())
      unlink(entry->path().c_str());
  }
}

#endif

}  // namespace

#if defined(_WIN32)

void signal_cleanup::arm(const fs::path&) {}
void signal_cleanup::disarm() {}

#else

// The armed cleanups, newest first, and the actions their handler replaced.
// They change only while the cleanup signals are blocked, so the handler never
// sees a half-made change.
struct armed_cleanups {
  static inline signal_cleanup* first = nullptr;
  static inline std::array<struct sigaction, cleanup_signals.size()> replaced{};

  static void on_signal(int signal) {
    // Only async-signal-safe calls from here on.
    for (const signal_cleanup* c = first; c != nullptr; c = c->next_) unlink(c->path_.c_str());
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal, &default_action, nullptr);
    // Pending until this handler returns; then the default action ends the process.
    raise(signal);
  }

  static void install() {
    struct sigaction action {};
    action.sa_handler = &on_signal;
    sigemptyset(&action.sa_mask);
    for (const int signal : cleanup_signals) sigaddset(&action.sa_mask, signal);
    for (std::size_t i = 0; i < cleanup_signals.size(); ++i) {
      sigaction(cleanup_signals[i], nullptr, &replaced[i]);
      // nohup and `cmd &` ignore signals on purpose; so does this process then.
      const bool ignored =
          (replaced[i].sa_flags & SA_SIGINFO) == 0 && replaced[i].sa_handler == SIG_IGN;
      if (!ignored) sigaction(cleanup_signals[i], &action, nullptr);
    }
  }

  static void restore() {
    for (std::size_t i = 0; i < cleanup_signals.size(); ++i)
      sigaction(cleanup_signals[i], &replaced[i], nullptr);
  }
};

void signal_cleanup::arm(const fs::path& file) {
  path_ = file.string();
  const signals_blocked blocked;
  if (armed_cleanups::first == nullptr) armed_cleanups::install();
  next_ = armed_cleanups::first;
  armed_cleanups::first = this;
  armed_ = true;
}

void signal_cleanup::disarm() {
  if (!armed_) return;
  const signals_blocked blocked;
  signal_cleanup** link = &armed_cleanups::first;
  while (*link != this) link = &(*link)->next_;
  *link = next_;
  if (armed_cleanups::first == nullptr) armed_cleanups::restore();
  armed_ = false;
}

#endif

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
  remove_stale_temporaries(destination_);
  // The temporary lives beside the destination so the final rename never
  // crosses file systems, and the process id keeps concurrent runs apart. "x"
  // creates it only where no file exists, so a file that happens to have the
  // name is never overwritten: the next name is tried instead. A signal cannot
  // come between creating the temporary and arming its cleanup.
  const signals_blocked blocked;
  const std::string stem = destination_.string() + ".tmp." + std::to_string(ISM_CLI_GETPID());
  for (int attempt = 0; attempt < temporary_name_attempts; ++attempt) {
    fs::path candidate = attempt == 0 ? stem : stem + "." + std::to_string(attempt);
    errno = 0;
    if (std::FILE* file = std::fopen(candidate.string().c_str(), "wbx")) {
      buffer_.attach(file);
      temporary_ = std::move(candidate);
      cleanup_.arm(temporary_);
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
  cleanup_.disarm();
}

}  // namespace ism_cli
