// A tiny command-line parser: each subcommand declares its options once, and
// the same declaration drives parsing, required-option checks and --help text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ism_cli {

// Exit codes: 0 on success, 2 for every error (usage or otherwise), and 1 for
// `ism verify` finding a file that differs from the contract.
inline constexpr int exit_ok = 0;
inline constexpr int exit_different = 1;
inline constexpr int exit_error = 2;

// A mistake in the command line itself. main() adds a hint to run `<command> --help`.
class usage_error : public std::runtime_error {
 public:
  usage_error(const std::string& message, std::string command)
      : std::runtime_error(message), command_(std::move(command)) {}
  // "ism" or "ism export": what to run with --help.
  const std::string& command() const noexcept { return command_; }

 private:
  std::string command_;
};

struct option {
  std::string_view name;        // "--layout"
  std::string_view short_name;  // "-o", or empty
  std::string_view value_name;  // "L"; empty for a switch such as --json
  std::string_view help;
  bool required = false;
  bool repeatable = false;  // given more than once, each value kept in order
};

class arguments;

struct command {
  std::string_view name;         // "export"
  std::string_view summary;      // one line for `ism --help`
  std::string_view description;  // a paragraph for `ism export --help`
  std::vector<option> options;
  int (*run)(const arguments&);
};

// The options of one invocation, after parsing.
class arguments {
 public:
  arguments(const command& cmd, std::multimap<std::string_view, std::string> values)
      : command_(&cmd), values_(std::move(values)) {}

  bool has(std::string_view name) const { return values_.contains(name); }
  // The value of an option that was given; required options always are.
  // The first value of a repeatable option.
  const std::string& value(std::string_view name) const { return values_.find(name)->second; }
  // Every value of an option, in the order given.
  std::vector<std::string> values(std::string_view name) const;
  std::optional<std::string> find(std::string_view name) const;
  // A non-negative decimal integer, or `fallback` when the option is absent.
  // Throws usage_error for anything else.
  std::uint64_t number(std::string_view name, std::uint64_t fallback) const;

 private:
  const command* command_;
  std::multimap<std::string_view, std::string> values_;
};

// Parses the words after the subcommand. Returns nullopt when -h/--help was
// given (before any error), after printing the help to stdout. Throws
// usage_error for unknown options, missing values, missing options, or a
// repeated option that is not repeatable.
std::optional<arguments> parse_arguments(const command& cmd,
                                         std::span<const std::string_view> words);

std::string help_text(const command& cmd);

}  // namespace ism_cli
