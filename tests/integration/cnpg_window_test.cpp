// `pgshift cnpg render` of a `window:` section: the console, MCP server and drill in the cluster.
// Every rendered Kubernetes document validates against Kubernetes' own OpenAPI schemas and the
// prometheus-operator's CRDs (tests/support/k8s_validate.mjs, the npm packages kubernetes-models
// and @kubernetes-models/prometheus-operator), the CloudNativePG ones against the CRDs with ajv,
// and `cnpg lint` passes them all; each window rule has a fixture those schemas accept and lint
// refuses; bad input is one line naming the field (exit 2). No Kubernetes API is reachable here,
// so the rendered servers are started from their rendered arguments against a real local
// PostgreSQL: the probe paths answer and the Tailscale identity header is trusted from loopback only.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cnpg/cnpg.hpp"
#include "support/console_server.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;
namespace fs = std::filesystem;
using cnpg::Json;

namespace {

std::string crds_dir() {
  if (const char* env = std::getenv("PGSHIFT_CNPG_CRDS"); env && *env) return env;
  return (fs::path(PGSHIFT_SOURCE_DIR) / ".." / "shared" / "cnpg-crds").lexically_normal().string();
}

std::string fixture(const std::string& name) { return std::string(PGSHIFT_SOURCE_DIR) + "/tests/integration/cnpg/" + name; }

struct Verdict {
  std::string file, kind, name;
  bool valid = false;
  std::string errors;
};

std::vector<Verdict> run_validator(const std::string& script, std::vector<std::string> args) {
  util::ProcessSpec spec;
  spec.argv = {"node", std::string(PGSHIFT_SOURCE_DIR) + "/tests/support/" + script};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  util::RunResult r = util::run(spec, util::Millis(120'000));
  EXPECT_EQ(r.exit_code, 0) << r.err << "\n(run scripts/install-deps for node_modules)";
  std::vector<Verdict> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    out.push_back({j.at("file"), j.at("kind"), j.value("name", ""), j.at("valid"), j.at("errors").dump()});
  }
  return out;
}

// Kubernetes' own schemas and the prometheus-operator's.
std::vector<Verdict> k8s(const std::vector<std::string>& files) { return run_validator("k8s_validate.mjs", files); }

std::vector<Verdict> ajv(const std::vector<std::string>& files) {
  std::vector<std::string> args = {crds_dir()};
  args.insert(args.end(), files.begin(), files.end());
  return run_validator("ajv_validate.mjs", args);
}

CliRun lint(const std::vector<std::string>& files) {
  std::vector<std::string> args = {"cnpg", "lint", "--crds", crds_dir(), "--json"};
  args.insert(args.end(), files.begin(), files.end());
  return run_pgshift(args);
}

struct Rendered {
  std::vector<std::string> files;
  std::vector<Json> docs;
  std::string warnings;
  const Json* find(const std::string& kind, const std::string& name) const {
    for (const auto& d : docs) {
      if (d["kind"] == kind && d["metadata"]["name"] == name) return &d;
    }
    return nullptr;
  }
  size_t count(const std::string& kind) const {
    return std::count_if(docs.begin(), docs.end(), [&](const Json& d) { return d["kind"] == kind; });
  }
};

Rendered render(const std::string& file, const std::string& name) {
  std::string dir = fs::path(write_temp_file(name + ".keep", "")).parent_path() / ("window-" + name);
  fs::remove_all(dir);
  CliRun r = run_pgshift({"cnpg", "render", "-f", file, "-o", dir});
  EXPECT_EQ(r.exit_code, 0) << r.all();
  expect_no_password(r.all());
  Rendered out;
  out.warnings = r.err;
  for (const auto& e : fs::directory_iterator(dir)) out.files.push_back(e.path().string());
  std::sort(out.files.begin(), out.files.end());
  for (const auto& f : out.files) out.docs.push_back(cnpg::yaml_documents(read_file(f), f).at(0));
  return out;
}

bool is_cnpg(const std::string& file) {
  const std::string base = fs::path(file).filename().string();
  return base.starts_with("cluster-") || base.starts_with("scheduledbackup-") || base.starts_with("objectstore-") ||
         base.starts_with("pooler-");
}

// Every document valid: Kubernetes' kinds with kubernetes-models, CloudNativePG's with ajv, all with lint.
void expect_valid_everywhere(const Rendered& r) {
  std::vector<std::string> kube, cnpg_files;
  for (const auto& f : r.files) (is_cnpg(f) ? cnpg_files : kube).push_back(f);
  ASSERT_FALSE(kube.empty());
  std::vector<Verdict> verdicts = k8s(kube);
  ASSERT_EQ(verdicts.size(), kube.size());
  for (const auto& v : verdicts) EXPECT_TRUE(v.valid) << v.kind << " " << v.name << ": " << v.errors;
  if (!cnpg_files.empty()) {
    for (const auto& v : ajv(cnpg_files)) EXPECT_TRUE(v.valid) << v.kind << " " << v.name << ": " << v.errors;
  }
  CliRun l = lint(r.files);
  EXPECT_EQ(l.exit_code, 0) << l.all();
}

std::vector<const Json*> containers_of(const Json& doc) {
  const Json* pod = nullptr;
  if (doc["kind"] == "Deployment") pod = &doc["spec"]["template"]["spec"];
  if (doc["kind"] == "CronJob") pod = &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  std::vector<const Json*> out;
  if (pod) {
    for (const auto& c : (*pod)["containers"]) out.push_back(&c);
  }
  return out;
}

std::vector<std::string> args_of(const Json& container) { return container["args"].get<std::vector<std::string>>(); }

bool has_arg_pair(const std::vector<std::string>& args, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag && args[i + 1] == value) return true;
  }
  return false;
}

