// parse_window: the `window:` section of a cnpg.yaml, read strictly (window.hpp has the contract).
#include <fmt/format.h>

#include <optional>
#include <set>
#include <sstream>

#include "cnpg/cnpg.hpp"
#include "cnpg/window.hpp"
#include "http/address.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/strict_yaml.hpp"

namespace pgshift::cnpg {
namespace {

// A DNS-1123 label (namespace names, label-free resource names): a-z 0-9 -, alphanumeric ends.
bool dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::isalnum(static_cast<unsigned char>(s.front())) ||
      !std::isalnum(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
}

// Reads one section; every message starts with the field's full name (window.console.port).
class WindowReader {
 public:
  WindowReader(const util::StrictYaml& r, const ClusterFile& f) : r_(r), f_(f) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& field, const std::string& what) const {
    r_.fail(node, fmt::format("{}: {}", field, what));
  }

  SecretKeyRef secret(const YAML::Node& node, const std::string& field) const {
    if (node.IsScalar()) {
      fail(node, field,
           "must be {secret: NAME, key: KEY} (a Secret's key): a database URL, token or key never goes inline");
    }
    r_.only_keys(node, {"secret", "key"}, field);
    SecretKeyRef s;
    r_.optional(node, "secret", s.name);
    r_.optional(node, "key", s.key);
    if (!dns1123_label(s.name) && s.name.find('.') == std::string::npos) {
      fail(node, field + ".secret", fmt::format("'{}' is not a Secret name", s.name));
    }
    if (s.key.empty()) fail(node, field + ".key", "the Secret's key is required");
    return s;
  }

  int port(const YAML::Node& node, const std::string& field) const {
    long long p = r_.integer(node, field);
    if (p < 1024 || p > 65535) fail(node, field, fmt::format("{} is not a port from 1024 to 65535 (the pod runs as non-root)", p));
    return static_cast<int>(p);
  }

  std::string quantity(const YAML::Node& node, const std::string& field) const {
    std::string q = r_.text(node, field);
    if (!parse_quantity(q)) fail(node, field, fmt::format("'{}' is not a Kubernetes quantity (e.g. 500m, 256Mi)", q));
    return q;
  }

  long long seconds(const YAML::Node& node, const std::string& field) const {
    std::string text = r_.text(node, field);
    try {
      return util::parse_duration(text, field).count() / 1000;
    } catch (const UsageError&) {
      fail(node, field, fmt::format("'{}' is not a duration (e.g. 15m, 2h, 26h)", text));
    }
  }

  ContainerResources resources(const YAML::Node& node, const std::string& field, ContainerResources out) const {
    r_.only_keys(node, {"cpu", "memory"}, field);
    if (node["cpu"]) out.cpu = quantity(node["cpu"], field + ".cpu");
    if (node["memory"]) out.memory = quantity(node["memory"], field + ".memory");
    return out;
  }

  std::vector<PeerSpec> peers(const YAML::Node& node, const std::string& field) const {
    if (!node.IsSequence()) fail(node, field, "must be a list of {namespace: NS, pods: {label: value}}");
    std::vector<PeerSpec> out;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string item = fmt::format("{}[{}]", field, i);
      const YAML::Node p = node[i];
      r_.only_keys(p, {"namespace", "pods"}, item);
      PeerSpec peer;
      r_.optional(p, "namespace", peer.namespace_);
      if (!peer.namespace_.empty() && !dns1123_label(peer.namespace_)) {
        fail(p["namespace"], item + ".namespace", fmt::format("'{}' is not a namespace name", peer.namespace_));
      }
      if (p["pods"]) peer.pods = r_.string_map(p["pods"], item + ".pods");
      if (peer.namespace_.empty() && peer.pods.empty()) {
        fail(p, item, "names neither a namespace nor pod labels: that would let every pod of the namespace in; say which");
      }
      out.push_back(std::move(peer));
    }
    return out;
  }

