// cnpg:NAMESPACE/CLUSTER: Backup resources, the Cluster's ContinuousArchiving and
// LastBackupSucceeded conditions and recovery window, or the barman-cloud plugin's ObjectStore
// status.serverRecoveryWindow, read with kubectl. The parsing is tested with recorded JSON in
// the CRDs' shape; the kubectl path needs a Kubernetes cluster and is untested here.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backup/sources.hpp"
#include "backup/time_text.hpp"
#include "util/error.hpp"

namespace pgshift::backup {
namespace {

constexpr const char* kBarmanPlugin = "barman-cloud.cloudnative-pg.io";

std::string at(const nlohmann::json& j, const nlohmann::json::json_pointer& p) {
  if (!j.contains(p) || !j[p].is_string()) return "";
  return j[p].get<std::string>();
}

std::optional<int64_t> time_at(const nlohmann::json& j, const char* pointer) {
  return parse_time(at(j, nlohmann::json::json_pointer(pointer)));
}

// The ObjectStore the Cluster archives to through the barman-cloud plugin, and its server name.
std::pair<std::string, std::string> plugin_store(const nlohmann::json& cluster) {
  for (const auto& p : cluster.value("/spec/plugins"_json_pointer, nlohmann::json::array())) {
    if (p.value("name", "") != kBarmanPlugin) continue;
    const auto& params = p.value("parameters", nlohmann::json::object());
    std::string server = params.value("serverName", cluster.value("/metadata/name"_json_pointer, ""));
    return {params.value("barmanObjectName", ""), server};
  }
  return {"", ""};
}

std::string kubectl_json(const InventoryOptions& o, std::vector<std::string> args, const std::string& what) {
  std::vector<std::string> argv = {o.kubectl};
  if (!o.kubeconfig.empty()) argv.push_back("--kubeconfig=" + o.kubeconfig);
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-o", "json"});
  return run_tool(tool_spec(argv, false), "kubectl get " + what, util::Millis(120'000)).out;
}

nlohmann::json parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("{}: not JSON: {}", what, e.what()));
  }
}

}  // namespace

