#include <fmt/format.h>

#include <cmath>
#include <set>

#include "access/state.hpp"
#include "access/statements.hpp"
#include "cnpg/cnpg.hpp"
#include "pg/quote.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace pgshift::cnpg {
namespace {

constexpr const char* kPluginName = "barman-cloud.cloudnative-pg.io";
constexpr const char* kImage = "ghcr.io/cloudnative-pg/postgresql";

// Extensions CloudNativePG's standard images carry besides contrib.
const std::set<std::string>& image_extensions() {
  static const std::set<std::string> names = {
      "pgaudit", "vector", "pg_failover_slots", "adminpack", "amcheck", "autoinc", "bloom", "btree_gin", "btree_gist",
      "citext", "cube", "dblink", "dict_int", "dict_xsyn", "earthdistance", "file_fdw", "fuzzystrmatch", "hstore",
      "insert_username", "intagg", "intarray", "isn", "lo", "ltree", "moddatetime", "old_snapshot", "pageinspect",
      "pg_buffercache", "pg_freespacemap", "pg_prewarm", "pg_stat_statements", "pg_surgery", "pg_trgm",
      "pg_visibility", "pg_walinspect", "pgcrypto", "pgrowlocks", "pgstattuple", "postgres_fdw", "refint", "seg",
      "sslinfo", "tablefunc", "tcn", "tsm_system_rows", "tsm_system_time", "unaccent", "uuid-ossp", "xml2"};
  return names;
}

// "250Gi" -> bytes; 0 when it cannot tell.
long long quantity_bytes(const std::string& q) { return static_cast<long long>(parse_quantity(q).value_or(0.0)); }

Json secret_ref(const std::string& secret, const char* key) { return Json{{"name", secret}, {"key", key}}; }

Json object_store(const BackupSpec& b) {
  Json store = Json::object();
  store["destinationPath"] = b.destination_path;
  if (!b.endpoint_url.empty()) store["endpointURL"] = b.endpoint_url;
  store["s3Credentials"] = {{"accessKeyId", secret_ref(b.credentials_secret, "ACCESS_KEY_ID")},
                            {"secretAccessKey", secret_ref(b.credentials_secret, "ACCESS_SECRET_KEY")}};
  store["wal"] = {{"compression", b.wal_compression}};
  store["data"] = {{"compression", b.wal_compression}};
  return store;
}

Json managed_role(const access::RoleSpec& r) {
  Json j = Json::object();
  j["name"] = r.name;
  if (!r.comment.empty()) j["comment"] = r.comment;
  j["ensure"] = r.present ? "present" : "absent";
  j["login"] = r.login;
  j["inherit"] = r.inherit;
  j["connectionLimit"] = r.connection_limit;
  if (!r.valid_until.empty()) j["validUntil"] = r.valid_until;
  if (!r.in_roles.empty()) j["inRoles"] = r.in_roles;
  j["superuser"] = r.superuser;
  j["createdb"] = r.createdb;
  j["createrole"] = r.createrole;
  j["replication"] = r.replication;
  j["bypassrls"] = r.bypassrls;
  if (!r.password_secret.empty()) j["passwordSecret"] = {{"name", r.password_secret}};
  if (r.disable_password) j["disablePassword"] = true;
  return j;
}

Json metadata(const ClusterFile& f, const std::string& name) { return {{"name", name}, {"namespace", f.namespace_}}; }

class Renderer {
 public:
  Renderer(const ClusterFile& f, const std::optional<access::RolesFile>& roles, const std::optional<SourceFacts>& src)
      : f_(f), roles_(roles), src_(src) {}

  Rendered run() {
    major_ = src_ ? src_->major : image_major(f_.image_name);
    out_.documents.push_back({"Cluster", f_.name, cluster()});
    if (f_.backup.enabled && f_.backup.method == "plugin") out_.documents.push_back({"ObjectStore", store_name(), store()});
    if (f_.backup.enabled && !f_.backup.schedule.empty()) {
      out_.documents.push_back({"ScheduledBackup", f_.name + "-backup", scheduled_backup()});
    } else if (f_.backup.enabled) {
      out_.warnings.push_back("backup has no schedule: no ScheduledBackup is rendered");
    }
    if (f_.rw.enabled) out_.documents.push_back({"Pooler", f_.name + "-pooler-rw", pooler(f_.rw, "rw")});
    if (f_.ro.enabled) out_.documents.push_back({"Pooler", f_.name + "-pooler-ro", pooler(f_.ro, "ro")});
    if (f_.window.enabled) {
      for (auto& d : render_window(f_, out_.warnings)) out_.documents.push_back(std::move(d));
    }
    std::string problems;
    for (const auto& d : out_.documents) {
      for (const auto& p : webhook_rules(d.body, d.kind + "/" + d.name)) problems += fmt::format("; {}: {}", p.path, p.message);
      for (const auto& p : window_rules(d.body, d.kind + "/" + d.name)) problems += fmt::format("; {}: {}", p.path, p.message);
    }
    if (!problems.empty()) throw UsageError(fmt::format("{}: CloudNativePG would refuse the manifests{}", f_.path, problems));
    return std::move(out_);
  }

