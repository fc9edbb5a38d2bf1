// render_monitoring: the window's PrometheusRule, PodMonitor and Grafana dashboard (window.hpp has
// the contract). The expressions use only metric names that exist: pgshift's own /metrics
// (src/stats/gauges.cpp, src/http/server.cpp, src/console/server.cpp, src/cli/mcp.cpp),
// kube-state-metrics' CronJob gauges for the drill, and CloudNativePG's backup timestamps
// (barman_cloud_cloudnative_pg_io_* from the plugin, cnpg_collector_* in-tree).
#include <fmt/format.h>

#include "cnpg/cnpg.hpp"
#include "cnpg/window.hpp"
#include "util/duration.hpp"

namespace pgshift::cnpg {
namespace {

Json window_labels(const ClusterFile& f, const std::map<std::string, std::string>& extra) {
  Json l = {{"app.kubernetes.io/name", "pgshift"}, {"app.kubernetes.io/instance", f.name},
            {"app.kubernetes.io/component", "monitoring"}};
  for (const auto& [k, v] : extra) l[k] = v;
  return l;
}

Json alert(const std::string& name, const std::string& expr, const std::string& for_, const std::string& severity,
           const std::string& summary) {
  return {{"alert", name}, {"expr", expr}, {"for", for_}, {"labels", {{"severity", severity}}},
          {"annotations", {{"summary", summary}}}};
}

std::string human(long long seconds) { return util::format_duration(util::Millis(seconds * 1000)); }

Json prometheus_rule(const ClusterFile& f) {
  const MonitoringSpec& m = f.window.monitoring;
  const std::string sel = fmt::format("namespace=\"{}\", app_kubernetes_io_instance=\"{}\"", f.namespace_, f.name);
  // PodMonitor and the annotation scrape both keep the pod's labels as app_kubernetes_io_*.
  const std::string ns = fmt::format("namespace=\"{}\"", f.namespace_);
  Json window = Json::array();
  window.push_back(alert("PgshiftDatabaseDown", fmt::format("max(pgshift_pg_up{{{}}}) == 0", sel), "5m", "critical",
                         fmt::format("{}/{}: pgshift cannot query the database", f.namespace_, f.name)));
  window.push_back(alert("PgshiftArchiverFailing",
                         fmt::format("min(pgshift_archiver_seconds_since_last_failure{{{0}}}) < "
                                     "min(pgshift_archiver_seconds_since_last_archival{{{0}}})",
                                     sel),
                         "5m", "critical",
                         fmt::format("{}/{}: WAL archiving is failing (the last attempt failed after the last success)",
                                     f.namespace_, f.name)));
  window.push_back(alert("PgshiftArchiverStale",
                         fmt::format("min(pgshift_archiver_seconds_since_last_archival{{{}}}) > {}", sel, m.max_archive_age_s),
                         "5m", "warning",
                         fmt::format("{}/{}: no WAL archived for more than {}", f.namespace_, f.name, human(m.max_archive_age_s))));
  window.push_back(alert("PgshiftReplicationLag",
                         fmt::format("max by (subscription) (pgshift_subscription_lag_seconds{{{}}}) > {}", sel,
                                     m.max_replication_lag_s),
                         "5m", "warning",
                         fmt::format("{}/{}: a subscription is more than {} behind", f.namespace_, f.name,
                                     human(m.max_replication_lag_s))));
  window.push_back(alert("PgshiftSlotRetainsWal",
                         fmt::format("max by (slot) (pgshift_replication_slot_retained_wal_bytes{{{}}}) > {}", sel,
                                     m.max_retained_wal_bytes),
                         "15m", "warning",
                         fmt::format("{}/{}: a replication slot keeps more than {} bytes of WAL", f.namespace_, f.name,
                                     m.max_retained_wal_bytes)));
  Json groups = Json::array({{{"name", "pgshift-window"}, {"rules", window}}});
  if (f.window.drill.enabled) {
    const std::string cron = fmt::format("{}, cronjob=\"{}-drill\"", ns, f.name);
    const long long timeout_s = util::parse_duration(f.window.drill.timeout, "window.drill.timeout").count() / 1000;
    Json drill = Json::array();
    // The newest scheduled run has not succeeded within the drill's deadline.
    drill.push_back(alert("PgshiftDrillFailed",
                          fmt::format("max(kube_cronjob_status_last_schedule_time{{{0}}}) - "
                                      "max(kube_cronjob_status_last_successful_time{{{0}}}) > 0",
                                      cron),
                          human(timeout_s + 900), "critical",
                          fmt::format("{}/{}: the last restore drill did not succeed", f.namespace_, f.name)));
    drill.push_back(alert("PgshiftDrillNotRun",
                          fmt::format("time() - max(kube_cronjob_status_last_successful_time{{{0}}}) > 691200 "
                                      "or absent(kube_cronjob_status_last_successful_time{{{0}}})",
                                      cron),
                          "1h", "critical",
                          fmt::format("{}/{}: no successful restore drill for 8 days", f.namespace_, f.name)));
    groups.push_back({{"name", "pgshift-drill"}, {"rules", drill}});
  }
  if (f.backup.enabled) {
    const std::string prefix = f.backup.method == "plugin" ? "barman_cloud_cloudnative_pg_io" : "cnpg_collector";
    const std::string pods = fmt::format("{}, pod=~\"{}-[0-9]+\"", ns, f.name);
    Json backups = Json::array();
    backups.push_back(alert("PgshiftBackupFailed",
                            fmt::format("max({0}_last_failed_backup_timestamp{{{1}}}) > "
                                        "max({0}_last_available_backup_timestamp{{{1}}})",
                                        prefix, pods),
                            "10m", "critical",
                            fmt::format("{}/{}: the newest backup failed after the last good one", f.namespace_, f.name)));
    backups.push_back(alert("PgshiftBackupTooOld",
                            fmt::format("time() - max({}_last_available_backup_timestamp{{{}}}) > {}", prefix, pods,
                                        m.max_backup_age_s),
                            "30m", "critical",
                            fmt::format("{}/{}: no backup newer than {}", f.namespace_, f.name, human(m.max_backup_age_s))));
    groups.push_back({{"name", "pgshift-backups"}, {"rules", backups}});
  }
  return {{"apiVersion", "monitoring.coreos.com/v1"}, {"kind", "PrometheusRule"},
          {"metadata", {{"name", f.name + "-window"}, {"namespace", f.namespace_}, {"labels", window_labels(f, m.labels)}}},
          {"spec", {{"groups", groups}}}};
}

Json pod_monitor(const ClusterFile& f) {
  const WindowSpec& w = f.window;
  Json endpoints = Json::array();
  Json components = Json::array();
  if (w.console.enabled) components.push_back("console");
  if (w.mcp.enabled && !w.mcp.tailscale.enabled) components.push_back("mcp");
  // Both servers name their port http; a base path differs per server, so one endpoint each.
  for (const auto& c : components) {
    const ServerSpec& s = c == "console" ? w.console : w.mcp;
    endpoints.push_back({{"port", "http"}, {"path", s.base_path + "/metrics"}, {"interval", "30s"},
                         {"relabelings", Json::array({{{"sourceLabels", {"__meta_kubernetes_pod_label_app_kubernetes_io_component"}},
                                                       {"regex", c}, {"action", "keep"}},
                                                      {{"sourceLabels", {"__meta_kubernetes_pod_label_app_kubernetes_io_instance"}},
                                                       {"targetLabel", "app_kubernetes_io_instance"}}})}});
  }
  return {{"apiVersion", "monitoring.coreos.com/v1"}, {"kind", "PodMonitor"},
          {"metadata", {{"name", f.name + "-window"}, {"namespace", f.namespace_}, {"labels", window_labels(f, w.monitoring.labels)}}},
          {"spec", {{"selector", {{"matchLabels", {{"app.kubernetes.io/name", "pgshift"}, {"app.kubernetes.io/instance", f.name}}}}},
                    {"podMetricsEndpoints", endpoints}}}};
}

// Panel n (from 0) of a two-column grid.
Json panel(size_t n, const std::string& title, const std::string& type,
           std::vector<std::pair<std::string, std::string>> targets, const std::string& unit) {
  const int id = static_cast<int>(n) + 1, x = static_cast<int>(n % 2) * 12, y = static_cast<int>(n / 2) * 8;
  Json t = Json::array();
  char ref = 'A';
  for (const auto& [expr, legend] : targets) {
    t.push_back({{"refId", std::string(1, ref++)}, {"expr", expr}, {"legendFormat", legend},
                 {"datasource", {{"type", "prometheus"}, {"uid", "${datasource}"}}}});
  }
  return {{"id", id}, {"title", title}, {"type", type}, {"datasource", {{"type", "prometheus"}, {"uid", "${datasource}"}}},
          {"gridPos", {{"h", 8}, {"w", 12}, {"x", x}, {"y", y}}}, {"fieldConfig", {{"defaults", {{"unit", unit}}}, {"overrides", Json::array()}}},
          {"targets", t}};
}

// A dashboard of pgshift's /metrics; $instance picks the cluster.
std::string dashboard(const ClusterFile& f) {
  const std::string s = "app_kubernetes_io_instance=\"$instance\"";
  Json panels = Json::array();
  auto add = [&](const std::string& title, const std::string& type, std::vector<std::pair<std::string, std::string>> targets,
                 const std::string& unit) { panels.push_back(panel(panels.size(), title, type, std::move(targets), unit)); };
  add("Database reachable", "stat", {{fmt::format("min(pgshift_pg_up{{{}}})", s), "up"}}, "none");
  add("Seconds since the last WAL archival", "timeseries",
      {{fmt::format("min(pgshift_archiver_seconds_since_last_archival{{{}}})", s), "since archival"},
       {fmt::format("min(pgshift_archiver_seconds_since_last_failure{{{}}})", s), "since failure"}},
      "s");
  add("WAL archived and failed per hour", "timeseries",
      {{fmt::format("max(increase(pgshift_archiver_archived_count{{{}}}[1h]))", s), "archived"},
       {fmt::format("max(increase(pgshift_archiver_failed_count{{{}}}[1h]))", s), "failed"}},
      "short");
  add("Subscription lag", "timeseries",
      {{fmt::format("max by (subscription) (pgshift_subscription_lag_seconds{{{}}})", s), "{{subscription}}"}}, "s");
  add("WAL retained by replication slots", "timeseries",
      {{fmt::format("max by (slot) (pgshift_replication_slot_retained_wal_bytes{{{}}})", s), "{{slot}}"}}, "bytes");
  add("Replication slots active", "timeseries",
      {{fmt::format("max by (slot) (pgshift_replication_slot_active{{{}}})", s), "{{slot}}"}}, "none");
  add("HTTP requests by status", "timeseries",
      {{fmt::format("sum by (status) (rate(pgshift_http_requests_total{{{}}}[5m]))", s), "{{status}}"}}, "reqps");
  add("HTTP request duration p95 by route", "timeseries",
      {{fmt::format("histogram_quantile(0.95, sum by (le, route) (rate(pgshift_http_request_duration_seconds_bucket{{{}}}[5m])))", s),
        "{{route}}"}},
      "s");
  add("Statements by outcome", "timeseries",
      {{fmt::format("sum by (outcome) (rate(pgshift_statements_total{{{}}}[5m]))", s), "{{outcome}}"},
       {fmt::format("sum by (outcome) (rate(pgshift_mcp_tool_calls_total{{{}}}[5m]))", s), "mcp {{outcome}}"}},
      "ops");
  add("Connection pool", "timeseries",
      {{fmt::format("sum(pgshift_pool_connections_in_use{{{}}})", s), "in use"},
       {fmt::format("sum(pgshift_pool_connections_open{{{}}})", s), "open"},
       {fmt::format("sum(pgshift_pool_connections_max{{{}}})", s), "max"},
       {fmt::format("sum(pgshift_pool_waiting{{{}}})", s), "waiting"}},
      "short");
  add("Connections refused", "timeseries",
      {{fmt::format("sum by (reason) (rate(pgshift_http_connections_refused_total{{{}}}[5m]))", s), "{{reason}}"}}, "short");
  add("Migration phase and soak", "timeseries",
      {{fmt::format("max by (phase) (pgshift_migration_phase{{{}}})", s), "{{phase}}"},
       {fmt::format("max(pgshift_migration_soak_seconds{{{}}})", s), "soak seconds"}},
      "short");
  Json templating = {{"list", Json::array({{{"name", "datasource"}, {"type", "datasource"}, {"query", "prometheus"}},
                                           {{"name", "instance"}, {"type", "custom"}, {"query", f.name},
                                            {"current", {{"text", f.name}, {"value", f.name}}}}})}};
  Json d = {{"uid", "pgshift-" + f.name}, {"title", fmt::format("pgshift window: {}/{}", f.namespace_, f.name)},
            {"tags", {"pgshift", "postgresql"}}, {"timezone", "utc"}, {"schemaVersion", 39}, {"refresh", "1m"},
            {"time", {{"from", "now-24h"}, {"to", "now"}}}, {"templating", templating}, {"panels", panels}};
  return d.dump(2);
}

}  // namespace

std::vector<Document> render_monitoring(const ClusterFile& f) {
  std::vector<Document> out;
  const MonitoringSpec& m = f.window.monitoring;
  if (m.prometheus_rule) out.push_back({"PrometheusRule", f.name + "-window", prometheus_rule(f)});
  if (m.pod_monitor && (f.window.console.enabled || (f.window.mcp.enabled && !f.window.mcp.tailscale.enabled))) {
    out.push_back({"PodMonitor", f.name + "-window", pod_monitor(f)});
  }
  if (m.dashboard) {
    // grafana_dashboard: the label Grafana's dashboard sidecar looks for.
    Json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
               {"metadata", {{"name", f.name + "-dashboard"}, {"namespace", f.namespace_},
                             {"labels", window_labels(f, {{"grafana_dashboard", "1"}})}}},
               {"data", {{"pgshift-" + f.name + ".json", dashboard(f)}}}};
    out.push_back({"ConfigMap", f.name + "-dashboard", cm});
  }
  return out;
}

}  // namespace pgshift::cnpg
