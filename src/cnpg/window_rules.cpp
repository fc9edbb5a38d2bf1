// window_rules and the kinds lint knows without a CRD (window.hpp has the contract). Each rule
// has a name a test fixture fails on:
//   window-networkpolicy-open    an ingress rule without `from`, an empty peer, a namespaceSelector
//                                {} without a podSelector, an ipBlock of 0.0.0.0/0 or ::/0
//   window-service-exposed       a pgshift Service of type NodePort or LoadBalancer (the window is
//                                reached through the application's proxy or the tailnet only)
//   window-runs-as-root          a container with runAsUser 0, or neither a uid nor runAsNonRoot
//   window-privilege-escalation  allowPrivilegeEscalation not false, or privileged
//   window-writable-root         readOnlyRootFilesystem not true
//   window-capabilities          capabilities not dropping ALL, or adding any
#include <fmt/format.h>

#include <set>

#include "cnpg/cnpg.hpp"
#include "cnpg/window.hpp"

namespace pgshift::cnpg {
namespace {

const Json* child(const Json* node, const char* key) {
  if (!node || !node->is_object() || !node->contains(key)) return nullptr;
  return &(*node)[key];
}

bool is_true(const Json* v) { return v && v->is_boolean() && v->get<bool>(); }
bool is_false(const Json* v) { return v && v->is_boolean() && !v->get<bool>(); }

bool empty_selector(const Json* s) {
  if (!s) return false;
  const Json* labels = child(s, "matchLabels");
  const Json* exprs = child(s, "matchExpressions");
  return (!labels || labels->empty()) && (!exprs || exprs->empty());
}

void network_policy(const Json& spec, const std::string& where, std::vector<Problem>& out) {
  const Json* ingress = child(&spec, "ingress");
  if (!ingress || !ingress->is_array()) return;
  auto open = [&](const std::string& path, const std::string& why) {
    out.push_back({where, path, "lets everything in: " + why + "; name the namespaces and pods allowed", "window-networkpolicy-open"});
  };
  for (size_t i = 0; i < ingress->size(); ++i) {
    const std::string at = fmt::format("spec.ingress[{}]", i);
    const Json* from = child(&(*ingress)[i], "from");
    if (!from || from->empty()) {
      open(at, "an ingress rule without 'from' allows every source");
      continue;
    }
    for (size_t k = 0; k < from->size(); ++k) {
      const Json& peer = (*from)[k];
      const std::string p = fmt::format("{}.from[{}]", at, k);
      const Json* ns = child(&peer, "namespaceSelector");
      const Json* pods = child(&peer, "podSelector");
      const Json* block = child(&peer, "ipBlock");
      if (!ns && !pods && !block) open(p, "an empty peer");
      if (ns && empty_selector(ns) && (!pods || empty_selector(pods))) open(p, "namespaceSelector {} selects every namespace");
      if (const Json* cidr = child(block, "cidr"); cidr && cidr->is_string() && (*cidr == "0.0.0.0/0" || *cidr == "::/0")) {
        open(p + ".ipBlock.cidr", fmt::format("ipBlock {} is every address", cidr->get<std::string>()));
      }
    }
  }
}

bool pgshift_labelled(const Json* labels) {
  const Json* name = child(labels, "app.kubernetes.io/name");
  return name && name->is_string() && *name == "pgshift";
}

void service(const Json& doc, const Json& spec, const std::string& where, std::vector<Problem>& out) {
  if (!pgshift_labelled(child(child(&doc, "metadata"), "labels")) && !pgshift_labelled(child(&spec, "selector"))) return;
  const Json* type = child(&spec, "type");
  if (type && type->is_string() && (*type == "NodePort" || *type == "LoadBalancer")) {
    out.push_back({where, "spec.type",
                   fmt::format("a pgshift Service of type {} is reachable from outside the cluster; use ClusterIP (the "
                               "console behind the application's /ops proxy, the MCP server over the tailnet)",
                               type->get<std::string>()),
                   "window-service-exposed"});
  }
}

void container(const Json& c, const Json* pod_sc, const std::string& path, const std::string& where, std::vector<Problem>& out) {
  const Json* sc = child(&c, "securityContext");
  const std::string name = c.is_object() ? c.value("name", "?") : "?";
  auto problem = [&](const std::string& field, const std::string& what, const char* rule) {
    out.push_back({where, path + ".securityContext" + (field.empty() ? "" : "." + field), fmt::format("container {} {}", name, what), rule});
  };
  const Json* uid = child(sc, "runAsUser");
  if (!uid) uid = child(pod_sc, "runAsUser");
  const Json* non_root = child(sc, "runAsNonRoot");
  if (!non_root) non_root = child(pod_sc, "runAsNonRoot");
  if (uid && uid->is_number_integer() && uid->get<long long>() == 0) {
    problem("runAsUser", "runs as root (runAsUser 0)", "window-runs-as-root");
  } else if (!uid && !is_true(non_root)) {
    problem("runAsNonRoot", "may run as root: set runAsNonRoot: true (and a runAsUser)", "window-runs-as-root");
  } else if (is_false(non_root)) {
    problem("runAsNonRoot", "sets runAsNonRoot: false", "window-runs-as-root");
  }
  if (!is_false(child(sc, "allowPrivilegeEscalation"))) {
    problem("allowPrivilegeEscalation", "may gain privileges: set allowPrivilegeEscalation: false", "window-privilege-escalation");
  }
  if (is_true(child(sc, "privileged"))) problem("privileged", "is privileged", "window-privilege-escalation");
  if (!is_true(child(sc, "readOnlyRootFilesystem"))) {
    problem("readOnlyRootFilesystem", "has a writable root filesystem: set readOnlyRootFilesystem: true (emptyDir for /tmp)",
            "window-writable-root");
  }
  const Json* caps = child(sc, "capabilities");
  const Json* drop = child(caps, "drop");
  bool drops_all = drop && drop->is_array() && std::find(drop->begin(), drop->end(), Json("ALL")) != drop->end();
  if (!drops_all) problem("capabilities.drop", "keeps Linux capabilities: drop ALL", "window-capabilities");
  if (const Json* add = child(caps, "add"); add && add->is_array() && !add->empty()) {
    problem("capabilities.add", "adds Linux capabilities", "window-capabilities");
  }
}

// The pod spec of a workload and its path, or nullptr.
const Json* pod_spec(const Json& doc, const std::string& kind, std::string& path) {
  if (kind == "Pod") {
    path = "spec";
    return child(&doc, "spec");
  }
  if (kind == "CronJob") {
    path = "spec.jobTemplate.spec.template.spec";
    return child(child(child(child(child(&doc, "spec"), "jobTemplate"), "spec"), "template"), "spec");
  }
  static const std::set<std::string> templated = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"};
  if (!templated.count(kind)) return nullptr;
  path = "spec.template.spec";
  return child(child(child(&doc, "spec"), "template"), "spec");
}

}  // namespace

std::vector<Problem> window_rules(const Json& doc, const std::string& where) {
  std::vector<Problem> out;
  if (!doc.is_object()) return out;
  const std::string kind = doc.value("kind", "");
  const Json* spec = child(&doc, "spec");
  if (kind == "NetworkPolicy" && spec) network_policy(*spec, where, out);
  if (kind == "Service" && spec) service(doc, *spec, where, out);
  std::string path;
  if (const Json* pod = pod_spec(doc, kind, path)) {
    const Json* pod_sc = child(pod, "securityContext");
    for (const char* list : {"initContainers", "containers"}) {
      const Json* cs = child(pod, list);
      if (!cs || !cs->is_array()) continue;
      for (size_t i = 0; i < cs->size(); ++i) container((*cs)[i], pod_sc, fmt::format("{}.{}[{}]", path, list, i), where, out);
    }
  }
  return out;
}

bool builtin_kind(const std::string& api_kind) {
  static const std::set<std::string> kinds = {
      "v1/ConfigMap", "v1/Secret", "v1/Service", "v1/ServiceAccount", "v1/Pod", "apps/v1/Deployment",
      "apps/v1/StatefulSet", "apps/v1/DaemonSet", "batch/v1/CronJob", "batch/v1/Job",
      "networking.k8s.io/v1/NetworkPolicy", "rbac.authorization.k8s.io/v1/Role",
      "rbac.authorization.k8s.io/v1/RoleBinding"};
  return kinds.count(api_kind) > 0;
}

bool optional_crd_kind(const std::string& api_kind) {
  return api_kind == "monitoring.coreos.com/v1/PrometheusRule" || api_kind == "monitoring.coreos.com/v1/PodMonitor";
}

}  // namespace pgshift::cnpg