bool has_rule(const Json& role, const std::string& group, const std::string& resource, const std::string& verb) {
  for (const auto& r : role["rules"]) {
    auto in = [](const Json& list, const std::string& v) { return std::find(list.begin(), list.end(), Json(v)) != list.end(); };
    if (in(r["apiGroups"], group) && in(r["resources"], resource) && in(r["verbs"], verb)) return true;
  }
  return false;
}

// Every "pgshift_*" string literal in src/: the metric names pgshift exports.
std::set<std::string> exported_metric_names() {
  std::set<std::string> names;
  const std::regex literal("\"(pgshift_[a-z_]+)\"");
  for (const auto& e : fs::recursive_directory_iterator(std::string(PGSHIFT_SOURCE_DIR) + "/src")) {
    if (e.path().extension() != ".cpp" && e.path().extension() != ".hpp") continue;
    const std::string text = read_file(e.path().string());
    for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) names.insert((*it)[1]);
  }
  return names;
}

class CnpgWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(crds_dir() + "/postgresql.cnpg.io_clusters.yaml"))
        << "the CloudNativePG CRDs are not at " << crds_dir() << " (set PGSHIFT_CNPG_CRDS)";
  }
};

TEST_F(CnpgWindowTest, AFullWindowRendersDocumentsValidAgainstKubernetesSchemas) {
  Rendered r = render(fixture("window.yaml"), "full");
  expect_valid_everywhere(r);
  for (const char* kind : {"Deployment", "Service", "NetworkPolicy", "ServiceAccount", "Role", "RoleBinding", "CronJob",
                           "PrometheusRule", "PodMonitor", "ConfigMap"}) {
    EXPECT_GE(r.count(kind), 1u) << kind;
  }
  EXPECT_EQ(r.count("Ingress"), 0u);

  // The console: a ClusterIP Service, reachable only from the pods named.
  const Json* svc = r.find("Service", "shop-db-console");
  ASSERT_TRUE(svc);
  EXPECT_EQ((*svc)["spec"]["type"], "ClusterIP");
  EXPECT_EQ(r.find("Service", "shop-db-mcp"), nullptr) << "with Tailscale the MCP server is on the tailnet only";
  const Json* np = r.find("NetworkPolicy", "shop-db-console");
  ASSERT_TRUE(np);
  const Json& from = (*np)["spec"]["ingress"][0]["from"][0];
  EXPECT_EQ(from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "web");
  EXPECT_EQ(from["podSelector"]["matchLabels"]["app"], "shop-web");
  EXPECT_EQ((*np)["spec"]["ingress"][1]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "monitoring");

  // The console's Backups tab: get/list on CloudNativePG backups and scheduledbackups.
  const Json* role = r.find("Role", "shop-db-console");
  ASSERT_TRUE(role);
  for (const char* res : {"backups", "scheduledbackups"}) {
    for (const char* verb : {"get", "list"}) EXPECT_TRUE(has_rule(*role, "postgresql.cnpg.io", res, verb)) << res << " " << verb;
  }
  EXPECT_FALSE(has_rule(*role, "postgresql.cnpg.io", "backups", "create"));
  const Json* console = r.find("Deployment", "shop-db-console");
  ASSERT_TRUE(console);
  EXPECT_EQ((*console)["spec"]["template"]["spec"]["serviceAccountName"], "shop-db-console");
  const Json& c = *containers_of(*console)[0];
  EXPECT_EQ(c["image"], "registry.example.com/pgshift:0.1.0");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/ops/db/healthz");
  EXPECT_TRUE(has_arg_pair(args_of(c), "--trusted-proxy", "10.42.0.0/16"));
  EXPECT_TRUE(has_arg_pair(args_of(c), "--backups-from", "cnpg:prod/shop-db"));
  EXPECT_FALSE((*console)["spec"]["template"]["metadata"].contains("annotations")) << "a PodMonitor scrapes it";

  // MCP: the sidecar serves the loopback port; the identity header is trusted from it only.
  const Json* mcp = r.find("Deployment", "shop-db-mcp");
  ASSERT_TRUE(mcp);
  std::vector<const Json*> mc = containers_of(*mcp);
  ASSERT_EQ(mc.size(), 2u);
  std::vector<std::string> margs = args_of(*mc[0]);
  EXPECT_TRUE(has_arg_pair(margs, "--http", "127.0.0.1:8978"));
  EXPECT_TRUE(has_arg_pair(margs, "--identity-header", "Tailscale-User-Login"));
  EXPECT_TRUE(has_arg_pair(margs, "--trusted-proxy", "127.0.0.1/32"));
  EXPECT_EQ((*mc[1])["name"], "tailscale");
  bool auth_key_from_secret = false;
  for (const auto& e : (*mc[1])["env"]) {
    if (e["name"] == "TS_AUTHKEY") auth_key_from_secret = e["valueFrom"]["secretKeyRef"]["name"] == "tailscale-auth";
  }
  EXPECT_TRUE(auth_key_from_secret);
  const Json* serve = r.find("ConfigMap", "shop-db-mcp-tailscale");
  ASSERT_TRUE(serve);
  Json serve_cfg = Json::parse((*serve)["data"]["serve.json"].get<std::string>());
  EXPECT_EQ(serve_cfg["Web"]["${TS_CERT_DOMAIN}:443"]["Handlers"]["/"]["Proxy"], "http://127.0.0.1:8978");
  EXPECT_EQ((*mcp)["spec"]["template"]["spec"]["automountServiceAccountToken"], false);

  // The drill: weekly, never two at once, a scratch emptyDir, the notify command, its RBAC.
  const Json* cron = r.find("CronJob", "shop-db-drill");
  ASSERT_TRUE(cron);
  EXPECT_EQ((*cron)["spec"]["concurrencyPolicy"], "Forbid");
  EXPECT_EQ((*cron)["spec"]["schedule"], "0 4 * * 0");
  const Json& pod = (*cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["emptyDir"]["sizeLimit"], "30Gi");
  EXPECT_EQ(pod["serviceAccountName"], "shop-db-drill");
  std::vector<std::string> dargs = args_of(pod["containers"][0]);
  EXPECT_TRUE(has_arg_pair(dargs, "--cnpg", "prod/shop-db"));
  EXPECT_NE(std::find(dargs.begin(), dargs.end(), "--apply"), dargs.end());
  EXPECT_TRUE(has_arg_pair(dargs, "--notify-command", "curl -fsS -H 'Content-Type: application/json' -d @- $ALERT_WEBHOOK"));
  const Json* drill_role = r.find("Role", "shop-db-drill");
  ASSERT_TRUE(drill_role);
  for (const char* verb : {"get", "create", "delete", "watch"}) {
    EXPECT_TRUE(has_rule(*drill_role, "postgresql.cnpg.io", "clusters", verb)) << verb;
  }
  EXPECT_TRUE(has_rule(*drill_role, "", "pods/portforward", "create"));
  EXPECT_TRUE(has_rule(*drill_role, "", "services", "get"));

  // Every container hardened, every secret from a Secret.
  for (const auto& d : r.docs) {
    for (const Json* ct : containers_of(d)) {
      SCOPED_TRACE(d["metadata"]["name"].get<std::string>() + "/" + (*ct)["name"].get<std::string>());
      const Json& sc = (*ct)["securityContext"];
      EXPECT_EQ(sc["runAsNonRoot"], true);
      EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
      EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
      EXPECT_EQ(sc["capabilities"]["drop"], Json::array({"ALL"}));
      EXPECT_EQ(sc["seccompProfile"]["type"], "RuntimeDefault");
      EXPECT_TRUE((*ct)["resources"]["requests"].contains("memory"));
      for (const auto& e : (*ct)["env"]) {
        if (e.contains("value")) {
          EXPECT_EQ(e["value"].get<std::string>().find("://"), std::string::npos) << e.dump();
        }
      }
    }
  }

  // Alerts: archiver failing and stale, replication lag, drill failed and not run for 8 days, backups.
  const Json* rule = r.find("PrometheusRule", "shop-db-window");
  ASSERT_TRUE(rule);
  EXPECT_EQ((*rule)["metadata"]["labels"]["release"], "kube-prometheus-stack");
  std::set<std::string> alerts;
  std::string exprs;
  for (const auto& g : (*rule)["spec"]["groups"]) {
    for (const auto& a : g["rules"]) {
      alerts.insert(a["alert"]);
      exprs += a["expr"].get<std::string>() + "\n";
    }
  }
  for (const char* a : {"PgshiftArchiverFailing", "PgshiftArchiverStale", "PgshiftReplicationLag", "PgshiftDrillFailed",
                        "PgshiftDrillNotRun", "PgshiftBackupFailed", "PgshiftBackupTooOld"}) {
    EXPECT_TRUE(alerts.count(a)) << a;
  }
  EXPECT_NE(exprs.find("> 600"), std::string::npos) << "backup.rpo 10m is the archive age allowed: " << exprs;
  EXPECT_NE(exprs.find("> 691200"), std::string::npos) << "8 days: " << exprs;
  EXPECT_NE(exprs.find("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"), std::string::npos) << exprs;

  // Only metric names pgshift exports (a histogram's _bucket series included).
  const Json* dash = r.find("ConfigMap", "shop-db-dashboard");
  ASSERT_TRUE(dash);
  EXPECT_EQ((*dash)["metadata"]["labels"]["grafana_dashboard"], "1");
  Json dashboard = Json::parse((*dash)["data"]["pgshift-shop-db.json"].get<std::string>());
  ASSERT_GE(dashboard["panels"].size(), 8u);
  std::string used = exprs;
  for (const auto& p : dashboard["panels"]) {
    for (const auto& t : p["targets"]) used += t["expr"].get<std::string>() + "\n";
  }
  const std::set<std::string> exported = exported_metric_names();
  const std::regex metric("pgshift_[a-z_]+");
  size_t seen = 0;
  for (std::sregex_iterator it(used.begin(), used.end(), metric), end; it != end; ++it, ++seen) {
    std::string name = it->str();
    if (name.ends_with("_bucket")) name.resize(name.size() - 7);
    EXPECT_TRUE(exported.count(name)) << name << " is not a metric pgshift exports";
  }
  EXPECT_GE(seen, 15u);
}

