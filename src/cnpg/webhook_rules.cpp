// pgshift's ports of the CloudNativePG admission-webhook rules that no CRD schema carries
// (internal/webhook/v1 of cloudnative-pg): the 6-field cron of ScheduledBackup, in-tree versus
// plugin WAL archiving, reserved and duplicate managed role names, and the prerequisites of
// replicationSlots.highAvailability.synchronizeLogicalDecoding.
#include <fmt/format.h>

#include <set>

#include "cnpg/cnpg.hpp"

namespace pgshift::cnpg {
namespace {

const Json* at(const Json& doc, std::initializer_list<const char*> path) {
  const Json* node = &doc;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return node;
}

bool truthy(const Json* v) { return v && v->is_boolean() && v->get<bool>(); }

// PostgreSQL's boolean spellings, as the webhook's ParsePostgresConfigBoolean accepts them.
bool pg_bool(const Json* params, const char* key) {
  if (!params || !params->contains(key) || !(*params)[key].is_string()) return false;
  std::string v = (*params)[key].get<std::string>();
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "on" || v == "true" || v == "yes" || v == "1" || v == "y" || v == "t";
}

int image_major(const Json& spec) {
  const Json* image = at(spec, {"imageName"});
  if (!image || !image->is_string()) return 0;
  std::string s = image->get<std::string>();
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(s.substr(colon + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

void cluster_rules(const Json& spec, const std::string& where, std::vector<Problem>& out) {
  // In-tree barmanObjectStore and a WAL-archiver plugin are exclusive; so are two archiver plugins.
  std::vector<std::string> archivers;
  if (const Json* plugins = at(spec, {"plugins"}); plugins && plugins->is_array()) {
    for (const auto& p : *plugins) {
      bool enabled = !p.contains("enabled") || !p["enabled"].is_boolean() || p["enabled"].get<bool>();
      if (enabled && truthy(at(p, {"isWALArchiver"}))) archivers.push_back(p.value("name", "?"));
    }
  }
  if (at(spec, {"backup", "barmanObjectStore"}) && !archivers.empty()) {
    out.push_back({where, "spec.plugins",
                   fmt::format("cannot enable a WAL archiver plugin ({}) when spec.backup.barmanObjectStore is configured: "
                               "use in-tree barman or the barman-cloud plugin, not both",
                               archivers[0]),
                   "wal-archiver-exclusive"});
  }
  if (archivers.size() > 1) {
    out.push_back({where, "spec.plugins", "cannot enable more than one WAL archiver plugin", "wal-archiver-exclusive"});
  }
  if (const Json* roles = at(spec, {"managed", "roles"}); roles && roles->is_array()) {
    std::set<std::string> seen;
    for (size_t i = 0; i < roles->size(); ++i) {
      const Json& r = (*roles)[i];
      std::string name = r.value("name", "");
      std::string path = fmt::format("spec.managed.roles[{}]", i);
      if (name == "postgres" || name == "streaming_replica" || name.starts_with("cnpg_") || name.starts_with("pg_")) {
        out.push_back({where, path + ".name",
                       fmt::format("role '{}' is reserved (postgres, streaming_replica, cnpg_*, pg_*): the operator "
                                   "manages it",
                                   name),
                       "reserved-role-name"});
      }
      if (!seen.insert(name).second) out.push_back({where, path + ".name", fmt::format("role '{}' is declared twice", name), "duplicate-role"});
      if (truthy(at(r, {"disablePassword"})) && r.contains("passwordSecret")) {
        out.push_back({where, path, fmt::format("role '{}' both sets and disables a password", name), "role-password"});
      }
      if (const Json* limit = at(r, {"connectionLimit"}); limit && limit->is_number_integer() && limit->get<long long>() < -1) {
        out.push_back({where, path + ".connectionLimit", "connection limit must be -1 or more", "role-connection-limit"});
      }
    }
  }
  if (truthy(at(spec, {"replicationSlots", "highAvailability", "synchronizeLogicalDecoding"}))) {
    const Json* params = at(spec, {"postgresql", "parameters"});
    bool failover_slots = false;
    if (params && params->is_object()) {
      for (const auto& [k, v] : params->items()) failover_slots |= k.starts_with("pg_failover_slots.");
    }
    int major = image_major(spec);
    const std::string path = "spec.replicationSlots.highAvailability.synchronizeLogicalDecoding";
    if (!failover_slots && major && major < 17) {
      out.push_back({where, path,
                     fmt::format("pg_failover_slots must be enabled (a pg_failover_slots.* parameter) to use "
                                 "synchronizeLogicalDecoding with PostgreSQL {} (< 17)",
                                 major),
                     "synchronize-logical-decoding"});
    } else if (!failover_slots && major >= 17) {
      if (!pg_bool(params, "hot_standby_feedback")) {
        out.push_back({where, "spec.postgresql.parameters.hot_standby_feedback",
                       "hot_standby_feedback must be on to enable synchronizeLogicalDecoding", "synchronize-logical-decoding"});
      }
      if (!pg_bool(params, "sync_replication_slots")) {
        out.push_back({where, "spec.postgresql.parameters.sync_replication_slots",
                       "sync_replication_slots (or the pg_failover_slots extension) must be on to enable "
                       "synchronizeLogicalDecoding",
                       "synchronize-logical-decoding"});
      }
    }
  }
}

}  // namespace

std::vector<Problem> webhook_rules(const Json& doc, const std::string& where) {
  std::vector<Problem> out;
  if (!doc.is_object()) return out;
  std::string kind = doc.value("kind", "");
  std::string api = doc.value("apiVersion", "");
  const Json* spec = at(doc, {"spec"});
  if (!spec || !api.starts_with("postgresql.cnpg.io/")) return out;
  if (kind == "ScheduledBackup") {
    if (const Json* s = at(*spec, {"schedule"}); s && s->is_string()) {
      if (auto problem = schedule_problem(s->get<std::string>())) out.push_back({where, "spec.schedule", *problem, "schedule-six-fields"});
    }
  } else if (kind == "Cluster") {
    cluster_rules(*spec, where, out);
  }
  return out;
}

}  // namespace pgshift::cnpg
