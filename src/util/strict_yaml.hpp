// Strict reading of YAML configuration files (roles.yaml, cnpg.yaml): every error is a UsageError
// "file:line: what", an unknown key names the key, its line and the known keys, and scalars are
// converted with a message naming the key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace pgshift::util {

class StrictYaml {
 public:
  explicit StrictYaml(std::string path) : path_(std::move(path)) {}

  // Parses text; a syntax error becomes "path:line: invalid YAML: ...".
  YAML::Node parse(const std::string& text) const;

  const std::string& path() const { return path_; }
  std::string at(const YAML::Node& node) const;  // "path:line"
  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const;

  // Every key of `map` must be one of `known`; `what` names the mapping in messages.
  void only_keys(const YAML::Node& map, const std::set<std::string>& known, const std::string& what) const;

  std::string text(const YAML::Node& node, const std::string& key) const;
  bool boolean(const YAML::Node& node, const std::string& key) const;
  long long integer(const YAML::Node& node, const std::string& key) const;
  std::vector<std::string> list(const YAML::Node& node, const std::string& key) const;  // a scalar is a list of one
  std::map<std::string, std::string> string_map(const YAML::Node& node, const std::string& key) const;

  // map[key] into `into` when the key is present (left as is otherwise).
  void optional(const YAML::Node& map, const char* key, std::string& into) const;
  void optional(const YAML::Node& map, const char* key, bool& into) const;

 private:
  std::string path_;
};

// Reads a whole file; UsageError "what PATH: cannot read the file".
std::string read_text_file(const std::string& path, const std::string& what);

}  // namespace pgshift::util
