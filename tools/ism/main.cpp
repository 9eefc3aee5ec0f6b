// `ism`: the command-line face of the library. main() picks the subcommand and
// turns every failure into `ism: error: <message>` on stderr and exit code 2.
#include <algorithm>
#include <exception>
#include <iostream>
#include <ism/ism.hpp>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "text.hpp"

namespace {

using ism_cli::command;

std::string version_text() {
  return std::to_string(ISM_VERSION_MAJOR) + "." + std::to_string(ISM_VERSION_MINOR) + "." +
         std::to_string(ISM_VERSION_PATCH);
}

void print_help(const std::vector<command>& commands) {
  std::cout << "ism " << version_text()
            << ": attention masks for multi-turn LLMs (causal, prefix, ism, bidirectional)\n\n"
            << "Usage: ism <command> [options]\n"
            << "       ism --help | --version\n\n"
            << "Commands:\n";
  std::size_t width = 0;
  for (const command& c : commands) width = std::max(width, c.name.size());
  for (const command& c : commands)
    std::cout << "  " << c.name << std::string(width - c.name.size() + 3, ' ') << c.summary << '\n';
  std::cout
      << '\n'
      << ism_cli::wrap(
             "A layout is written as documents separated by '|', each a list of segments "
             "separated by ',', each segment ROLE:LENGTH with ROLE one of system, user, "
             "tool, assistant (or s, u, t, a), for example:\n"
             "  system:6,user:5,assistant:7 | user:4,assistant:2\n"
             "\n"
             "Run 'ism <command> --help' for the options of a command. Start with 'ism demo'.",
             80, "")
      << '\n';
}

// A command's name is one word ("export") or two ("simulate icl").
std::size_t words_in_name(const command& c) {
  return 1 + static_cast<std::size_t>(std::count(c.name.begin(), c.name.end(), ' '));
}

bool named(const command& c, std::span<const std::string_view> words) {
  const std::size_t count = words_in_name(c);
  if (words.size() < count) return false;
  std::string joined(words.front());
  for (std::size_t i = 1; i < count; ++i) joined += " " + std::string(words[i]);
  return joined == c.name;
}

int dispatch(std::span<const std::string_view> words) {
  const std::vector<command> commands{
      ism_cli::demo_command(),           ism_cli::show_command(),
      ism_cli::export_command(),         ism_cli::verify_command(),
      ism_cli::formats_command(),        ism_cli::stats_command(),
      ism_cli::plan_command(),           ism_cli::simulate_serving_command(),
      ism_cli::simulate_training_command(), ism_cli::simulate_icl_command()};
  if (words.empty()) throw ism_cli::usage_error("missing command", "ism");
  const std::string_view first = words.front();
  if (first == "-h" || first == "--help") {
    print_help(commands);
    return ism_cli::exit_ok;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "ism " << version_text() << '\n';
    return ism_cli::exit_ok;
  }
  for (const command& c : commands) {
    if (!named(c, words)) continue;
    const auto args = ism_cli::parse_arguments(c, words.subspan(words_in_name(c)));
    return args ? c.run(*args) : ism_cli::exit_ok;
  }
  if (first.starts_with("-"))
    throw ism_cli::usage_error("unknown option '" + std::string(first) + "'", "ism");
  // The first word of a two-word command alone, or with an unknown second.
  std::vector<std::string> firsts, seconds;
  for (const command& c : commands) {
    const std::string_view head = c.name.substr(0, c.name.find(' '));
    if (head == first && words_in_name(c) == 2) seconds.emplace_back(c.name.substr(head.size() + 1));
    if (std::find(firsts.begin(), firsts.end(), head) == firsts.end()) firsts.emplace_back(head);
  }
  if (!seconds.empty())
    throw ism_cli::usage_error("'ism " + std::string(first) + "' needs one of " +
                                   ism::detail::spelled_choices(seconds) +
                                   (words.size() > 1 ? ", not '" + std::string(words[1]) + "'" : ""),
                               "ism");
  throw ism_cli::usage_error("unknown command '" + std::string(first) + "'; expected " +
                                 ism::detail::spelled_choices(firsts),
                             "ism");
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> words(argv + 1, argv + argc);
  try {
    const int code = dispatch(words);
    // A full disk or closed pipe on stdout is an error too, not a silent success.
    std::cout.flush();
    if (!std::cout) throw ism::io_error("writing to standard output failed");
    return code;
  } catch (const ism_cli::usage_error& e) {
    std::cerr << "ism: error: " << e.what() << "\nRun '" << e.command() << " --help' for usage.\n";
  } catch (const std::bad_alloc&) {
    // Unwinding has freed what the command held, so there is memory to say so.
    std::cerr << "ism: error: out of memory while running '"
              << (words.empty() ? std::string("ism") : "ism " + std::string(words.front()))
              << "'; try a smaller layout\n";
  } catch (const std::exception& e) {
    std::cerr << "ism: error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "ism: error: unexpected failure\n";
  }
  return ism_cli::exit_error;
}