SourceInventory parse_cnpg(const std::string& source, const nlohmann::json& cluster, const nlohmann::json& backups,
                           const nlohmann::json& object_store) {
  SourceInventory inv;
  inv.source = source;
  inv.kind = "cnpg";
  std::string name = cluster.value("/metadata/name"_json_pointer, "");
  for (const auto& item : backups.value("items", nlohmann::json::array())) {
    if (item.value("/spec/cluster/name"_json_pointer, name) != name) continue;
    BackupEntry e;
    e.id = item.value("/metadata/name"_json_pointer, "");
    e.source = source;
    const auto& st = item.value("status", nlohmann::json::object());
    e.method = st.value("method", item.value("/spec/method"_json_pointer, "barmanObjectStore"));
    e.phase = st.value("phase", "pending");
    if (e.phase == "completed") e.status = "completed";
    else if (e.phase == "failed" || e.phase == "walArchivingFailing") e.status = "failed";
    else e.status = "running";  // pending, started, running, finalizing
    e.start_time = time_at(item, "/status/startedAt");
    e.stop_time = time_at(item, "/status/stoppedAt");
    e.begin_wal = st.value("beginWal", "");
    e.end_wal = st.value("endWal", "");
    e.begin_lsn = st.value("beginLSN", "");
    e.end_lsn = st.value("endLSN", "");
    if (e.begin_wal.size() >= 8) e.timeline = std::stoll(e.begin_wal.substr(0, 8), nullptr, 16);
    e.error = st.value("error", "");
    if (e.phase == "walArchivingFailing" && e.error.empty()) e.error = "WAL archiving is failing";
    e.location = st.value("backupId", e.id);
    inv.backups.push_back(std::move(e));
  }
  std::sort(inv.backups.begin(), inv.backups.end(), [](const BackupEntry& x, const BackupEntry& y) {
    return x.stop_time.value_or(x.start_time.value_or(0)) < y.stop_time.value_or(y.start_time.value_or(0));
  });
  // Only the newest failure is a problem: an old failed backup followed by good ones is history.
  const BackupEntry* newest = inv.backups.empty() ? nullptr : &inv.backups.back();
  if (newest && newest->status == "failed") {
    inv.problem(fmt::format("the newest backup {} is {}{}", newest->id, newest->phase, newest->error.empty() ? "" : ": " + newest->error));
  }
  nlohmann::json conditions = nlohmann::json::object();
  for (const auto& c : cluster.value("/status/conditions"_json_pointer, nlohmann::json::array())) {
    std::string type = c.value("type", "");
    if (type != "ContinuousArchiving" && type != "LastBackupSucceeded") continue;
    conditions[type] = {{"status", c.value("status", "")}, {"reason", c.value("reason", "")}, {"message", c.value("message", "")}};
    if (c.value("status", "") == "False") {
      inv.problem(fmt::format("condition {} is False: {}{}", type, c.value("reason", ""),
                              c.value("message", "").empty() ? "" : " (" + c.value("message", "") + ")"));
    }
  }
  if (!conditions.contains("ContinuousArchiving")) inv.notes.push_back("the Cluster reports no ContinuousArchiving condition");
  inv.details["conditions"] = conditions;
  auto [store, server] = plugin_store(cluster);
  if (!store.empty() && object_store.is_object() && !object_store.empty()) {
    const auto& w = object_store.value("/status/serverRecoveryWindow"_json_pointer, nlohmann::json::object());
    if (w.contains(server)) {
      inv.window.first = parse_time(w[server].value("firstRecoverabilityPoint", ""));
      inv.window.last = parse_time(w[server].value("lastSuccessfulBackupTime", ""));
      inv.window.basis = fmt::format("ObjectStore {} status.serverRecoveryWindow[{}] (last = last successful backup)", store, server);
      if (auto failed = parse_time(w[server].value("lastFailedBackupTime", ""));
          failed && (!inv.window.last || *failed > *inv.window.last)) {
        inv.problem(fmt::format("the last backup to ObjectStore {} failed at {}", store, iso_time(*failed)));
      }
    } else {
      inv.notes.push_back(fmt::format("ObjectStore {} has no recovery window for server {}", store, server));
    }
    inv.details["object_store"] = store;
  } else {
    inv.window.first = time_at(cluster, "/status/firstRecoverabilityPoint");
    inv.window.last = time_at(cluster, "/status/lastSuccessfulBackup");
    if (inv.window.first || inv.window.last) inv.window.basis = "Cluster status (last = last successful backup)";
    if (auto failed = time_at(cluster, "/status/lastFailedBackup"); failed && (!inv.window.last || *failed > *inv.window.last)) {
      inv.problem(fmt::format("the last backup failed at {}", iso_time(*failed)));
    }
  }
  return inv;
}

SourceInventory read_cnpg(const SourceSpec& spec, const InventoryOptions& o) {
  nlohmann::json cluster = parse_json(
      kubectl_json(o, {"get", "clusters.postgresql.cnpg.io", spec.cluster, "-n", spec.ns}, "cluster " + spec.value), "kubectl get cluster");
  nlohmann::json backups = parse_json(
      kubectl_json(o, {"get", "backups.postgresql.cnpg.io", "-n", spec.ns, "-l", "cnpg.io/cluster=" + spec.cluster}, "backups"),
      "kubectl get backups");
  nlohmann::json store = nlohmann::json::object();
  if (auto [name, server] = plugin_store(cluster); !name.empty()) {
    store = parse_json(kubectl_json(o, {"get", "objectstores.barmancloud.cnpg.io", name, "-n", spec.ns}, "objectstore " + name),
                       "kubectl get objectstore");
  }
  SourceInventory inv = parse_cnpg(spec.text, cluster, backups, store);
  // The Cluster's own window wins; judge_backups fills only what is missing.
  RecoveryWindow w = inv.window;
  judge_backups(inv, o.max_backup_age, now_seconds());
  if (w.first || w.last) inv.window = w;
  return inv;
}

}  // namespace pgshift::backup