 private:
  std::string store_name() const { return f_.name + "-backup-store"; }

  Json parameters() {
    Json p = Json::object();
    for (const auto& [k, v] : f_.parameters) p[k] = v;
    for (const auto& [k, v] : f_.pgaudit) p[k] = v;
    if (f_.backup.enabled && f_.backup.rpo_seconds) {
      // WAL reaches the archive when a segment is switched: archive_timeout bounds how long a
      // quiet primary keeps it; half the RPO leaves the other half for the upload.
      const long long derived = archive_timeout_for_rpo(f_.backup.rpo_seconds);
      if (p.contains("archive_timeout")) {
        const std::string given = p["archive_timeout"].get<std::string>();
        long long seconds = 0;
        try {
          seconds = util::parse_duration(given, "parameters.archive_timeout").count() / 1000;
        } catch (const UsageError&) {
          seconds = 0;  // a PostgreSQL unit the parser does not know (min): leave it to the server
        }
        if (seconds > derived) {
          throw UsageError(fmt::format("{}: parameters.archive_timeout {} cannot meet backup.rpo {}s (archiving alone may "
                                       "wait that long); use at most {}s or drop it to have it derived",
                                       f_.path, given, f_.backup.rpo_seconds, derived));
        }
      } else {
        p["archive_timeout"] = fmt::format("{}s", derived);
      }
    }
    if (src_) {
      // The reverse replication of a cutover publishes from this cluster back to the source.
      auto at_least = [&](const std::string& key, const std::string& value) {
        if (!p.contains(key)) p[key] = value;
      };
      at_least("wal_level", "logical");
      at_least("max_replication_slots", "16");
      at_least("max_wal_senders", "16");
      at_least("max_logical_replication_workers", "8");
      at_least("max_worker_processes", "16");
      if (p["wal_level"] != "logical") {
        out_.warnings.push_back("parameters.wal_level is not logical: pgshift's reverse replication (rollback) cannot run");
      }
    }
    return p;
  }

  std::vector<std::string> post_init_sql() {
    std::vector<std::string> sql;
    if (src_) {
      for (const auto& e : src_->extensions) {
        sql.push_back("CREATE EXTENSION IF NOT EXISTS " + pg::quote_ident(e));
        if (!image_extensions().count(e)) {
          out_.warnings.push_back(fmt::format("extension {} (used by the source) is not in CloudNativePG's standard "
                                              "image: set imageName to an image that has it",
                                              e));
        }
      }
    }
    if (!roles_) return sql;
    // Unknown major: plan as for < 15, so PUBLIC's CREATE on public is revoked either way.
    access::CatalogState fresh = access::bootstrap_state(major_ ? major_ : 14, f_.database, f_.owner);
    access::RolesPlan plan = access::plan_statements(*roles_, fresh);
    for (const auto& w : plan.warnings) out_.warnings.push_back(w);
    for (const auto& s : plan.statements) {
      if (s.kind != access::StatementKind::password) sql.push_back(s.sql);
    }
    return sql;
  }

  Json storage() {
    Json s = Json::object();
    std::string size = f_.storage_size;
    if (src_) {
      // Room for the data twice over: WAL, bloat after the initial copy, a year of growth.
      long long need = src_->database_bytes * 2;
      long long gib = std::max(1LL, static_cast<long long>(std::ceil(static_cast<double>(need) / 1073741824.0)));
      if (size.empty()) {
        size = fmt::format("{}Gi", gib);
      } else if (long long have = quantity_bytes(size); have && have < need) {
        out_.warnings.push_back(fmt::format("storage.size {} is less than twice the source database ({} bytes): "
                                            "consider {}Gi",
                                            size, src_->database_bytes, gib));
      }
    }
    if (size.empty()) throw UsageError(fmt::format("{}: storage.size is required (or give --source to derive it)", f_.path));
    s["size"] = size;
    if (!f_.storage_class.empty()) s["storageClass"] = f_.storage_class;
    return s;
  }

