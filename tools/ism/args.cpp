#include "args.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>

#include "text.hpp"

namespace ism_cli {

namespace {

std::string full_name(const command& cmd) {
  return "ism " + std::string(cmd.name);
}

const option* find_option(const command& cmd, std::string_view word) {
  for (const option& opt : cmd.options)
    if (word == opt.name || (!opt.short_name.empty() && word == opt.short_name)) return &opt;
  return nullptr;
}

bool is_help(std::string_view word) {
  return word == "-h" || word == "--help";
}

}  // namespace

std::optional<std::string> arguments::find(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> arguments::values(std::string_view name) const {
  std::vector<std::string> out;
  const auto [first, last] = values_.equal_range(name);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

std::uint64_t arguments::number(std::string_view name, std::uint64_t fallback) const {
  const auto text = find(name);
  if (!text) return fallback;
  std::uint64_t out = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, out);
  if (text->empty() || ec != std::errc() || ptr != end)
    throw usage_error("option " + std::string(name) + " expects a non-negative integer" +
                          (ec == std::errc::result_out_of_range ? " below 2^64" : "") + ", got '" +
                          *text + "'",
                      full_name(*command_));
  return out;
}

std::optional<arguments> parse_arguments(const command& cmd,
                                         std::span<const std::string_view> words) {
  std::multimap<std::string_view, std::string> values;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (is_help(word)) {
      std::cout << help_text(cmd);
      return std::nullopt;
    }
    // --name=value keeps a value that itself starts with '-'.
    const std::size_t equals = word.starts_with("--") ? word.find('=') : std::string_view::npos;
    const std::string_view key = word.substr(0, equals);
    const option* opt = find_option(cmd, key);
    if (!opt) {
      if (word.starts_with("-"))
        throw usage_error("unknown option '" + std::string(key) + "' for '" + full_name(cmd) + "'",
                          full_name(cmd));
      throw usage_error("unexpected argument '" + std::string(word) + "'; '" + full_name(cmd) +
                            "' takes options only",
                        full_name(cmd));
    }
    if (values.contains(opt->name) && !opt->repeatable)
      throw usage_error("option " + std::string(opt->name) + " is given twice", full_name(cmd));
    if (opt->value_name.empty()) {
      if (equals != std::string_view::npos)
        throw usage_error("option " + std::string(opt->name) + " takes no value", full_name(cmd));
      values.emplace(opt->name, "");
      continue;
    }
    if (equals != std::string_view::npos) {
      values.emplace(opt->name, std::string(word.substr(equals + 1)));
      continue;
    }
    // A following option is a forgotten value, not the value itself.
    if (i + 1 == words.size() || words[i + 1].starts_with("--") || is_help(words[i + 1]))
      throw usage_error("option " + std::string(opt->name) + " needs a value (" +
                            std::string(opt->value_name) + ")",
                        full_name(cmd));
    values.emplace(opt->name, std::string(words[++i]));
  }
  for (const option& opt : cmd.options)
    if (opt.required && !values.contains(opt.name))
      throw usage_error(
          "missing required option " + std::string(opt.name) + " " + std::string(opt.value_name),
          full_name(cmd));
  return arguments(cmd, std::move(values));
}

std::string help_text(const command& cmd) {
  std::string usage = "Usage: " + full_name(cmd);
  bool optional_options = false;
  for (const option& opt : cmd.options) {
    if (!opt.required) {
      optional_options = true;
      continue;
    }
    usage += ' ';
    usage += opt.short_name.empty() ? opt.name : opt.short_name;
    usage += ' ';
    usage += opt.value_name;
  }
  if (optional_options) usage += " [options]";

  // Option names in one column, help text wrapped beside it.
  std::vector<std::pair<std::string, std::string>> rows;
  for (const option& opt : cmd.options) {
    std::string left = opt.short_name.empty() ? "    " : std::string(opt.short_name) + ", ";
    left += opt.name;
    if (!opt.value_name.empty()) left += " " + std::string(opt.value_name);
    rows.emplace_back(left, std::string(opt.required ? "(required) " : "") + std::string(opt.help));
  }
  rows.emplace_back("-h, --help", "Show this help and exit.");
  std::size_t left_width = 0;
  for (const auto& row : rows) left_width = std::max(left_width, row.first.size());

  constexpr std::size_t width = 80;
  constexpr std::string_view indent = "  ";
  const std::size_t help_column = indent.size() + left_width + 2;
  std::string out = usage + "\n\n" + wrap(cmd.description, width, "") + "\n\nOptions:\n";
  for (const auto& [left, help] : rows) {
    std::string line = std::string(indent) + left;
    line.append(help_column - line.size(), ' ');
    const std::string wrapped = wrap(help, width, std::string(help_column, ' '));
    out += line + wrapped.substr(help_column) + "\n";
  }
  return out;
}

}  // namespace ism_cli
