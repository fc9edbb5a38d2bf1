// The recovery Cluster of a CloudNativePG drill, rendered from the live Cluster's JSON.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "backup/drill.hpp"
#include "cnpg/names.hpp"
#include "util/error.hpp"

namespace pgshift::backup {
namespace {

constexpr const char* kBarmanPlugin = "barman-cloud.cloudnative-pg.io";

void emit(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      emit(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& v : j) emit(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}

}  // namespace

std::string to_yaml(const nlohmann::json& doc) {
  YAML::Emitter out;
  emit(out, doc);
  return std::string(out.c_str()) + "\n";
}

nlohmann::json render_cnpg_recovery(const nlohmann::json& live, const std::string& suffix) {
  std::string name = live.value("/metadata/name"_json_pointer, "");
  std::string ns = live.value("/metadata/namespace"_json_pointer, "default");
  if (name.empty()) throw UsageError("the Cluster JSON has no metadata.name");
  std::string origin = name + "-origin";
  nlohmann::json external = {{"name", origin}};
  if (live.contains("/spec/backup/barmanObjectStore"_json_pointer)) {
    nlohmann::json store = live["/spec/backup/barmanObjectStore"_json_pointer];
    if (!store.contains("serverName")) store["serverName"] = name;
    external["barmanObjectStore"] = store;
  } else {
    for (const auto& p : live.value("/spec/plugins"_json_pointer, nlohmann::json::array())) {
      if (p.value("name", "") != kBarmanPlugin) continue;
      nlohmann::json params = p.value("parameters", nlohmann::json::object());
      nlohmann::json out_params = {{"barmanObjectName", params.value("barmanObjectName", "")},
                                   {"serverName", params.value("serverName", name)}};
      external["plugin"] = {{"name", kBarmanPlugin}, {"parameters", out_params}};
    }
  }
  if (!external.contains("barmanObjectStore") && !external.contains("plugin")) {
    throw UsageError(fmt::format("Cluster {}/{} has neither spec.backup.barmanObjectStore nor the barman-cloud plugin: "
                                 "no object store to recover from",
                                 ns, name));
  }
  std::string drill_name = cnpg::suffixed_name(name + "-drill", suffix);
  nlohmann::json spec = {
      {"instances", 1},
      {"bootstrap", {{"recovery", {{"source", origin}}}}},
      {"externalClusters", nlohmann::json::array({external})},
      {"storage", {{"size", live.value("/spec/storage/size"_json_pointer, "1Gi")}}},
  };
  std::string image = live.value("/spec/imageName"_json_pointer, live.value("/status/image"_json_pointer, ""));
  if (!image.empty()) spec["imageName"] = image;
  if (live.contains("/spec/storage/storageClass"_json_pointer)) spec["storage"]["storageClass"] = live["/spec/storage/storageClass"_json_pointer];
  if (live.contains("/spec/postgresql/parameters"_json_pointer)) {
    // The drill never archives or replicates out; everything else as live.
    nlohmann::json params = live["/spec/postgresql/parameters"_json_pointer];
    params["max_logical_replication_workers"] = "0";
    spec["postgresql"] = {{"parameters", params}};
  } else {
    spec["postgresql"] = {{"parameters", {{"max_logical_replication_workers", "0"}}}};
  }
  return {{"apiVersion", "postgresql.cnpg.io/v1"},
          {"kind", "Cluster"},
          {"metadata", {{"name", drill_name}, {"namespace", ns},
                        {"labels", {{"pgshift.io/drill", name}}},
                        {"annotations", {{"pgshift.io/drill-of", ns + "/" + name}}}}},
          {"spec", spec}};
}

}  // namespace pgshift::backup