  Json cluster() {
    Json spec = Json::object();
    spec["instances"] = f_.instances;
    if (!f_.image_name.empty()) spec["imageName"] = f_.image_name;
    else if (src_) spec["imageName"] = fmt::format("{}:{}", kImage, src_->major);
    spec["postgresql"] = {{"parameters", parameters()}};
    if (f_.synchronous.number > 0) {
      Json sync = {{"method", f_.synchronous.method}, {"number", f_.synchronous.number}};
      if (!f_.synchronous.data_durability.empty()) sync["dataDurability"] = f_.synchronous.data_durability;
      spec["postgresql"]["synchronous"] = sync;
    }
    Json initdb = {{"database", f_.database}, {"owner", f_.owner}};
    std::vector<std::string> sql = post_init_sql();
    if (!sql.empty()) initdb["postInitApplicationSQL"] = sql;
    spec["bootstrap"] = {{"initdb", initdb}};
    spec["storage"] = storage();
    if (!f_.cpu.empty() || !f_.memory.empty()) {
      Json requests = Json::object();
      if (!f_.cpu.empty()) requests["cpu"] = f_.cpu;
      if (!f_.memory.empty()) requests["memory"] = f_.memory;
      // Guaranteed QoS: limits equal to requests for CPU and memory, so the kubelet neither
      // throttles below the request nor evicts the primary first under node pressure.
      Json limits = Json::object();
      if (!f_.cpu.empty() && f_.qos == "guaranteed") limits["cpu"] = f_.cpu;
      if (!f_.memory.empty()) limits["memory"] = f_.memory;
      Json res = {{"requests", requests}, {"limits", limits}};
      if (f_.qos == "guaranteed" && (f_.cpu.empty() || f_.memory.empty())) {
        out_.warnings.push_back("resources: Guaranteed QoS needs both cpu and memory; the pods will be Burstable");
      }
      spec["resources"] = res;
    }
    if (roles_ && !roles_->roles.empty()) {
      Json managed = Json::array();
      for (const auto& r : roles_->roles) {
        managed.push_back(managed_role(r));
        if (r.password_declared && r.password_secret.empty()) {
          out_.warnings.push_back(fmt::format("role {}: a password but no passwordSecret: CloudNativePG cannot set it; "
                                              "create a kubernetes.io/basic-auth secret and name it in passwordSecret",
                                              r.name));
        }
      }
      spec["managed"] = {{"roles", managed}};
    }
    spec["replicationSlots"] = {{"highAvailability", {{"enabled", true}}}, {"updateInterval", 30}};
    if (f_.backup.enabled && f_.backup.method == "in-tree") {
      out_.warnings.push_back("backup.method in-tree (spec.backup.barmanObjectStore) is deprecated and removed in "
                              "CloudNativePG 1.31: use method: plugin (the barman-cloud plugin, the default)");
      Json backup = {{"barmanObjectStore", object_store(f_.backup)}};
      if (!f_.backup.retention.empty()) backup["retentionPolicy"] = f_.backup.retention;
      spec["backup"] = backup;
    }
    if (f_.backup.enabled && f_.backup.method == "plugin") {
      spec["plugins"] = Json::array({{{"name", kPluginName}, {"isWALArchiver", true},
                                      {"parameters", {{"barmanObjectName", store_name()}}}}});
    }
    return {{"apiVersion", "postgresql.cnpg.io/v1"}, {"kind", "Cluster"}, {"metadata", metadata(f_, f_.name)}, {"spec", spec}};
  }

  Json store() {
    Json spec = {{"configuration", object_store(f_.backup)}};
    if (!f_.backup.retention.empty()) spec["retentionPolicy"] = f_.backup.retention;
    return {{"apiVersion", "barmancloud.cnpg.io/v1"}, {"kind", "ObjectStore"}, {"metadata", metadata(f_, store_name())},
            {"spec", spec}};
  }

  Json scheduled_backup() {
    Json spec = {{"schedule", f_.backup.schedule}, {"backupOwnerReference", "self"}, {"cluster", {{"name", f_.name}}},
                 {"immediate", true}};
    if (f_.backup.method == "plugin") {
      spec["method"] = "plugin";
      spec["pluginConfiguration"] = {{"name", kPluginName}};
    } else {
      spec["method"] = "barmanObjectStore";
    }
    return {{"apiVersion", "postgresql.cnpg.io/v1"}, {"kind", "ScheduledBackup"},
            {"metadata", metadata(f_, f_.name + "-backup")}, {"spec", spec}};
  }

  Json pooler(const PoolerSpec& p, const std::string& type) {
    Json params = {{"max_client_conn", "1000"}, {"default_pool_size", "20"}};
    for (const auto& [k, v] : p.parameters) params[k] = v;
    Json spec = {{"cluster", {{"name", f_.name}}}, {"instances", p.instances}, {"type", type},
                 {"pgbouncer", {{"poolMode", "transaction"}, {"parameters", params}}}};
    return {{"apiVersion", "postgresql.cnpg.io/v1"}, {"kind", "Pooler"},
            {"metadata", metadata(f_, f_.name + "-pooler-" + type)}, {"spec", spec}};
  }

  const ClusterFile& f_;
  const std::optional<access::RolesFile>& roles_;
  const std::optional<SourceFacts>& src_;
  int major_ = 0;
  Rendered out_;
};

}  // namespace

Rendered render(const ClusterFile& file, const std::optional<access::RolesFile>& roles,
                const std::optional<SourceFacts>& source) {
  return Renderer(file, roles, source).run();
}

}  // namespace pgshift::cnpg
