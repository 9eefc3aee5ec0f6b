#include "atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#if defined(_WIN32)
#include <process.h>
#define ISM_CLI_GETPID _getpid
#else
#include <unistd.h>
#define ISM_CLI_GETPID getpid
#endif

namespace ism_cli {

namespace {

// The temporary lives in the target's directory so the final rename never
// crosses file systems; the process id keeps concurrent runs apart.
std::filesystem::path temporary_for(const std::filesystem::path& target) {
  std::filesystem::path temporary = target;
  temporary += ".tmp." + std::to_string(ISM_CLI_GETPID());
  return temporary;
}

}  // namespace

atomic_file::atomic_file(std::filesystem::path target)
    : target_(std::move(target)), temporary_(temporary_for(target_)) {
  if (target_.filename().empty())
    throw ism::io_error("cannot write '" + target_.string() + "': not a file name");
  errno = 0;
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    const std::string why = errno != 0 ? std::strerror(errno) : "cannot open it";
    throw ism::io_error("cannot write '" + target_.string() + "': creating '" +
                        temporary_.string() + "' failed: " + why);
  }
}

atomic_file::~atomic_file() {
  if (committed_) return;
  if (out_.is_open()) out_.close();
  std::error_code ignored;  // a destructor cannot report; the original error is what matters
  std::filesystem::remove(temporary_, ignored);
}

void atomic_file::commit() {
  out_.flush();
  out_.close();
  if (!out_)
    throw ism::io_error("cannot write '" + target_.string() + "': writing '" + temporary_.string() +
                        "' failed");
  std::error_code error;
  std::filesystem::rename(temporary_, target_, error);
  if (error) throw ism::io_error("cannot write '" + target_.string() + "': " + error.message());
  committed_ = true;
}

}  // namespace ism_cli
