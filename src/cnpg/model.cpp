#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "cnpg/cnpg.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/strict_yaml.hpp"

namespace pgshift::cnpg {
namespace {

constexpr std::string_view kSourceExtensions =
    "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1";
constexpr std::string_view kSourceSize = "SELECT pg_database_size(current_database())";

bool dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::islower(static_cast<unsigned char>(s.front())) ||
      !std::isalnum(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// pgaudit's parameters (pgaudit 1.7-17) and what each accepts; anything else is refused, as the
// server would refuse it at start (an unknown pgaudit.* placeholder is an error once pgaudit loads).
void check_pgaudit(const util::StrictYaml& r, const YAML::Node& node, const std::string& key, const std::string& value) {
  static const std::set<std::string> booleans = {"log_catalog", "log_client", "log_parameter", "log_relation",
                                                 "log_rows", "log_statement", "log_statement_once"};
  static const std::set<std::string> levels = {"debug1", "debug2", "debug3", "debug4", "debug5", "info", "notice",
                                               "warning", "log"};
  static const std::set<std::string> classes = {"read", "write", "function", "role", "ddl", "misc", "misc_set", "all", "none"};
  static const std::set<std::string> bools = {"on", "off", "true", "false", "yes", "no", "1", "0"};
  const std::string name = key.substr(std::string("pgaudit.").size());
  const std::string v = lower(value);
  auto bad = [&](const std::string& why) { r.fail(node, fmt::format("pgaudit: {}: '{}' {}", name, value, why)); };
  if (booleans.count(name)) {
    if (!bools.count(v)) bad("is not a boolean (on, off)");
  } else if (name == "log") {
    std::string item;
    std::stringstream list(v);
    while (std::getline(list, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item.starts_with("-")) item.erase(0, 1);
      if (!classes.count(item)) bad("names an unknown class '" + item + "' (read, write, function, role, ddl, misc, misc_set, all, none)");
    }
  } else if (name == "log_level") {
    if (!levels.count(v)) bad("is not a log level (debug1-5, info, notice, warning, log)");
  } else if (name == "log_parameter_max_size") {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) bad("is not a number of bytes");
  } else if (name != "role") {
    r.fail(node, fmt::format("pgaudit: unknown setting '{}' (known: log, log_catalog, log_client, log_level, log_parameter, "
                             "log_parameter_max_size, log_relation, log_rows, log_statement, log_statement_once, role)",
                             name));
  }
}

PoolerSpec parse_pooler(const util::StrictYaml& r, const YAML::Node& node, const std::string& what) {
  PoolerSpec p;
  p.enabled = true;
  if (node.IsNull()) return p;
  r.only_keys(node, {"instances", "parameters"}, what);
  if (node["instances"]) p.instances = static_cast<int>(r.integer(node["instances"], "instances"));
  if (node["parameters"]) p.parameters = r.string_map(node["parameters"], "parameters");
  return p;
}

BackupSpec parse_backup(const util::StrictYaml& r, const YAML::Node& node) {
  r.only_keys(node,
              {"method", "destinationPath", "endpointURL", "credentialsSecret", "retention", "schedule", "walCompression", "rpo"},
              "backup");
  BackupSpec b;
  b.enabled = true;
  for (auto [key, into] : {std::pair{"method", &b.method}, {"destinationPath", &b.destination_path},
                           {"endpointURL", &b.endpoint_url}, {"credentialsSecret", &b.credentials_secret},
                           {"retention", &b.retention}, {"schedule", &b.schedule}, {"walCompression", &b.wal_compression}}) {
    r.optional(node, key, *into);
  }
  if (b.method != "in-tree" && b.method != "plugin") r.fail(node["method"], "backup 'method' must be in-tree or plugin");
  if (b.destination_path.empty()) r.fail(node, "backup needs a 'destinationPath' (s3://bucket/path)");
  if (b.credentials_secret.empty()) r.fail(node, "backup needs a 'credentialsSecret' (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY)");
  if (!b.schedule.empty()) {
    if (auto problem = schedule_problem(b.schedule)) r.fail(node["schedule"], "backup schedule: " + *problem);
  }
  if (const YAML::Node rpo = node["rpo"]) {
    try {
      b.rpo_seconds = util::parse_duration(r.text(rpo, "rpo"), "rpo").count() / 1000;
    } catch (const UsageError& e) {
      r.fail(rpo, e.what());
    }
    if (b.rpo_seconds < 60) r.fail(rpo, "backup rpo must be at least 1m (WAL is archived a segment at a time)");
  }
  return b;
}

}  // namespace

ClusterFile parse_cluster_yaml(const std::string& text, const std::string& path) {
  util::StrictYaml r(path);
  YAML::Node root = r.parse(text);
  r.only_keys(root,
              {"name", "namespace", "instances", "imageName", "storage", "resources", "parameters", "pgaudit", "backup",
               "roles", "poolers", "database", "owner", "synchronous", "window"},
              "the cnpg file");
  ClusterFile f;
  f.path = path;
  if (!root["name"]) r.fail(root, "the cnpg file needs a 'name'");
  f.name = r.text(root["name"], "name");
  if (!dns_label(f.name)) {
    r.fail(root["name"], fmt::format("name '{}' must be a DNS-1035 label (a-z first, then a-z, 0-9, -; not ending in -)", f.name));
  }
  if (f.name.size() > 50) r.fail(root["name"], fmt::format("name '{}' is {} characters; CloudNativePG allows 50", f.name, f.name.size()));
  f.namespace_ = root["namespace"] ? r.text(root["namespace"], "namespace") : "default";
  if (root["instances"]) f.instances = static_cast<int>(r.integer(root["instances"], "instances"));
  if (f.instances < 1) r.fail(root["instances"], "'instances' must be at least 1");
  r.optional(root, "imageName", f.image_name);
  if (const YAML::Node s = root["storage"]) {
    r.only_keys(s, {"size", "storageClass"}, "storage");
    r.optional(s, "size", f.storage_size);
    r.optional(s, "storageClass", f.storage_class);
    if (!f.storage_size.empty() && !parse_quantity(f.storage_size)) {
      r.fail(s["size"], fmt::format("storage size '{}' is not a Kubernetes quantity (e.g. 250Gi; 'GB' is not a unit there)",
                                    f.storage_size));
    }
  }
  if (const YAML::Node res = root["resources"]) {
    r.only_keys(res, {"cpu", "memory", "qos"}, "resources");
    r.optional(res, "cpu", f.cpu);
    r.optional(res, "memory", f.memory);
    r.optional(res, "qos", f.qos);
    if (f.qos != "guaranteed" && f.qos != "burstable") r.fail(res["qos"], "resources 'qos' must be guaranteed or burstable");
    for (auto [key, value] : {std::pair{"cpu", &f.cpu}, {"memory", &f.memory}}) {
      if (!value->empty() && !parse_quantity(*value)) {
        r.fail(res[key], fmt::format("resources {} '{}' is not a Kubernetes quantity (e.g. 2, 500m, 8Gi)", key, *value));
      }
    }
  }
  if (const YAML::Node sync = root["synchronous"]) {
    r.only_keys(sync, {"method", "number", "dataDurability"}, "synchronous");
    r.optional(sync, "method", f.synchronous.method);
    if (f.synchronous.method != "any" && f.synchronous.method != "first") r.fail(sync["method"], "synchronous 'method' must be any or first");
    if (!sync["number"]) r.fail(sync, "synchronous needs a 'number' of synchronous replicas");
    f.synchronous.number = static_cast<int>(r.integer(sync["number"], "number"));
    if (f.synchronous.number < 1 || f.synchronous.number >= f.instances) {
      r.fail(sync["number"], fmt::format("synchronous number {} must be 1 to instances - 1 ({})", f.synchronous.number,
                                         f.instances - 1));
    }
    r.optional(sync, "dataDurability", f.synchronous.data_durability);
    if (!f.synchronous.data_durability.empty() && f.synchronous.data_durability != "required" &&
        f.synchronous.data_durability != "preferred") {
      r.fail(sync["dataDurability"], "synchronous 'dataDurability' must be required or preferred");
    }
  }
  if (root["parameters"]) f.parameters = r.string_map(root["parameters"], "parameters");
  if (const YAML::Node a = root["pgaudit"]) {
    if (a.IsScalar()) {
      if (r.boolean(a, "pgaudit")) f.pgaudit = {{"pgaudit.log", "ddl, role"}, {"pgaudit.log_catalog", "off"},
                                                {"pgaudit.log_parameter", "off"}, {"pgaudit.log_relation", "on"}};
    } else {
      for (const auto& [k, v] : r.string_map(a, "pgaudit")) {
        std::string key = k.starts_with("pgaudit.") ? k : "pgaudit." + k;
        check_pgaudit(r, a[k], key, v);
        f.pgaudit[key] = v;
      }
    }
  }
  if (root["backup"]) f.backup = parse_backup(r, root["backup"]);
  if (root["roles"]) {
    std::filesystem::path roles = r.text(root["roles"], "roles");
    if (roles.is_relative()) roles = std::filesystem::path(path).parent_path() / roles;
    f.roles_file = roles.string();
  }
  if (const YAML::Node p = root["poolers"]) {
    r.only_keys(p, {"rw", "ro"}, "poolers");
    if (p["rw"]) f.rw = parse_pooler(r, p["rw"], "poolers.rw");
    if (p["ro"]) f.ro = parse_pooler(r, p["ro"], "poolers.ro");
  }
  r.optional(root, "database", f.database);
  r.optional(root, "owner", f.owner);
  if (root["window"]) f.window = parse_window(r, root["window"], f);
  return f;
}

long long archive_timeout_for_rpo(long long rpo_seconds) { return std::max(60LL, rpo_seconds / 2); }

ClusterFile load_cluster_file(const std::string& path) { return parse_cluster_yaml(util::read_text_file(path, "-f"), path); }

SourceFacts read_source(pg::Connection& source) {
  SourceFacts f;
  f.major = source.server_version() / 10000;
  pg::Result ext = source.exec(kSourceExtensions);
  for (int i = 0; i < ext.rows(); ++i) f.extensions.emplace_back(ext.view(i, 0));
  f.database_bytes = source.exec(kSourceSize).scalar_int64();
  return f;
}

std::optional<std::string> schedule_problem(const std::string& schedule) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < schedule.size()) {
    while (i < schedule.size() && std::isspace(static_cast<unsigned char>(schedule[i]))) ++i;
    size_t start = i;
    while (i < schedule.size() && !std::isspace(static_cast<unsigned char>(schedule[i]))) ++i;
    if (i > start) fields.push_back(schedule.substr(start, i - start));
  }
  if (!fields.empty() && fields[0].starts_with("@")) return std::nullopt;
  if (fields.size() == 6) return std::nullopt;
  if (fields.size() == 5) {
    return fmt::format(
        "'{}' has 5 fields, but CloudNativePG's cron has a leading seconds field (second minute hour day-of-month "
        "month day-of-week): it reads this as second {}, minute {}, hour {}, so it runs {}; write '0 {}'",
        schedule, fields[0], fields[1], fields[2],
        fields[2] == "*" ? fmt::format("every hour at minute {}", fields[1]) : "at other times than meant", schedule);
  }
  return fmt::format("'{}' has {} fields; CloudNativePG needs 6 (second minute hour day-of-month month day-of-week), "
                     "e.g. '0 0 3 * * *' for daily at 03:00",
                     schedule, fields.size());
}

}  // namespace pgshift::cnpg
