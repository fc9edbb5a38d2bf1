// The read-only window in the cluster: the `window:` section of a cnpg.yaml and what it renders.
//
// model:  WindowSpec, read strictly from `window:` (parse_window): an unknown key, a bad value or
//         an inline database URL is a UsageError "file:line: window.<field>: ..." (exit 2).
// render: render_window() gives the console Deployment + Service (ClusterIP) + NetworkPolicy, its
//         ServiceAccount + Role + RoleBinding (CloudNativePG backups for the Backups tab), the MCP
//         Deployment (+ Service, or a Tailscale sidecar serving it on the tailnet), the weekly
//         drill CronJob with its RBAC, and, when asked, a PrometheusRule, a PodMonitor (else
//         prometheus.io/* pod annotations) and a Grafana dashboard ConfigMap.
// rules:  window_rules() refuses what the window must never be: a NetworkPolicy that lets
//         everything in, a pgshift Service of type NodePort or LoadBalancer, a container that may
//         run as root or escalate. Both render (on its own output) and lint apply them.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace YAML {
class Node;
}
namespace pgshift::util {
class StrictYaml;
}

namespace pgshift::cnpg {

struct ClusterFile;
struct Document;
struct Problem;

// A key of a Kubernetes Secret: how every database URL, token file and auth key arrives.
struct SecretKeyRef {
  std::string name, key;
};

// Pods allowed to reach a window server: a namespace ("" = the cluster's own) and pod labels
// (empty = every pod of that namespace).
struct PeerSpec {
  std::string namespace_;
  std::map<std::string, std::string> pods;
};

struct ContainerResources {
  std::string cpu, memory;  // requests; memory is also the limit
};

struct TailscaleSpec {
  bool enabled = false;
  std::string image = "tailscale/tailscale:v1.80.3";
  std::string hostname;  // default <cluster>-mcp
  SecretKeyRef auth_key;  // TS_AUTHKEY
};

// The console or the MCP server.
struct ServerSpec {
  bool enabled = false;
  int port = 0;
  int replicas = 1;
  std::string auth = "trusted-header";  // trusted-header | token
  std::string identity_header;
  std::vector<std::string> trusted_proxies;
  SecretKeyRef tokens;  // auth token: the tokens file, mounted read-only
  std::vector<std::string> allowed_origins;
  std::string base_path;
  std::vector<PeerSpec> allow_from;
  ContainerResources resources{"100m", "256Mi"};
  TailscaleSpec tailscale;  // mcp only
};

struct DrillSpec {
  bool enabled = false;
  std::string schedule = "0 4 * * 0";  // Kubernetes cron: 5 fields
  std::string timeout = "45m";
  std::string scratch_size = "20Gi";
  std::string notify_command;
  std::map<std::string, SecretKeyRef> env;  // variables the notify command reads
  std::string from;                         // a backup source; "" = --cnpg NS/CLUSTER --apply
  SecretKeyRef database;                    // the live database (writes the drill marker)
  ContainerResources resources{"500m", "1Gi"};
};

struct MonitoringSpec {
  bool prometheus_rule = false, pod_monitor = false, dashboard = false;
  std::map<std::string, std::string> labels;  // on the PrometheusRule and PodMonitor (the operator's selectors)
  std::vector<PeerSpec> scrape_from;          // Prometheus, allowed to the metrics port
  long long max_archive_age_s = 900, max_replication_lag_s = 300, max_backup_age_s = 26 * 3600;
  long long max_retained_wal_bytes = 8LL << 30;
};

struct WindowSpec {
  bool enabled = false;
  std::string image;
  std::string image_pull_policy = "IfNotPresent";
  long long run_as_user = 10001;
  SecretKeyRef database;  // the read-only URL of console and MCP (PGSHIFT_DB_URL)
  ServerSpec console, mcp;
  DrillSpec drill;
  MonitoringSpec monitoring;
};

// The image pgshift renders when `window.image` is not given.
std::string default_window_image();

// `window:` of the file; `f` gives the defaults derived from the cluster (names, backup.rpo).
WindowSpec parse_window(const util::StrictYaml& r, const YAML::Node& node, const ClusterFile& f);

// The documents of the window; warnings are appended to `warnings`.
std::vector<Document> render_window(const ClusterFile& f, std::vector<std::string>& warnings);
// PrometheusRule, PodMonitor and the dashboard ConfigMap, as asked in window.monitoring.
std::vector<Document> render_monitoring(const ClusterFile& f);

std::vector<Problem> window_rules(const nlohmann::ordered_json& doc, const std::string& where);

// Kinds lint knows without a CRD (Kubernetes' own) and the operator kinds it accepts unchecked
// when no CRD for them is given ("apiVersion/Kind").
bool builtin_kind(const std::string& api_kind);
bool optional_crd_kind(const std::string& api_kind);

}  // namespace pgshift::cnpg
