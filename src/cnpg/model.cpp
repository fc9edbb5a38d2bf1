#include <fmt/format.h>

#include <filesystem>

#include "cnpg/cnpg.hpp"
#include "util/error.hpp"
#include "util/strict_yaml.hpp"

namespace pgshift::cnpg {
namespace {

constexpr std::string_view kSourceExtensions =
    "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1";
constexpr std::string_view kSourceSize = "SELECT pg_database_size(current_database())";

bool dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::isalnum(static_cast<unsigned char>(s.front())) ||
      !std::isalnum(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
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
  r.only_keys(node, {"method", "destinationPath", "endpointURL", "credentialsSecret", "retention", "schedule", "walCompression"},
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
  return b;
}

}  // namespace

ClusterFile parse_cluster_yaml(const std::string& text, const std::string& path) {
  util::StrictYaml r(path);
  YAML::Node root = r.parse(text);
  r.only_keys(root,
              {"name", "namespace", "instances", "imageName", "storage", "resources", "parameters", "pgaudit", "backup",
               "roles", "poolers", "database", "owner"},
              "the cnpg file");
  ClusterFile f;
  f.path = path;
  if (!root["name"]) r.fail(root, "the cnpg file needs a 'name'");
  f.name = r.text(root["name"], "name");
  if (!dns_label(f.name)) r.fail(root["name"], fmt::format("name '{}' must be a DNS label (a-z, 0-9, -)", f.name));
  f.namespace_ = root["namespace"] ? r.text(root["namespace"], "namespace") : "default";
  if (root["instances"]) f.instances = static_cast<int>(r.integer(root["instances"], "instances"));
  if (f.instances < 1) r.fail(root["instances"], "'instances' must be at least 1");
  r.optional(root, "imageName", f.image_name);
  if (const YAML::Node s = root["storage"]) {
    r.only_keys(s, {"size", "storageClass"}, "storage");
    r.optional(s, "size", f.storage_size);
    r.optional(s, "storageClass", f.storage_class);
  }
  if (const YAML::Node res = root["resources"]) {
    r.only_keys(res, {"cpu", "memory"}, "resources");
    r.optional(res, "cpu", f.cpu);
    r.optional(res, "memory", f.memory);
  }
  if (root["parameters"]) f.parameters = r.string_map(root["parameters"], "parameters");
  if (const YAML::Node a = root["pgaudit"]) {
    if (a.IsScalar()) {
      if (r.boolean(a, "pgaudit")) f.pgaudit = {{"pgaudit.log", "ddl, role"}, {"pgaudit.log_catalog", "off"},
                                                {"pgaudit.log_parameter", "off"}, {"pgaudit.log_relation", "on"}};
    } else {
      for (const auto& [k, v] : r.string_map(a, "pgaudit")) f.pgaudit[k.starts_with("pgaudit.") ? k : "pgaudit." + k] = v;
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
  return f;
}

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
