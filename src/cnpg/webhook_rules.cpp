// pgshift's ports of the CloudNativePG admission-webhook rules that no CRD schema carries
// (internal/webhook/v1 of cloudnative-pg): the 6-field cron of ScheduledBackup, in-tree versus
// plugin WAL archiving, reserved and duplicate managed role names, the prerequisites of
// replicationSlots.highAvailability.synchronizeLogicalDecoding, the cluster name (DNS-1035, at
// most 50), fixed and blocked parameters, wal_level (minimal only alone and without archiving),
// boolean parameters, the image tag (a version, 13 or newer), quantities (storage, resources,
// requests not above limits), synchronous replication numbers, and the PgBouncer parameters a
// Pooler may set.
#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>
#include <tuple>

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

int spec_major(const Json& spec) {
  const Json* image = at(spec, {"imageName"});
  return image && image->is_string() ? cnpg::image_major(image->get<std::string>()) : 0;
}

std::string text_of(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A DNS-1035 label: a-z first, then a-z 0-9 -, not ending in -, at most 63.
bool dns1035(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::islower(static_cast<unsigned char>(s.front())) || s.back() == '-') return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
}

// The parameters CloudNativePG fixes or blocks (pkg/postgres FixedConfigurationParameters). The
// webhook refuses each unless it equals what the operator sets itself (the second member).
const std::map<std::string, std::string>& fixed_parameters() {
  static const std::map<std::string, std::string> fixed = [] {
    std::map<std::string, std::string> m;
    for (const char* name :
         {"allow_system_table_mods", "bonjour", "bonjour_name", "cluster_name", "config_file", "data_directory",
          "data_sync_retry", "event_source", "external_pid_file", "hba_file", "hot_standby", "ident_file",
          "jit_provider", "listen_addresses", "port", "primary_conninfo", "primary_slot_name", "recovery_target",
          "recovery_target_action", "recovery_target_inclusive", "recovery_target_lsn", "recovery_target_name",
          "recovery_target_time", "recovery_target_timeline", "recovery_target_xid", "restore_command",
          "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories", "unix_socket_group",
          "unix_socket_permissions", "archive_cleanup_command", "archive_command", "log_file_mode",
          "pg_failover_slots.primary_dsn", "pg_failover_slots.standby_slot_names", "promote_trigger_file",
          "recovery_end_command", "recovery_min_apply_delay", "restart_after_crash", "ssl", "ssl_ca_file",
          "ssl_cert_file", "ssl_crl_file", "ssl_dh_params_file", "ssl_ecdh_curve", "ssl_key_file",
          "ssl_passphrase_command", "ssl_passphrase_command_supports_reload", "ssl_prefer_server_ciphers",
          "stats_temp_directory", "synchronous_standby_names", "synchronized_standby_slots", "syslog_facility",
          "syslog_ident", "syslog_sequence_numbers", "syslog_split_messages"}) {
      m[name] = "\x01";  // no value the operator sets: always refused
    }
    m["archive_mode"] = "on";
    m["logging_collector"] = "on";
    m["log_destination"] = "csvlog";
    m["log_directory"] = "/controller/log";
    m["log_filename"] = "postgres";
    m["log_rotation_age"] = "0";
    m["log_rotation_size"] = "0";
    m["log_truncate_on_rotation"] = "false";
    return m;
  }();
  return fixed;
}

bool parameter_name(const std::string& name) {
  int dots = 0;
  bool start = true;
  for (char c : name) {
    if (c == '.') {
      if (start || ++dots > 1) return false;
      start = true;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (!start && std::isdigit(static_cast<unsigned char>(c)))) {
      start = false;
    } else {
      return false;
    }
  }
  return !name.empty() && !start;
}

