// CloudNativePG manifests from one file, and their linting.
//
// model:  ClusterFile is a cnpg.yaml (name, namespace, instances, imageName, storage, resources,
//         parameters, pgaudit, backup, roles, poolers, database, owner, window), read strictly: an unknown
//         key is a UsageError naming the key and the line.
// render: the documents (Cluster; ObjectStore with the plugin method; ScheduledBackup; Pooler rw and
//         ro). managed.roles come from the roles file, and bootstrap.initdb.postInitApplicationSQL
//         holds the statements `roles apply` would run on the fresh database (access's generator,
//         minus passwords, which CloudNativePG sets from passwordSecret). With SourceFacts (from
//         --source), the image, extensions, storage and replication settings are derived.
// lint:   documents against CRD schemas (valijson; unknown fields are errors; int-or-string and
//         nullable handled), the CRDs' own CEL rules (x-kubernetes-validations, cel.hpp) and
//         pgshift's ports of CloudNativePG's admission-webhook rules.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "access/spec.hpp"
#include "cnpg/window.hpp"
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
  // plugin (the barman-cloud plugin, the default) | in-tree (spec.backup.barmanObjectStore,
  // removed in CloudNativePG 1.31: only when asked, with a warning)
  std::string method = "plugin";
  std::string destination_path, endpoint_url, credentials_secret, retention, schedule;
  std::string wal_compression = "gzip";
  long long rpo_seconds = 0;  // rpo: the most data a restore may lose; 0: not given
};

// postgresql.synchronous: quorum (any) or priority (first) replication to `number` standbys.
struct SynchronousSpec {
  std::string method = "any";
  int number = 0;  // 0: asynchronous
  std::string data_durability;  // "" (operator default) | required | preferred
};

struct ClusterFile {
  std::string path;
  std::string name, namespace_;
  int instances = 3;
  std::string image_name;
  std::string storage_size, storage_class;
  std::string cpu, memory;  // requests and limits alike (Guaranteed QoS), unless qos is burstable
  std::string qos = "guaranteed";
  SynchronousSpec synchronous;
  std::map<std::string, std::string> parameters;
  std::map<std::string, std::string> pgaudit;  // pgaudit.* settings when asked
  BackupSpec backup;
  std::string roles_file;  // resolved relative to the cnpg.yaml
  PoolerSpec rw, ro;
  std::string database = "app", owner = "app";
  WindowSpec window;  // the `window:` section (window.hpp)
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

// The archive_timeout that keeps WAL archiving within an RPO: half of it (the other half is
// for the upload), at least 60 s, in seconds.
long long archive_timeout_for_rpo(long long rpo_seconds);

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

// The tag of an image reference ("" for a digest or none) and the PostgreSQL major version it
// names (its leading number: "16.4-bookworm" -> 16; 0 when it names none).
std::string image_tag(const std::string& image);
int image_major(const std::string& image);

// A Kubernetes resource quantity ("250Gi", "500m", "8G") as a number (bytes, cores); nullopt
// when the API server would refuse it ("250GB").
std::optional<double> parse_quantity(const std::string& text);

struct Problem {
  std::string where;    // file:document N (Kind/name)
  std::string path;     // JSON pointer or field path in the document
  std::string message;
  std::string rule;     // "schema" or the webhook rule name
};

// One x-kubernetes-validations rule of a CRD: where in the object it applies (property names,
// "[]" for every item of a list, "{}" for every value of a map), the CEL expression and its message.
struct CelRule {
  std::vector<std::string> path;
  std::string rule, message;
};

// The CRD schemas: "<group>/<version>/<Kind>" -> strict JSON Schema, and the CEL rules by the same key.
struct CrdSet {
  std::map<std::string, Json> schemas;
  std::map<std::string, std::vector<CelRule>> rules;
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
// The CRD's CEL rules (x-kubernetes-validations) evaluated on a new object (transition rules,
// which read oldSelf, do not apply); a rule outside the evaluator's subset is a problem saying so.
std::vector<Problem> cel_rules(const Json& doc, const CrdSet& crds, const std::string& where);

// Both, for every document of every file.
std::vector<Problem> lint_files(const std::vector<std::string>& files, const CrdSet& crds);

}  // namespace pgshift::cnpg
