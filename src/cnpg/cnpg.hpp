// CloudNativePG manifests from one file, and their linting.
//
// model:  ClusterFile is a cnpg.yaml (name, namespace, instances, imageName, storage, resources,
//         parameters, pgaudit, backup, roles, poolers, database, owner), read strictly: an unknown
//         key is a UsageError naming the key and the line.
// render: the documents (Cluster; ObjectStore with the plugin method; ScheduledBackup; Pooler rw and
//         ro). managed.roles come from the roles file, and bootstrap.initdb.postInitApplicationSQL
//         holds the statements `roles apply` would run on the fresh database (access's generator,
//         minus passwords, which CloudNativePG sets from passwordSecret). With SourceFacts (from
//         --source), the image, extensions, storage and replication settings are derived.
// lint:   documents against CRD schemas (valijson; unknown fields are errors; int-or-string and
//         nullable handled) and pgshift's ports of CloudNativePG's admission-webhook rules.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "access/spec.hpp"
#include "pg/connection.hpp"

namespace pgshift::cnpg {

using Json = nlohmann::ordered_json;

struct PoolerSpec {
  bool enabled = false;
  int instances = 2;
  std::map<std::string, std::string> parameters;  // pgbouncer parameters
};

struct BackupSpec {
  bool enabled = false;
  std::string method = "in-tree";  // in-tree | plugin
  std::string destination_path, endpoint_url, credentials_secret, retention, schedule;
  std::string wal_compression = "gzip";
};

struct ClusterFile {
  std::string path;
  std::string name, namespace_;
  int instances = 3;
  std::string image_name;
  std::string storage_size, storage_class;
  std::string cpu, memory;
  std::map<std::string, std::string> parameters;
  std::map<std::string, std::string> pgaudit;  // pgaudit.* settings when asked
  BackupSpec backup;
  std::string roles_file;  // resolved relative to the cnpg.yaml
  PoolerSpec rw, ro;
  std::string database = "app", owner = "app";
};

ClusterFile load_cluster_file(const std::string& path);
ClusterFile parse_cluster_yaml(const std::string& text, const std::string& path);

// What --source tells about the database being moved.
struct SourceFacts {
  int major = 0;                       // server_version_num / 10000
  std::vector<std::string> extensions;  // installed, except plpgsql
  long long database_bytes = 0;        // pg_database_size of the database
};
SourceFacts read_source(pg::Connection& source);

struct Document {
  std::string kind, name;
  Json body;
};

struct Rendered {
  std::vector<Document> documents;
  std::vector<std::string> warnings;
};

// Throws UsageError for a file that cannot render (e.g. a 5-field schedule, with the fix).
Rendered render(const ClusterFile& file, const std::optional<access::RolesFile>& roles,
                const std::optional<SourceFacts>& source);

// One YAML document (no leading ---): strings double-quoted, so "200" stays a string.
std::string to_yaml(const Json& doc);

// YAML text (one or more documents) to JSON values, with YAML 1.2 core scalar types.
std::vector<Json> yaml_documents(const std::string& text, const std::string& where);

// The problem with a ScheduledBackup schedule, or nullopt when it is a valid 6-field cron or a
// descriptor (@daily, @every 1h). A 5-field schedule gets the explanation and the corrected value.
std::optional<std::string> schedule_problem(const std::string& schedule);

struct Problem {
  std::string where;    // file:document N (Kind/name)
  std::string path;     // JSON pointer or field path in the document
  std::string message;
  std::string rule;     // "schema" or the webhook rule name
};

// The CRD schemas: "<group>/<version>/<Kind>" -> strict JSON Schema.
struct CrdSet {
  std::map<std::string, Json> schemas;
  std::vector<std::string> sources;
};
// From files or directories of CRD YAML (a release manifest may hold other kinds; they are skipped).
CrdSet load_crds(const std::vector<std::string>& paths);
// From the cluster (kubectl get crd -o json); throws RuntimeError when kubectl is missing or fails.
CrdSet crds_from_kubectl();
// A CRD's openAPIV3Schema made strict: unknown fields rejected, int-or-string and nullable as JSON Schema.
Json strict_schema(const Json& openapi);

std::vector<Problem> validate_schema(const Json& doc, const CrdSet& crds, const std::string& where);
std::vector<Problem> webhook_rules(const Json& doc, const std::string& where);

// Both, for every document of every file.
std::vector<Problem> lint_files(const std::vector<std::string>& files, const CrdSet& crds);

}  // namespace pgshift::cnpg
