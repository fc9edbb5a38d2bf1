// render_window: the console, the MCP server and the drill as Kubernetes documents (window.hpp
// has the contract). Every container runs as a non-root uid with a read-only root filesystem, no
// privilege escalation, no capabilities and the RuntimeDefault seccomp profile; every database URL,
// token file and auth key comes from a Secret.
#include <fmt/format.h>

#include "cnpg/cnpg.hpp"
#include "cnpg/window.hpp"
#include "util/duration.hpp"

namespace pgshift::cnpg {
namespace {

constexpr const char* kTokensDir = "/etc/pgshift/tokens";

class WindowRenderer {
 public:
  WindowRenderer(const ClusterFile& f, std::vector<std::string>& warnings) : f_(f), w_(f.window), warnings_(warnings) {}

  std::vector<Document> run() {
    if (w_.console.enabled) console();
    if (w_.mcp.enabled) mcp();
    if (w_.drill.enabled) drill();
    for (auto& d : render_monitoring(f_)) out_.push_back(std::move(d));
    if (w_.database.name == f_.name + "-app" && (w_.console.enabled || w_.mcp.enabled)) {
      warnings_.push_back(fmt::format("window.database: console and MCP connect with {}-app (the application owner); "
                                      "name the Secret of a read-only role (roles.yaml) instead",
                                      f_.name));
    }
    return std::move(out_);
  }

 private:
  std::string name(const std::string& component) const { return f_.name + "-" + component; }

  Json labels(const std::string& component) const {
    return {{"app.kubernetes.io/name", "pgshift"}, {"app.kubernetes.io/instance", f_.name},
            {"app.kubernetes.io/component", component}};
  }

  Json meta(const std::string& n, const std::string& component) const {
    return {{"name", n}, {"namespace", f_.namespace_}, {"labels", labels(component)}};
  }

  void add(const std::string& kind, const std::string& api, const std::string& n, const std::string& component, Json rest) {
    Json doc = {{"apiVersion", api}, {"kind", kind}, {"metadata", meta(n, component)}};
    for (auto& [k, v] : rest.items()) doc[k] = v;
    out_.push_back({kind, n, std::move(doc)});
  }

