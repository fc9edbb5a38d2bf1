// CRD schemas for lint: read from files, directories or a release manifest (other kinds are
// skipped), or from the cluster with kubectl; each version's openAPIV3Schema made strict, because
// the API server prunes unknown fields silently (a typo becomes a setting that never applies).
#include <fmt/format.h>

#include <filesystem>

#include "cnpg/cnpg.hpp"
#include "util/error.hpp"
#include "util/process.hpp"
#include "util/strict_yaml.hpp"

namespace pgshift::cnpg {
namespace {

// Every x-kubernetes-validations rule under `schema`, with the object path it applies to.
void collect_rules(const Json& schema, std::vector<std::string>& path, std::vector<CelRule>& out) {
  if (!schema.is_object()) return;
  if (const auto it = schema.find("x-kubernetes-validations"); it != schema.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.contains("rule")) out.push_back({path, v["rule"].get<std::string>(), v.value("message", "")});
    }
  }
  if (const auto it = schema.find("properties"); it != schema.end() && it->is_object()) {
    for (const auto& [name, sub] : it->items()) {
      path.push_back(name);
      collect_rules(sub, path, out);
      path.pop_back();
    }
  }
  for (auto [key, step] : {std::pair{"items", "[]"}, {"additionalProperties", "{}"}}) {
    if (const auto it = schema.find(key); it != schema.end() && it->is_object()) {
      path.push_back(step);
      collect_rules(*it, path, out);
      path.pop_back();
    }
  }
}

void add_crd(CrdSet& set, const Json& crd, const std::string& source) {
  const Json* spec = crd.contains("spec") ? &crd["spec"] : nullptr;
  if (!spec || !spec->contains("group") || !spec->contains("names") || !spec->contains("versions")) return;
  std::string group = (*spec)["group"].get<std::string>();
  std::string kind = (*spec)["names"].value("kind", "");
  for (const auto& v : (*spec)["versions"]) {
    if (!v.contains("schema") || !v["schema"].contains("openAPIV3Schema")) continue;
    const std::string key = fmt::format("{}/{}/{}", group, v.value("name", ""), kind);
    set.schemas[key] = strict_schema(v["schema"]["openAPIV3Schema"]);
    std::vector<std::string> path;
    collect_rules(v["schema"]["openAPIV3Schema"], path, set.rules[key]);
  }
  set.sources.push_back(source + ": " + kind);
}

void add_documents(CrdSet& set, const std::vector<Json>& docs, const std::string& source) {
  for (const auto& d : docs) {
    if (!d.is_object()) continue;
    std::string kind = d.value("kind", "");
    if (kind == "CustomResourceDefinition") add_crd(set, d, source);
    else if (kind == "List" && d.contains("items")) add_documents(set, d["items"].get<std::vector<Json>>(), source);
  }
}

}  // namespace

Json strict_schema(const Json& s) {
  if (s.is_array()) {
    Json out = Json::array();
    for (const auto& item : s) out.push_back(strict_schema(item));
    return out;
  }
  if (!s.is_object()) return s;
  Json out = Json::object();
  for (const auto& [k, v] : s.items()) {
    if (k == "properties" || k == "patternProperties" || k == "definitions") {
      Json props = Json::object();
      for (const auto& [name, sub] : v.items()) props[name] = strict_schema(sub);
      out[k] = props;
    } else if (k == "items" || k == "additionalProperties" || k == "not" || k == "allOf" || k == "anyOf" || k == "oneOf") {
      out[k] = strict_schema(v);
    } else if (!k.starts_with("x-kubernetes-") && k != "nullable") {
      out[k] = v;
    }
  }
  if (s.value("x-kubernetes-int-or-string", false)) {
    out.erase("type");
    out["anyOf"] = Json::array({{{"type", "integer"}}, {{"type", "string"}}});
  }
  if (s.value("nullable", false) && out.contains("type") && out["type"].is_string()) {
    out["type"] = Json::array({out["type"], "null"});
  }
  if (s.value("type", "") == "object" && s.contains("properties") && !s.contains("additionalProperties") &&
      !s.value("x-kubernetes-preserve-unknown-fields", false)) {
    out["additionalProperties"] = false;
  }
  return out;
}

CrdSet load_crds(const std::vector<std::string>& paths) {
  CrdSet set;
  for (const auto& path : paths) {
    std::vector<std::string> files;
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        std::string ext = entry.path().extension().string();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(entry.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const auto& f : files) add_documents(set, yaml_documents(util::read_text_file(f, "--crds"), f), f);
  }
  if (set.schemas.empty()) throw UsageError(fmt::format("--crds: no CustomResourceDefinition with a schema found in {}", fmt::join(paths, ", ")));
  return set;
}

CrdSet crds_from_kubectl() {
  util::ProcessSpec spec;
  spec.argv = {"kubectl", "get", "crd", "-o", "json"};
  util::RunResult r;
  try {
    r = util::run(spec, util::Millis(60'000));
  } catch (const std::exception& e) {
    throw RuntimeError(fmt::format("no --crds given and kubectl cannot run ({}): pass --crds DIR or a cnpg-X.Y.Z.yaml", e.what()));
  }
  if (r.exit_code != 0) {
    // kubectl's last line says why (the earlier ones repeat it with klog noise).
    std::string last;
    size_t end = r.err.find_last_not_of("\n ");
    if (end != std::string::npos) {
      size_t start = r.err.rfind('\n', end);
      last = r.err.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
    }
    throw RuntimeError(fmt::format("no --crds given and `kubectl get crd -o json` failed (exit {}): {}; pass --crds DIR "
                                   "or the release's cnpg-X.Y.Z.yaml",
                                   r.exit_code, last));
  }
  CrdSet set;
  add_documents(set, {Json::parse(r.out)}, "kubectl get crd");
  if (set.schemas.empty()) throw RuntimeError("kubectl get crd: the cluster has no CRD with a schema (is CloudNativePG installed?)");
  return set;
}

}  // namespace pgshift::cnpg