void parameter_rules(const Json& spec, const std::string& where, std::vector<Problem>& out) {
  const Json* params = at(spec, {"postgresql", "parameters"});
  const int instances = at(spec, {"instances"}) && at(spec, {"instances"})->is_number_integer()
                            ? at(spec, {"instances"})->get<int>()
                            : 1;
  auto value_of = [&](const char* key) -> std::optional<std::string> {
    if (!params || !params->is_object() || !params->contains(key)) return std::nullopt;
    return text_of((*params)[key]);
  };
  if (params && params->is_object()) {
    for (const auto& [key, value] : params->items()) {
      const std::string path = "spec.postgresql.parameters." + key;
      if (!parameter_name(key)) {
        out.push_back({where, path, fmt::format("'{}' is not a PostgreSQL parameter name", key), "parameter-name"});
        continue;
      }
      auto it = fixed_parameters().find(key);
      if (it != fixed_parameters().end() && text_of(value) != it->second) {
        out.push_back({where, path,
                       fmt::format("{} is fixed by CloudNativePG (the operator sets it){}", key,
                                   key == "synchronous_standby_names" ? ": use spec.postgresql.synchronous" : ""),
                       "fixed-parameter"});
      }
    }
  }
  const std::string wal_level = value_of("wal_level").value_or("logical");
  const std::string archive_mode = value_of("archive_mode").value_or("on");
  if (wal_level != "logical" && wal_level != "replica" && wal_level != "minimal") {
    out.push_back({where, "spec.postgresql.parameters.wal_level",
                   fmt::format("unrecognized wal_level '{}' (logical, replica, minimal)", wal_level), "wal-level"});
  } else if (wal_level == "minimal" && (instances > 1 || archive_mode != "off")) {
    out.push_back({where, "spec.postgresql.parameters.wal_level",
                   fmt::format("wal_level minimal is refused with {} instance(s) and WAL archiving on: replicas and "
                               "archiving need replica or logical",
                               instances),
                   "wal-level"});
  }
  if (wal_level == "minimal" && value_of("max_wal_senders").value_or("") != "0") {
    out.push_back({where, "spec.postgresql.parameters.max_wal_senders", "max_wal_senders must be 0 when wal_level is minimal",
                   "wal-level"});
  }
  for (const char* key : {"hot_standby_feedback", "sync_replication_slots", "wal_log_hints"}) {
    auto v = value_of(key);
    if (!v) continue;
    std::string lower = *v;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::set<std::string> bools = {"on", "off", "true", "false", "yes", "no", "1", "0", "t", "f", "y", "n"};
    if (!bools.count(lower)) {
      out.push_back({where, std::string("spec.postgresql.parameters.") + key, fmt::format("{} '{}' is not a boolean", key, *v),
                     "boolean-parameter"});
    } else if (std::string(key) == "wal_log_hints" && !pg_bool(params, key) && instances > 1) {
      out.push_back({where, "spec.postgresql.parameters.wal_log_hints", "wal_log_hints must be on when instances > 1",
                     "boolean-parameter"});
    }
  }
}

void image_rules(const Json& spec, const std::string& where, std::vector<Problem>& out) {
  const Json* image = at(spec, {"imageName"});
  if (!image || !image->is_string()) return;
  const std::string name = image->get<std::string>();
  const std::string tag = image_tag(name);
  if (tag == "latest") {
    out.push_back({where, "spec.imageName", fmt::format("'{}': the tag 'latest' is refused (upgrades cannot be detected)", name),
                   "image"});
  } else if (tag.empty()) {
    out.push_back({where, "spec.imageName",
                   fmt::format("'{}': a digest or no tag is refused; use a version tag (e.g. :16.4)", name), "image"});
  } else if (int major = cnpg::image_major(name); major == 0) {
    out.push_back({where, "spec.imageName", fmt::format("'{}': '{}' is not a version tag", name, tag), "image"});
  } else if (major < 13) {
    out.push_back({where, "spec.imageName",
                   fmt::format("'{}': PostgreSQL {} is not supported (13 or newer)", name, major), "image"});
  }
}

void resource_rules(const Json& spec, const std::string& where, std::vector<Problem>& out) {
  if (const Json* size = at(spec, {"storage", "size"}); size && size->is_string() && !parse_quantity(size->get<std::string>())) {
    out.push_back({where, "spec.storage.size",
                   fmt::format("'{}' is not a Kubernetes quantity (e.g. 250Gi, 268G)", size->get<std::string>()),
                   "quantity"});
  }
  for (const char* resource : {"cpu", "memory"}) {
    const Json* request = at(spec, {"resources", "requests", resource});
    const Json* limit = at(spec, {"resources", "limits", resource});
    std::optional<double> r, l;
    for (auto [node, into, what] : {std::tuple{request, &r, "requests"}, {limit, &l, "limits"}}) {
      if (!node) continue;
      *into = parse_quantity(text_of(*node));
      if (!*into) {
        out.push_back({where, fmt::format("spec.resources.{}.{}", what, resource),
                       fmt::format("'{}' is not a Kubernetes quantity", text_of(*node)), "quantity"});
      }
    }
    if (r && l && *r > *l) {
      out.push_back({where, fmt::format("spec.resources.requests.{}", resource),
                     fmt::format("the {} request is greater than the limit", resource), "resources"});
    }
  }
}