  Json pod_security() const {
    return {{"runAsNonRoot", true}, {"runAsUser", w_.run_as_user}, {"runAsGroup", w_.run_as_user},
            {"fsGroup", w_.run_as_user}, {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  }

  Json container_security() const {
    return {{"runAsNonRoot", true}, {"runAsUser", w_.run_as_user}, {"allowPrivilegeEscalation", false},
            {"readOnlyRootFilesystem", true}, {"capabilities", {{"drop", {"ALL"}}}},
            {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  }

  static Json secret_env(const std::string& var, const SecretKeyRef& s) {
    return {{"name", var}, {"valueFrom", {{"secretKeyRef", {{"name", s.name}, {"key", s.key}}}}}};
  }

  static Json resources(const ContainerResources& r) {
    return {{"requests", {{"cpu", r.cpu}, {"memory", r.memory}}}, {"limits", {{"memory", r.memory}}}};
  }

  static Json probe(const std::string& path, int period) {
    return {{"httpGet", {{"path", path}, {"port", "http"}}}, {"periodSeconds", period}, {"timeoutSeconds", 5},
            {"failureThreshold", 3}};
  }

  // The pgshift container of a server; `listen` is where it binds inside the pod.
  Json server_container(const std::string& component, const ServerSpec& s, std::vector<std::string> args) const {
    args.insert(args.end(), {"--auth", s.auth, "--audit-log", "-"});
    if (s.auth == "trusted-header") {
      args.insert(args.end(), {"--identity-header", s.identity_header});
      for (const auto& p : s.trusted_proxies) args.insert(args.end(), {"--trusted-proxy", p});
    } else {
      args.insert(args.end(), {"--tokens", std::string(kTokensDir) + "/tokens"});
    }
    for (const auto& o : s.allowed_origins) args.insert(args.end(), {"--allowed-origin", o});
    if (!s.base_path.empty()) args.insert(args.end(), {"--base-path", s.base_path});
    Json mounts = Json::array({{{"name", "tmp"}, {"mountPath", "/tmp"}}});
    if (s.auth == "token") mounts.push_back({{"name", "tokens"}, {"mountPath", kTokensDir}, {"readOnly", true}});
    Json c = {{"name", component}, {"image", w_.image}, {"imagePullPolicy", w_.image_pull_policy}, {"args", args},
              {"env", Json::array({secret_env("PGSHIFT_DB_URL", w_.database), {{"name", "HOME"}, {"value", "/tmp"}}})},
              {"resources", resources(s.resources)}, {"securityContext", container_security()},
              {"volumeMounts", mounts}};
    if (!s.tailscale.enabled) {
      // On loopback (behind the sidecar) the kubelet cannot reach it: no port, no probes.
      c["ports"] = Json::array({{{"name", "http"}, {"containerPort", s.port}, {"protocol", "TCP"}}});
      c["livenessProbe"] = probe(s.base_path + "/healthz", 20);
      c["readinessProbe"] = probe(s.base_path + "/readyz", 10);
    }
    return c;
  }

  Json pod_annotations(const ServerSpec& s) const {
    if (w_.monitoring.pod_monitor || s.tailscale.enabled) return Json::object();
    // Prometheus without the operator's CRDs scrapes pods by these annotations.
    return {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", std::to_string(s.port)},
            {"prometheus.io/path", s.base_path + "/metrics"}};
  }

  Json server_volumes(const ServerSpec& s) const {
    Json v = Json::array({{{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "64Mi"}}}}});
    if (s.auth == "token") {
      v.push_back({{"name", "tokens"},
                   {"secret", {{"secretName", s.tokens.name}, {"items", Json::array({{{"key", s.tokens.key}, {"path", "tokens"}}})}}}});
    }
    return v;
  }

  void deployment(const std::string& component, const ServerSpec& s, Json containers, Json volumes, Json pod_extra) {
    Json template_meta = {{"labels", labels(component)}};
    if (Json a = pod_annotations(s); !a.empty()) template_meta["annotations"] = a;
    Json pod = {{"securityContext", pod_security()}, {"containers", containers}, {"volumes", volumes}};
    for (auto& [k, v] : pod_extra.items()) pod[k] = v;
    add("Deployment", "apps/v1", name(component), component,
        {{"spec", {{"replicas", s.replicas}, {"selector", {{"matchLabels", labels(component)}}},
                   {"template", {{"metadata", template_meta}, {"spec", pod}}}}}});
  }

  void service(const std::string& component, const ServerSpec& s) {
    add("Service", "v1", name(component), component,
        {{"spec", {{"type", "ClusterIP"}, {"selector", labels(component)},
                   {"ports", Json::array({{{"name", "http"}, {"port", s.port}, {"targetPort", "http"}, {"protocol", "TCP"}}})}}}});
  }

  static Json peer(const PeerSpec& p) {
    Json j = Json::object();
    if (!p.namespace_.empty()) j["namespaceSelector"] = {{"matchLabels", {{"kubernetes.io/metadata.name", p.namespace_}}}};
    if (!p.pods.empty()) {
      Json labels = Json::object();
      for (const auto& [k, v] : p.pods) labels[k] = v;
      j["podSelector"] = {{"matchLabels", labels}};
    }
    return j;
  }

  void network_policy(const std::string& component, const ServerSpec& s) {
    Json port = Json::array({{{"port", s.port}, {"protocol", "TCP"}}});
    Json ingress = Json::array();
    auto rule = [&](const std::vector<PeerSpec>& peers) {
      if (peers.empty()) return;
      Json from = Json::array();
      for (const auto& p : peers) from.push_back(peer(p));
      ingress.push_back({{"from", from}, {"ports", port}});
    };
    rule(s.allow_from);
    if (!s.tailscale.enabled) rule(w_.monitoring.scrape_from);
    if (ingress.empty()) {
      warnings_.push_back(fmt::format("window.{}.allowFrom names no one: the NetworkPolicy lets nothing in{}", component,
                                      s.tailscale.enabled ? " (the tailnet reaches it through the sidecar)" : ""));
    }
    add("NetworkPolicy", "networking.k8s.io/v1", name(component), component,
        {{"spec", {{"podSelector", {{"matchLabels", labels(component)}}}, {"policyTypes", {"Ingress"}}, {"ingress", ingress}}}});
  }

  void rbac(const std::string& component, Json rules) {
    add("ServiceAccount", "v1", name(component), component, {{"automountServiceAccountToken", true}});
    add("Role", "rbac.authorization.k8s.io/v1", name(component), component, {{"rules", rules}});
    add("RoleBinding", "rbac.authorization.k8s.io/v1", name(component), component,
        {{"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name(component)}}},
         {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", name(component)}, {"namespace", f_.namespace_}}})}});
  }

  static Json rule(const std::string& group, std::vector<std::string> resources, std::vector<std::string> verbs) {
    return {{"apiGroups", {group}}, {"resources", resources}, {"verbs", verbs}};
  }

  void console() {
    const ServerSpec& s = w_.console;
    std::vector<std::string> args = {"console", "--listen", fmt::format("0.0.0.0:{}", s.port),
                                     "--backups-from", fmt::format("cnpg:{}/{}", f_.namespace_, f_.name)};
    deployment("console", s, Json::array({server_container("console", s, args)}), server_volumes(s),
               {{"serviceAccountName", name("console")}, {"automountServiceAccountToken", true}});
    service("console", s);
    network_policy("console", s);
    // The Backups tab lists the Cluster's Backups (kubectl get backups -l cnpg.io/cluster=...),
    // reads the Cluster and its ObjectStore to know where they go, and shows ScheduledBackups.
    rbac("console", Json::array({rule("postgresql.cnpg.io", {"backups", "scheduledbackups"}, {"get", "list"}),
                                 rule("postgresql.cnpg.io", {"clusters"}, {"get"}),
                                 rule("barmancloud.cnpg.io", {"objectstores"}, {"get"})}));
  }

  void mcp() {
    const ServerSpec& s = w_.mcp;
    const std::string host = s.tailscale.enabled ? "127.0.0.1" : "0.0.0.0";
    Json containers = Json::array({server_container("mcp", s, {"mcp", "--http", fmt::format("{}:{}", host, s.port)})});
    Json volumes = server_volumes(s);
    if (s.tailscale.enabled) {
      containers.push_back(tailscale_container(s));
      volumes.push_back({{"name", "tailscale-state"}, {"emptyDir", {{"sizeLimit", "16Mi"}}}});
      volumes.push_back({{"name", "tailscale-serve"}, {"configMap", {{"name", name("mcp-tailscale")}}}});
      add("ConfigMap", "v1", name("mcp-tailscale"), "mcp", {{"data", {{"serve.json", serve_config(s.port)}}}});
    }
    deployment("mcp", s, containers, volumes, {{"automountServiceAccountToken", false}});
    if (!s.tailscale.enabled) service("mcp", s);
    network_policy("mcp", s);
  }

  // `tailscale serve --https=443 http://127.0.0.1:PORT`, as the image's containerboot reads it
  // (TS_SERVE_CONFIG; it fills in ${TS_CERT_DOMAIN}).
  static std::string serve_config(int port) {
    nlohmann::ordered_json cfg = {
        {"TCP", {{"443", {{"HTTPS", true}}}}},
        {"Web", {{"${TS_CERT_DOMAIN}:443", {{"Handlers", {{"/", {{"Proxy", fmt::format("http://127.0.0.1:{}", port)}}}}}}}}}};
    return cfg.dump(2);
  }

  Json tailscale_container(const ServerSpec& s) const {
    const TailscaleSpec& t = s.tailscale;
    Json env = Json::array({secret_env("TS_AUTHKEY", t.auth_key), {{"name", "TS_HOSTNAME"}, {"value", t.hostname}},
                            {{"name", "TS_USERSPACE"}, {"value", "true"}}, {{"name", "TS_AUTH_ONCE"}, {"value", "true"}},
                            {{"name", "TS_KUBE_SECRET"}, {"value", ""}},
                            {{"name", "TS_STATE_DIR"}, {"value", "/var/lib/tailscale"}},
                            {{"name", "TS_SOCKET"}, {"value", "/tmp/tailscaled.sock"}},
                            {{"name", "TS_SERVE_CONFIG"}, {"value", "/etc/tailscale/serve.json"}}});
    return {{"name", "tailscale"}, {"image", t.image}, {"imagePullPolicy", w_.image_pull_policy}, {"env", env},
            {"resources", resources({"50m", "128Mi"})}, {"securityContext", container_security()},
            {"volumeMounts", Json::array({{{"name", "tmp"}, {"mountPath", "/tmp"}},
                                          {{"name", "tailscale-state"}, {"mountPath", "/var/lib/tailscale"}},
                                          {{"name", "tailscale-serve"}, {"mountPath", "/etc/tailscale"}, {"readOnly", true}}})}};
  }

  void drill() {
    const DrillSpec& d = w_.drill;
    const bool cnpg = d.from.empty();
    std::vector<std::string> args = {"drill"};
    if (cnpg) args.insert(args.end(), {"--cnpg", f_.namespace_ + "/" + f_.name, "--apply"});
    else args.insert(args.end(), {"--from", d.from});
    args.insert(args.end(), {"--timeout", d.timeout, "--json"});
    if (!d.notify_command.empty()) args.insert(args.end(), {"--notify-command", d.notify_command});
    if (d.notify_command.empty()) warnings_.push_back("window.drill has no notifyCommand: a failed drill alerts only through monitoring");
    Json env = Json::array({secret_env("PGSHIFT_DB_URL", d.database), {{"name", "HOME"}, {"value", "/tmp"}}});
    for (const auto& [var, ref] : d.env) env.push_back(secret_env(var, ref));
    Json container = {{"name", "drill"}, {"image", w_.image}, {"imagePullPolicy", w_.image_pull_policy}, {"args", args},
                      {"env", env}, {"resources", resources(d.resources)}, {"securityContext", container_security()},
                      {"volumeMounts", Json::array({{{"name", "scratch"}, {"mountPath", "/tmp"}}})}};
    Json pod = {{"restartPolicy", "Never"}, {"securityContext", pod_security()}, {"automountServiceAccountToken", cnpg},
                {"containers", Json::array({container})},
                {"volumes", Json::array({{{"name", "scratch"}, {"emptyDir", {{"sizeLimit", d.scratch_size}}}}})}};
    if (cnpg) pod["serviceAccountName"] = name("drill");
    const long long timeout_s = util::parse_duration(d.timeout, "window.drill.timeout").count() / 1000;
    Json job = {{"backoffLimit", 0}, {"activeDeadlineSeconds", timeout_s + 900},
                {"template", {{"metadata", {{"labels", labels("drill")}}}, {"spec", pod}}}};
    add("CronJob", "batch/v1", name("drill"), "drill",
        {{"spec", {{"schedule", d.schedule}, {"concurrencyPolicy", "Forbid"}, {"startingDeadlineSeconds", 3600},
                   {"successfulJobsHistoryLimit", 3}, {"failedJobsHistoryLimit", 3}, {"jobTemplate", {{"spec", job}}}}}});
    if (!cnpg) return;
    // `drill --cnpg --apply`: reads the live Cluster, applies the recovery Cluster (kubectl apply:
    // get, then create or patch), waits for Ready (watch), port-forwards to its -rw Service, deletes it.
    rbac("drill", Json::array({rule("postgresql.cnpg.io", {"clusters"}, {"get", "list", "watch", "create", "patch", "delete"}),
                               rule("", {"services"}, {"get"}), rule("", {"pods"}, {"get", "list"}),
                               rule("", {"pods/portforward"}, {"create"})}));
  }

  const ClusterFile& f_;
  const WindowSpec& w_;
  std::vector<std::string>& warnings_;
  std::vector<Document> out_;
};

}  // namespace

std::vector<Document> render_window(const ClusterFile& f, std::vector<std::string>& warnings) {
  return WindowRenderer(f, warnings).run();
}

}  // namespace pgshift::cnpg
