#include "util/strict_yaml.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "util/error.hpp"

namespace pgshift::util {

YAML::Node StrictYaml::parse(const std::string& text) const {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}:{}: invalid YAML: {}", path_, e.mark.line + 1, e.msg));
  }
}

std::string StrictYaml::at(const YAML::Node& node) const { return fmt::format("{}:{}", path_, node.Mark().line + 1); }

void StrictYaml::fail(const YAML::Node& node, const std::string& what) const {
  throw UsageError(fmt::format("{}: {}", at(node), what));
}

void StrictYaml::only_keys(const YAML::Node& map, const std::set<std::string>& known, const std::string& what) const {
  if (!map.IsMap()) fail(map, what + " must be a mapping");
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    if (known.count(key)) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    fail(kv.first, fmt::format("unknown key '{}' in {} (known: {})", key, what, list));
  }
}

std::string StrictYaml::text(const YAML::Node& node, const std::string& key) const {
  if (!node.IsScalar()) fail(node, fmt::format("'{}' must be a string", key));
  return node.as<std::string>();
}

bool StrictYaml::boolean(const YAML::Node& node, const std::string& key) const {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(node, fmt::format("'{}' must be true or false", key));
  return value;
}

long long StrictYaml::integer(const YAML::Node& node, const std::string& key) const {
  long long value = 0;
  if (!node.IsScalar() || !YAML::convert<long long>::decode(node, value)) fail(node, fmt::format("'{}' must be an integer", key));
  return value;
}

std::vector<std::string> StrictYaml::list(const YAML::Node& node, const std::string& key) const {
  if (node.IsScalar()) return {text(node, key)};
  if (!node.IsSequence()) fail(node, fmt::format("'{}' must be a list of strings", key));
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(text(item, key));
  return out;
}

std::map<std::string, std::string> StrictYaml::string_map(const YAML::Node& node, const std::string& key) const {
  if (!node.IsMap()) fail(node, fmt::format("'{}' must be a mapping of name: value", key));
  std::map<std::string, std::string> out;
  for (const auto& kv : node) out[kv.first.as<std::string>()] = text(kv.second, kv.first.as<std::string>());
  return out;
}

void StrictYaml::optional(const YAML::Node& map, const char* key, std::string& into) const {
  if (map[key]) into = text(map[key], key);
}

void StrictYaml::optional(const YAML::Node& map, const char* key, bool& into) const {
  if (map[key]) into = boolean(map[key], key);
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("{} {}: cannot read the file", what, path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace pgshift::util