  ServerSpec server(const YAML::Node& node, const std::string& field, int default_port, bool mcp) const {
    ServerSpec s;
    s.enabled = true;
    s.port = default_port;
    if (node.IsNull()) return finish(node, field, s);
    std::set<std::string> keys = {"port", "replicas", "auth", "identityHeader", "trustedProxies", "tokens",
                                  "allowedOrigins", "basePath", "allowFrom", "resources"};
    if (mcp) keys.insert("tailscale");
    r_.only_keys(node, keys, field);
    if (node["port"]) s.port = port(node["port"], field + ".port");
    if (node["replicas"]) {
      s.replicas = static_cast<int>(r_.integer(node["replicas"], field + ".replicas"));
      if (s.replicas < 1 || s.replicas > 10) fail(node["replicas"], field + ".replicas", "must be 1 to 10");
    }
    r_.optional(node, "auth", s.auth);
    if (s.auth != "trusted-header" && s.auth != "token") {
      fail(node["auth"], field + ".auth", fmt::format("'{}' must be trusted-header or token (none is loopback only)", s.auth));
    }
    r_.optional(node, "identityHeader", s.identity_header);
    if (node["trustedProxies"]) {
      s.trusted_proxies = r_.list(node["trustedProxies"], field + ".trustedProxies");
      for (const auto& cidr : s.trusted_proxies) {
        try {
          http::Cidr::parse(cidr, field + ".trustedProxies");
        } catch (const UsageError&) {
          fail(node["trustedProxies"], field + ".trustedProxies", fmt::format("'{}' is not a CIDR (e.g. 10.42.0.0/16)", cidr));
        }
        if (cidr == "0.0.0.0/0" || cidr == "::/0") {
          fail(node["trustedProxies"], field + ".trustedProxies", fmt::format("'{}' trusts the identity header from anyone", cidr));
        }
      }
    }
    if (node["tokens"]) s.tokens = secret(node["tokens"], field + ".tokens");
    if (node["allowedOrigins"]) s.allowed_origins = r_.list(node["allowedOrigins"], field + ".allowedOrigins");
    r_.optional(node, "basePath", s.base_path);
    if (!s.base_path.empty() && (s.base_path.front() != '/' || s.base_path.back() == '/')) {
      fail(node["basePath"], field + ".basePath", fmt::format("'{}' must start with / and not end with it (e.g. /ops/db)", s.base_path));
    }
    if (node["allowFrom"]) s.allow_from = peers(node["allowFrom"], field + ".allowFrom");
    if (node["resources"]) s.resources = resources(node["resources"], field + ".resources", s.resources);
    if (mcp && node["tailscale"]) s.tailscale = tailscale(node["tailscale"], field + ".tailscale");
    return finish(node, field, s);
  }

  ServerSpec finish(const YAML::Node& node, const std::string& field, ServerSpec s) const {
    if (s.tailscale.enabled) {
      // The sidecar is the only proxy: it shares the pod, so only loopback may set the header.
      if (s.auth != "trusted-header") fail(node["auth"], field + ".auth", "with tailscale the identity comes from the sidecar: use trusted-header");
      if (!s.identity_header.empty() && s.identity_header != "Tailscale-User-Login") {
        fail(node["identityHeader"], field + ".identityHeader", "with tailscale it is Tailscale-User-Login");
      }
      if (!s.trusted_proxies.empty()) {
        fail(node["trustedProxies"], field + ".trustedProxies", "with tailscale only the sidecar (127.0.0.1/32) is trusted: drop it");
      }
      s.identity_header = "Tailscale-User-Login";
      s.trusted_proxies = {"127.0.0.1/32"};
      return s;
    }
    if (s.auth == "trusted-header") {
      if (s.identity_header.empty()) s.identity_header = "X-Forwarded-Email";
      if (s.trusted_proxies.empty()) {
        fail(node, field + ".trustedProxies",
             "auth trusted-header needs the CIDR of the proxy that sets the header (e.g. the /ops proxy's pod range)");
      }
    } else if (s.tokens.name.empty()) {
      fail(node, field + ".tokens", "auth token needs {secret: NAME, key: KEY} holding the 'identity sha256hex' lines");
    }
    return s;
  }

  TailscaleSpec tailscale(const YAML::Node& node, const std::string& field) const {
    r_.only_keys(node, {"image", "hostname", "authKey"}, field);
    TailscaleSpec t;
    t.enabled = true;
    r_.optional(node, "image", t.image);
    t.hostname = f_.name + "-mcp";
    r_.optional(node, "hostname", t.hostname);
    if (!dns1123_label(t.hostname)) fail(node["hostname"], field + ".hostname", fmt::format("'{}' is not a DNS label", t.hostname));
    if (!node["authKey"]) fail(node, field + ".authKey", "is required: {secret: NAME, key: KEY} with a Tailscale auth key");
    t.auth_key = secret(node["authKey"], field + ".authKey");
    return t;
  }