// The example of docs/cnpg.md ("The window in the cluster") renders and validates as the fixture does.
TEST_F(CnpgWindowTest, TheDocsExampleRendersValidDocuments) {
  const std::string page = read_file(std::string(PGSHIFT_SOURCE_DIR) + "/docs/cnpg.md");
  size_t section = page.find("## The window in the cluster");
  ASSERT_NE(section, std::string::npos);
  size_t start = page.find("```yaml\n", section);
  ASSERT_NE(start, std::string::npos);
  start += 8;
  const size_t end = page.find("```", start);
  ASSERT_NE(end, std::string::npos);
  Rendered r = render(write_temp_file("docs-window.yaml", page.substr(start, end - start)), "docs");
  expect_valid_everywhere(r);
  EXPECT_TRUE(r.find("Deployment", "shop-db-console"));
  EXPECT_TRUE(r.find("Deployment", "shop-db-mcp"));
  EXPECT_TRUE(r.find("CronJob", "shop-db-drill"));
  EXPECT_TRUE(r.find("PrometheusRule", "shop-db-window"));
}

// Without the prometheus-operator: no PodMonitor or PrometheusRule, scraping by annotations; the
// MCP server behind a ClusterIP Service with a tokens file from a Secret; a barman-cloud drill.
TEST_F(CnpgWindowTest, WithoutThePrometheusOperatorPodsAreScrapedByAnnotations) {
  Rendered r = render(fixture("window_plain.yaml"), "plain");
  expect_valid_everywhere(r);
  EXPECT_EQ(r.count("PodMonitor"), 0u);
  EXPECT_EQ(r.count("PrometheusRule"), 0u);
  const Json* console = r.find("Deployment", "shop-db-console");
  ASSERT_TRUE(console);
  const Json& annotations = (*console)["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"], "true");
  EXPECT_EQ(annotations["prometheus.io/port"], "9000");
  EXPECT_EQ(annotations["prometheus.io/path"], "/metrics");
  EXPECT_EQ((*console)["spec"]["replicas"], 2);
  EXPECT_EQ((*console)["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 20000);
  EXPECT_EQ((*containers_of(*console)[0])["resources"]["requests"]["memory"], "512Mi");
  const Json* np = r.find("NetworkPolicy", "shop-db-console");
  ASSERT_TRUE(np);
  EXPECT_FALSE((*np)["spec"]["ingress"][0]["from"][0].contains("namespaceSelector")) << "pods of the same namespace";

  const Json* svc = r.find("Service", "shop-db-mcp");
  ASSERT_TRUE(svc);
  EXPECT_EQ((*svc)["spec"]["type"], "ClusterIP");
  const Json* mcp = r.find("Deployment", "shop-db-mcp");
  ASSERT_TRUE(mcp);
  std::vector<std::string> margs = args_of(*containers_of(*mcp)[0]);
  EXPECT_TRUE(has_arg_pair(margs, "--auth", "token"));
  EXPECT_TRUE(has_arg_pair(margs, "--tokens", "/etc/pgshift/tokens/tokens"));
  EXPECT_EQ((*mcp)["spec"]["template"]["spec"]["volumes"][1]["secret"]["secretName"], "mcp-tokens");

  const Json* cron = r.find("CronJob", "shop-db-drill");
  ASSERT_TRUE(cron);
  std::vector<std::string> dargs = args_of(*containers_of(*cron)[0]);
  EXPECT_TRUE(has_arg_pair(dargs, "--from", "barman-cloud:s3://backups/shop/shop-db"));
  EXPECT_EQ(r.count("Role"), 1u) << "a --from drill needs no Kubernetes API: only the console's Role";
  EXPECT_NE(r.warnings.find("no notifyCommand"), std::string::npos) << r.warnings;
}

// The validator is not a rubber stamp: broken documents fail it.
TEST_F(CnpgWindowTest, KubernetesSchemasRefuseBrokenDocuments) {
  Rendered r = render(fixture("window.yaml"), "broken");
  const Json* deployment = r.find("Deployment", "shop-db-console");
  const Json* rule = r.find("PrometheusRule", "shop-db-window");
  const Json* np = r.find("NetworkPolicy", "shop-db-console");
  ASSERT_TRUE(deployment && rule && np);
  std::vector<std::pair<std::string, Json>> broken;
  Json d = *deployment;
  d["spec"]["replicas"] = "two";
  broken.emplace_back("replicas-not-integer", d);
  d = *deployment;
  d["spec"]["template"]["spec"]["containers"][0].erase("name");
  broken.emplace_back("container-without-name", d);
  d = *deployment;
  d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes";
  broken.emplace_back("bad-pull-policy", d);
  d = *np;
  d["spec"]["policyTypes"] = "Ingress";
  broken.emplace_back("policy-types-not-list", d);
  d = *rule;
  d["spec"]["groups"][0].erase("name");
  broken.emplace_back("rule-group-without-name", d);
  d = *rule;
  d["spec"]["groups"][0]["rules"][0]["for"] = "five minutes";
  broken.emplace_back("rule-for-not-duration", d);
  std::vector<std::string> paths;
  for (const auto& [name, doc] : broken) paths.push_back(write_temp_file("broken-" + name + ".yaml", cnpg::to_yaml(doc)));
  std::vector<Verdict> verdicts = k8s(paths);
  ASSERT_EQ(verdicts.size(), broken.size());
  for (size_t i = 0; i < broken.size(); ++i) EXPECT_FALSE(verdicts[i].valid) << broken[i].first;
}

TEST_F(CnpgWindowTest, EachWindowRuleHasAFailingFixture) {
  const std::map<std::string, std::string> fixtures = {
      {"window_networkpolicy_open.yaml", "window-networkpolicy-open"},
      {"window_networkpolicy_any_namespace.yaml", "window-networkpolicy-open"},
      {"window_service_nodeport.yaml", "window-service-exposed"},
      {"window_service_loadbalancer.yaml", "window-service-exposed"},
      {"window_root_container.yaml", "window-runs-as-root"},
      {"window_privilege_escalation.yaml", "window-privilege-escalation"},
      {"window_writable_root.yaml", "window-writable-root"},
      {"window_capabilities.yaml", "window-capabilities"},
  };
  std::vector<std::string> paths;
  for (const auto& [file, rule] : fixtures) paths.push_back(fixture("lint/" + file));
  std::vector<Verdict> verdicts = k8s(paths);
  ASSERT_EQ(verdicts.size(), fixtures.size());
  for (const auto& v : verdicts) EXPECT_TRUE(v.valid) << v.file << ": Kubernetes' schema alone must accept it: " << v.errors;
  for (const auto& [file, rule] : fixtures) {
    SCOPED_TRACE(file);
    CliRun l = lint({fixture("lint/" + file)});
    EXPECT_EQ(l.exit_code, 1) << l.all();
    auto doc = nlohmann::json::parse(l.out);
    ASSERT_EQ(doc.at("problems").size(), 1u) << l.out;
    EXPECT_EQ(doc["problems"][0]["rule"], rule);
  }
}

// Bad input in window: is one line naming the field, exit 2, nothing on stdout, no secret echoed.
TEST_F(CnpgWindowTest, BadWindowInputIsOneLineNamingTheField) {
  const std::string head = "name: shop-db\nnamespace: prod\nstorage: {size: 20Gi}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"window: {database: \"postgresql://app:s3cretpw@db/app\", drill: {}}", "bad.yaml:4: window.database: must be {secret: NAME, key: KEY}"},
      {"window: {console: {port: 80, trustedProxies: [10.0.0.0/8]}}", "window.console.port: 80 is not a port"},
      {"window: {console: {}}", "window.console.trustedProxies: auth trusted-header needs"},
      {"window: {console: {auth: none}}", "window.console.auth: 'none' must be trusted-header or token"},
      {"window: {console: {trustedProxies: [0.0.0.0/0]}}", "window.console.trustedProxies: '0.0.0.0/0' trusts"},
      {"window: {console: {trustedProxies: [10.0.0.0/33]}}", "window.console.trustedProxies: '10.0.0.0/33' is not a CIDR"},
      {"window: {mcp: {auth: token}}", "window.mcp.tokens: auth token needs"},
      {"window: {mcp: {tailscale: {hostname: mcp}}}", "window.mcp.tailscale.authKey: is required"},
      {"window: {mcp: {auth: token, tokens: {secret: t, key: k}, tailscale: {authKey: {secret: ts, key: k}}}}",
       "window.mcp.auth: with tailscale"},
      {"window: {drill: {schedule: \"0 0 4 * * 0\"}}", "window.drill.schedule: '0 0 4 * * 0' has 6 fields"},
      {"window: {drill: {timeout: soon}}", "window.drill.timeout: 'soon' is not a duration"},
      {"window: {drill: {env: {HOOK: \"https://hooks.example/s3cretpw\"}}}", "window.drill.env.HOOK: must be {secret"},
      {"window: {drill: {scratchSize: 30GB}}", "window.drill.scratchSize: '30GB' is not a Kubernetes quantity"},
      {"window: {console: {trustedProxies: [10.0.0.0/8], allowFrom: [{}]}}", "window.console.allowFrom[0]: names neither"},
      {"window: {console: {trustedProxies: [10.0.0.0/8], ingress: true}}", "unknown key 'ingress' in window.console"},
      {"window: {runAsUser: 0, drill: {}}", "window.runAsUser: must be a non-root uid"},
      {"window: {monitoring: {prometheusRule: true}}", "window: names none of console, mcp, drill"},
      {"window: {drill: {}, monitoring: {maxArchiveAge: 10s}}", "window.monitoring.maxArchiveAge: must be at least 1m"},
  };
  for (const auto& [yaml, error] : cases) {
    SCOPED_TRACE(yaml);
    CliRun r = run_pgshift({"cnpg", "render", "-f", write_temp_file("bad.yaml", head + yaml + "\n")});
    EXPECT_EQ(r.exit_code, 2) << r.all();
    EXPECT_NE(r.err.find(error), std::string::npos) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.find("s3cretpw"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// No Kubernetes API here: the servers are started from their rendered arguments (the listen port
// made free, the database from PGSHIFT_DB_URL as the Secret gives it) against a real PostgreSQL.
TEST_F(CnpgWindowTest, TheRenderedServersStartFromTheirRenderedArguments) {
  auto cluster = start_cluster("window");
  {
    pg::Connection admin = connect(*cluster);
    run_sql(admin, "CREATE ROLE reader LOGIN PASSWORD 'reader-window-pw'; GRANT pg_read_all_data, pg_monitor TO reader;");
  }
  const std::map<std::string, std::string> env = {
      {"PGSHIFT_DB_URL", fmt::format("postgresql://reader:reader-window-pw@127.0.0.1:{}/postgres", cluster->port())}};
  Rendered r = render(fixture("window.yaml"), "servers");
  auto free_port = [](std::vector<std::string> args, const std::string& flag) {
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == flag) args[i + 1] = "127.0.0.1:0";
    }
    return args;
  };

  const Json* console = r.find("Deployment", "shop-db-console");
  ASSERT_TRUE(console);
  const Json& cc = *containers_of(*console)[0];
  ServerProcess c = ServerProcess::start(free_port(args_of(cc), "--listen"), env);
  EXPECT_EQ(http_get(c.port(), cc["livenessProbe"]["httpGet"]["path"]).status, 200);
  EXPECT_EQ(http_get(c.port(), cc["readinessProbe"]["httpGet"]["path"]).status, 200);
  HttpResponse metrics = http_get(c.port(), "/ops/db/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("pgshift_pg_up 1"), std::string::npos) << metrics.body.substr(0, 500);
  // 127.0.0.1 is not in the trusted proxy range 10.42.0.0/16: its identity header is refused.
  EXPECT_EQ(http_get(c.port(), "/ops/db/", {{"X-Forwarded-Email", "mallory@example.com"}}).status, 401);
  EXPECT_EQ(c.terminate(), 0) << c.output();

  const Json* mcp = r.find("Deployment", "shop-db-mcp");
  ASSERT_TRUE(mcp);
  ServerProcess m = ServerProcess::start(free_port(args_of(*containers_of(*mcp)[0]), "--http"), env);
  HttpRequest init;
  init.method = "POST";
  init.target = "/mcp";
  init.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
  init.body = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},)"
              R"("clientInfo":{"name":"window-test","version":"1"}}})";
  EXPECT_EQ(http_request(m.port(), init).status, 401) << "no identity header";
  HttpRequest from_sidecar = init;
  from_sidecar.headers.push_back({"Tailscale-User-Login", "alice@example.com"});
  HttpResponse ok = http_request(m.port(), from_sidecar);
  EXPECT_EQ(ok.status, 200) << ok.body;
  HttpRequest from_pod = from_sidecar;
  from_pod.bind_address = "127.0.0.2";  // another address than the sidecar's loopback
  EXPECT_EQ(http_request(m.port(), from_pod).status, 401) << "the header is trusted from 127.0.0.1/32 only";
  EXPECT_EQ(m.terminate(), 0) << m.output();

  // The drill's arguments parse (no usage error): without a Kubernetes API, kubectl fails (exit 3).
  const Json* cron = r.find("CronJob", "shop-db-drill");
  ASSERT_TRUE(cron);
  std::vector<std::string> dargs = args_of(*containers_of(*cron)[0]);
  dargs.insert(dargs.end(), {"--kubeconfig", write_temp_file("no-kubeconfig", "")});
  CliRun drill = run_pgshift(dargs, {{"PGSHIFT_DB_URL", cluster->url("postgres")}, {"ALERT_WEBHOOK", "http://127.0.0.1:9"}},
                             util::Millis(120'000));
  EXPECT_EQ(drill.exit_code, 3) << drill.all();
}

}  // namespace