void synchronous_rules(const Json& spec, const std::string& where, std::vector<Problem>& out) {
  const Json* sync = at(spec, {"postgresql", "synchronous"});
  const int instances = at(spec, {"instances"}) && at(spec, {"instances"})->is_number_integer()
                            ? at(spec, {"instances"})->get<int>()
                            : 1;
  auto integer = [&](const char* key) {
    const Json* v = at(spec, {key});
    return v && v->is_number_integer() ? v->get<int>() : 0;
  };
  if (sync && sync->is_object()) {
    if (integer("minSyncReplicas") > 0 || integer("maxSyncReplicas") > 0) {
      out.push_back({where, "spec.postgresql.synchronous",
                     "cannot have both postgresql.synchronous and minSyncReplicas/maxSyncReplicas", "synchronous"});
    }
    size_t names = 0;
    for (const char* list : {"standbyNamesPre", "standbyNamesPost"}) {
      if (sync->contains(list) && (*sync)[list].is_array()) names += (*sync)[list].size();
    }
    if (sync->contains("number") && (*sync)["number"].is_number_integer() &&
        (*sync)["number"].get<long long>() >= instances + static_cast<long long>(names)) {
      out.push_back({where, "spec.postgresql.synchronous.number",
                     fmt::format("{} synchronous replicas need more than {} instance(s): the number must be less than "
                                 "the instances plus the standby names",
                                 (*sync)["number"].get<long long>(), instances),
                     "synchronous"});
    }
  }
  if (integer("maxSyncReplicas") > 0 && integer("maxSyncReplicas") >= instances) {
    out.push_back({where, "spec.maxSyncReplicas", "maxSyncReplicas must be lower than the number of instances", "synchronous"});
  }
  if (integer("minSyncReplicas") > integer("maxSyncReplicas")) {
    out.push_back({where, "spec.minSyncReplicas", "minSyncReplicas cannot be greater than maxSyncReplicas", "synchronous"});
  }
}

// PgBouncer parameters CloudNativePG passes through (AllowedPgbouncerGenericConfigurationParameters);
// any other is reserved by the operator or unknown.
const std::set<std::string>& pgbouncer_parameters() {
  static const std::set<std::string> allowed = {
      "application_name_add_host", "auth_type", "auth_user", "autodb_idle_timeout", "cancel_wait_timeout",
      "client_idle_timeout", "client_login_timeout", "client_tls_ciphers", "client_tls_sslmode", "client_tls13_ciphers",
      "default_pool_size", "disable_pqexec", "dns_max_ttl", "dns_nxdomain_ttl", "idle_transaction_timeout",
      "ignore_startup_parameters", "listen_backlog", "log_connections", "log_disconnections", "log_pooler_errors",
      "log_stats", "max_client_conn", "max_db_connections", "max_packet_size", "max_prepared_statements",
      "max_user_connections", "min_pool_size", "pkt_buf", "query_timeout", "query_wait_timeout", "reserve_pool_size",
      "reserve_pool_timeout", "sbuf_loopcnt", "server_check_delay", "server_check_query", "server_connect_timeout",
      "server_fast_close", "server_idle_timeout", "server_lifetime", "server_login_retry", "server_reset_query",
      "server_reset_query_always", "server_round_robin", "server_tls_ciphers", "server_tls13_ciphers",
      "server_tls_protocols", "server_tls_sslmode", "stats_period", "suspend_timeout", "tcp_defer_accept",
      "tcp_socket_buffer", "tcp_keepalive", "tcp_keepcnt", "tcp_keepidle", "tcp_keepintvl", "tcp_user_timeout",
      "track_extra_parameters", "verbose"};
  return allowed;
}

void pooler_rules(const Json& doc, const Json& spec, const std::string& where, std::vector<Problem>& out) {
  if (const Json* params = at(spec, {"pgbouncer", "parameters"}); params && params->is_object()) {
    for (const auto& [key, value] : params->items()) {
      if (!pgbouncer_parameters().count(key)) {
        out.push_back({where, "spec.pgbouncer.parameters." + key,
                       fmt::format("PgBouncer parameter '{}' is reserved by CloudNativePG or unknown", key),
                       "pgbouncer-parameter"});
      }
    }
  }
  const Json* cluster = at(spec, {"cluster", "name"});
  const Json* name = at(doc, {"metadata", "name"});
  if (cluster && name && *cluster == *name) {
    out.push_back({where, "metadata.name", "a Pooler cannot have the name of its Cluster", "pooler-name"});
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
    int major = spec_major(spec);
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

std::string image_tag(const std::string& image) {
  if (image.find('@') != std::string::npos) return "";
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "";
  return image.substr(colon + 1);
}

int image_major(const std::string& image) {
  const std::string tag = image_tag(image);
  size_t digits = 0;
  while (digits < tag.size() && std::isdigit(static_cast<unsigned char>(tag[digits]))) ++digits;
  if (digits == 0 || digits > 4) return 0;
  return std::stoi(tag.substr(0, digits));
}

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
    if (const Json* name = at(doc, {"metadata", "name"}); name && name->is_string()) {
      std::string n = name->get<std::string>();
      if (!dns1035(n)) {
        out.push_back({where, "metadata.name",
                       fmt::format("cluster name '{}' must be a DNS-1035 label (a-z first, then a-z, 0-9, -)", n), "name"});
      }
      if (n.size() > 50) {
        out.push_back({where, "metadata.name", fmt::format("cluster name '{}' is {} characters; at most 50", n, n.size()),
                       "name"});
      }
    }
    cluster_rules(*spec, where, out);
    parameter_rules(*spec, where, out);
    image_rules(*spec, where, out);
    resource_rules(*spec, where, out);
    synchronous_rules(*spec, where, out);
  } else if (kind == "Pooler") {
    pooler_rules(doc, *spec, where, out);
  }
  return out;
}

}  // namespace pgshift::cnpg
