// Recorded tool output and CloudNativePG resources (in the CRDs' shape) for the backup unit tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace pgshift::testing {

inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(PGSHIFT_SOURCE_DIR) + "/tests/unit/backup/fixtures/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json fixture_json(const std::string& name) { return nlohmann::json::parse(fixture(name)); }

}  // namespace pgshift::testing