  DrillSpec drill(const YAML::Node& node, const std::string& field) const {
    DrillSpec d;
    d.enabled = true;
    d.database = {f_.name + "-app", "uri"};
    if (node.IsNull()) return d;
    r_.only_keys(node, {"schedule", "timeout", "scratchSize", "notifyCommand", "env", "from", "database", "resources"}, field);
    r_.optional(node, "schedule", d.schedule);
    if (auto problem = cron_problem(d.schedule)) fail(node["schedule"], field + ".schedule", *problem);
    if (node["timeout"]) {
      d.timeout = r_.text(node["timeout"], field + ".timeout");
      if (seconds(node["timeout"], field + ".timeout") < 60) fail(node["timeout"], field + ".timeout", "must be at least 1m");
    }
    if (node["scratchSize"]) d.scratch_size = quantity(node["scratchSize"], field + ".scratchSize");
    r_.optional(node, "notifyCommand", d.notify_command);
    if (const YAML::Node env = node["env"]) {
      if (!env.IsMap()) fail(env, field + ".env", "must map variable names to {secret: NAME, key: KEY}");
      for (const auto& kv : env) {
        const std::string name = kv.first.as<std::string>();
        if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())) ||
            name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
          fail(kv.first, field + ".env", fmt::format("'{}' is not an environment variable name", name));
        }
        d.env[name] = secret(kv.second, field + ".env." + name);
      }
    }
    r_.optional(node, "from", d.from);
    if (node["database"]) d.database = secret(node["database"], field + ".database");
    if (node["resources"]) d.resources = resources(node["resources"], field + ".resources", d.resources);
    return d;
  }

  MonitoringSpec monitoring(const YAML::Node& node, const std::string& field) const {
    MonitoringSpec m;
    if (f_.backup.rpo_seconds) m.max_archive_age_s = f_.backup.rpo_seconds;
    if (node.IsNull()) return m;
    r_.only_keys(node, {"prometheusRule", "podMonitor", "dashboard", "labels", "scrapeFrom", "maxArchiveAge",
                        "maxReplicationLag", "maxBackupAge", "maxRetainedWal"},
                 field);
    r_.optional(node, "prometheusRule", m.prometheus_rule);
    r_.optional(node, "podMonitor", m.pod_monitor);
    r_.optional(node, "dashboard", m.dashboard);
    if (node["labels"]) m.labels = r_.string_map(node["labels"], field + ".labels");
    if (node["scrapeFrom"]) m.scrape_from = peers(node["scrapeFrom"], field + ".scrapeFrom");
    for (auto [key, into] : {std::pair{"maxArchiveAge", &m.max_archive_age_s}, {"maxReplicationLag", &m.max_replication_lag_s},
                             {"maxBackupAge", &m.max_backup_age_s}}) {
      if (node[key]) *into = seconds(node[key], field + "." + key);
      if (*into < 60) fail(node[key], field + "." + key, "must be at least 1m");
    }
    if (node["maxRetainedWal"]) {
      std::string q = quantity(node["maxRetainedWal"], field + ".maxRetainedWal");
      m.max_retained_wal_bytes = static_cast<long long>(*parse_quantity(q));
    }
    return m;
  }

  // A Kubernetes CronJob schedule: 5 fields (no seconds, unlike CloudNativePG's) or a descriptor.
  static std::optional<std::string> cron_problem(const std::string& schedule) {
    if (schedule.starts_with("@")) return std::nullopt;
    std::istringstream words(schedule);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    if (fields.size() == 5) return std::nullopt;
    if (fields.size() == 6) {
      return fmt::format("'{}' has 6 fields; a Kubernetes CronJob has no seconds field (minute hour day-of-month month "
                         "day-of-week): e.g. '0 4 * * 0' for Sundays at 04:00",
                         schedule);
    }
    return fmt::format("'{}' has {} fields; a Kubernetes CronJob needs 5 (e.g. '0 4 * * 0')", schedule, fields.size());
  }

 private:
  const util::StrictYaml& r_;
  const ClusterFile& f_;
};

}  // namespace

std::string default_window_image() { return std::string("pgshift:") + PGSHIFT_VERSION; }

WindowSpec parse_window(const util::StrictYaml& r, const YAML::Node& node, const ClusterFile& f) {
  WindowReader w(r, f);
  if (!node.IsMap()) w.fail(node, "window", "must be a mapping (console, mcp, drill, monitoring, image, ...)");
  r.only_keys(node, {"image", "imagePullPolicy", "runAsUser", "database", "console", "mcp", "drill", "monitoring"}, "window");
  WindowSpec s;
  s.enabled = true;
  s.image = default_window_image();
  r.optional(node, "image", s.image);
  if (s.image.empty() || s.image.find_first_of(" \t") != std::string::npos) {
    w.fail(node["image"], "window.image", fmt::format("'{}' is not an image reference", s.image));
  }
  r.optional(node, "imagePullPolicy", s.image_pull_policy);
  if (s.image_pull_policy != "IfNotPresent" && s.image_pull_policy != "Always" && s.image_pull_policy != "Never") {
    w.fail(node["imagePullPolicy"], "window.imagePullPolicy", "must be IfNotPresent, Always or Never");
  }
  if (node["runAsUser"]) {
    s.run_as_user = r.integer(node["runAsUser"], "window.runAsUser");
    if (s.run_as_user < 1) w.fail(node["runAsUser"], "window.runAsUser", "must be a non-root uid (1 or more)");
  }
  s.database = {f.name + "-app", "uri"};
  if (node["database"]) s.database = w.secret(node["database"], "window.database");
  if (node["console"]) s.console = w.server(node["console"], "window.console", 8977, false);
  if (node["mcp"]) s.mcp = w.server(node["mcp"], "window.mcp", 8978, true);
  if (node["drill"]) s.drill = w.drill(node["drill"], "window.drill");
  if (node["monitoring"]) s.monitoring = w.monitoring(node["monitoring"], "window.monitoring");
  if (!s.console.enabled && !s.mcp.enabled && !s.drill.enabled) {
    w.fail(node, "window", "names none of console, mcp, drill: nothing to render");
  }
  return s;
}

}  // namespace pgshift::cnpg
