#include "state/plan.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.hpp"

namespace pgshift::state {
namespace {

std::string where(const std::string& file, const YAML::Node& node) {
  return fmt::format("{}:{}", file, node.Mark().line + 1);
}

std::string scalar(const std::string& file, const std::string& key, const YAML::Node& node) {
  if (!node.IsScalar()) throw UsageError(fmt::format("{}: '{}' must be a string", where(file, node), key));
  return expand_env(node.as<std::string>(), fmt::format("{}: {}", where(file, node), key));
}

// Reads the plan file's values into `from_file` (nothing is merged here).
void load_file(const std::string& file, PlanInputs& from_file) {
  PlanInputs& merged = from_file;
  if (!std::filesystem::exists(file)) {
    throw UsageError(fmt::format("-c {}: no such file", file));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw UsageError(fmt::format("{}: the plan must be a mapping of keys", file));
  static const std::set<std::string> known = {"source", "target", "exclude", "publication", "subscription",
                                              "source_subscriber"};
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    if (!known.count(key)) {
      throw UsageError(fmt::format("{}: unknown key '{}' (known: source, target, exclude, publication, "
                                   "subscription, source_subscriber)",
                                   where(file, kv.first), key));
    }
  }
  auto take = [&](const char* key, std::string& into) {
    if (root[key] && into.empty()) into = scalar(file, key, root[key]);
  };
  take("source", merged.source);
  take("target", merged.target);
  take("publication", merged.publication);
  take("subscription", merged.subscription);
  take("source_subscriber", merged.source_subscriber);
  if (const YAML::Node ex = root["exclude"]) {
    if (ex.IsScalar()) {
      merged.excludes.push_back(scalar(file, "exclude", ex));
    } else if (ex.IsSequence()) {
      for (const auto& item : ex) merged.excludes.push_back(scalar(file, "exclude", item));
    } else {
      throw UsageError(fmt::format("{}: 'exclude' must be a list of table patterns", where(file, ex)));
    }
  }
}

}  // namespace

std::string expand_env(std::string_view text, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      throw UsageError(fmt::format("{}: unterminated ${{ in value", what));
    }
    std::string name(text.substr(i + 2, close - i - 2));
    const char* value = std::getenv(name.c_str());
    if (name.empty() || value == nullptr) {
      throw UsageError(fmt::format("{}: environment variable {} is not set", what, name.empty() ? "''" : name));
    }
    out += value;
    i = close;
  }
  return out;
}

void validate_object_name(const std::string& name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 55 && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) {
    throw UsageError(fmt::format("{}: '{}' is not a valid name (lowercase letters, digits and _, at most 55)",
                                 what, name));
  }
}

std::string default_object_name(const pg::ConnInfo& source, const pg::ConnInfo& target) {
  auto endpoint = [](const pg::ConnInfo& c) { return c.host() + ":" + c.port() + "/" + c.dbname(); };
  std::string key = endpoint(source) + " " + endpoint(target);
  uint32_t hash = 2166136261u;  // FNV-1a: stable across builds and machines
  for (unsigned char ch : key) hash = (hash ^ ch) * 16777619u;
  std::string db;
  for (char ch : target.dbname()) {
    char c = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    db += ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') ? c : '_';
    if (db.size() == 24) break;
  }
  return fmt::format("pgshift_{}{}{:06x}", db, db.empty() ? "" : "_", hash & 0xffffffu);
}

std::vector<catalog::TablePattern> Plan::exclude_patterns() const {
  std::vector<catalog::TablePattern> out;
  for (const auto& e : excludes) out.emplace_back(e);
  return out;
}

nlohmann::json Plan::to_json() const {
  return nlohmann::json{{"source", source.empty() ? "" : source.redacted()},
                        {"target", target.empty() ? "" : target.redacted()},
                        {"exclude", excludes},
                        {"publication", publication},
                        {"subscription", subscription}};
}

Plan resolve_plan(const PlanInputs& inputs, Need need) {
  PlanInputs file;
  if (!inputs.config_file.empty()) load_file(inputs.config_file, file);
  Plan plan;
  // Flags win over the file, the file over the environment.
  auto conn = [&](const std::string& flag_value, const std::string& file_value, const char* flag,
                  const char* key, const char* env) {
    if (!flag_value.empty()) return pg::ConnInfo::parse(flag_value, flag);
    if (!file_value.empty()) return pg::ConnInfo::parse(file_value, inputs.config_file + ": " + key);
    if (auto from_env = pg::ConnInfo::from_env(env)) return *from_env;
    return pg::ConnInfo();
  };
  plan.source = conn(inputs.source, file.source, "--source", "source", "PGSHIFT_SOURCE_URL");
  plan.target = conn(inputs.target, file.target, "--target", "target", "PGSHIFT_TARGET_URL");
  if (need != Need::target_only && plan.source.empty()) {
    throw UsageError("no source database: pass --source URL, set PGSHIFT_SOURCE_URL, or put 'source:' in -c FILE");
  }
  if (need != Need::source_only && plan.target.empty()) {
    throw UsageError("no target database: pass --target URL, set PGSHIFT_TARGET_URL, or put 'target:' in -c FILE");
  }
  pg::ConnInfo subscriber = conn(inputs.source_subscriber, file.source_subscriber, "--source-subscriber",
                                 "source_subscriber", "PGSHIFT_SOURCE_SUBSCRIBER_URL");
  if (!subscriber.empty()) {
    if (subscriber.dbname() != plan.source.dbname()) {
      throw UsageError(fmt::format("--source-subscriber: database {} is not the source's ({}); give the same host, "
                                   "port and database with the subscribing role",
                                   subscriber.dbname(), plan.source.dbname()));
    }
    plan.source_subscriber = subscriber;
  }
  plan.excludes = file.excludes;
  plan.excludes.insert(plan.excludes.end(), inputs.excludes.begin(), inputs.excludes.end());
  auto pick = [](const std::string& flag_value, const std::string& file_value, const std::string& fallback) {
    return !flag_value.empty() ? flag_value : !file_value.empty() ? file_value : fallback;
  };
  plan.default_names = inputs.publication.empty() && file.publication.empty() && inputs.subscription.empty() &&
                       file.subscription.empty();
  std::string fallback = default_object_name(plan.source, plan.target);
  plan.publication = pick(inputs.publication, file.publication, fallback);
  plan.subscription = pick(inputs.subscription, file.subscription, fallback);
  validate_object_name(plan.publication, "publication");
  validate_object_name(plan.subscription, "subscription");
  return plan;
}

}  // namespace pgshift::state
