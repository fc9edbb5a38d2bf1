// Validates documents against the CRD schemas with valijson (JSON Schema draft 4, which the
// Kubernetes structural schemas follow) and the CRDs' CEL rules, then applies the webhook rules.
#define VALIJSON_USE_EXCEPTIONS 1
#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <memory>

#include "cnpg/cel.hpp"
#include "cnpg/cnpg.hpp"
#include "util/strict_yaml.hpp"

namespace pgshift::cnpg {
namespace {

// Parsed schemas, by CRD key, for the life of the process (lint reads a handful of CRDs).
valijson::Schema& compiled(const std::string& key, const Json& schema) {
  static std::map<std::string, std::unique_ptr<valijson::Schema>> cache;
  static std::map<std::string, nlohmann::json> documents;  // the adapter refers into them
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  nlohmann::json& doc = documents[key] = nlohmann::json::parse(schema.dump());
  auto compiled_schema = std::make_unique<valijson::Schema>();
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft4);
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  parser.populateSchema(adapter, *compiled_schema);
  return *(cache[key] = std::move(compiled_schema));
}

std::string context_path(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& c : context) {
    if (c == "<root>") continue;
    std::string part = c;
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') part = part.substr(1, part.size() - 2);
    bool index = !part.empty() && std::all_of(part.begin(), part.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
    out += index ? "[" + part + "]" : (out.empty() ? "" : ".") + part;
  }
  return out.empty() ? "(document)" : out;
}

}  // namespace

std::vector<Problem> validate_schema(const Json& doc, const CrdSet& crds, const std::string& where) {
  std::string key = fmt::format("{}/{}", doc.value("apiVersion", "?"), doc.value("kind", "?"));
  auto it = crds.schemas.find(key);
  if (it == crds.schemas.end()) {
    return {{where, "apiVersion", fmt::format("no CRD schema for {} (give --crds with its CustomResourceDefinition)", key), "schema"}};
  }
  valijson::Schema& schema = compiled(key, it->second);
  nlohmann::json target = nlohmann::json::parse(doc.dump());
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(target);
  std::vector<Problem> out;
  if (validator.validate(schema, adapter, &results)) return out;
  valijson::ValidationResults::Error e;
  std::set<std::string> seen;
  std::vector<Problem> cascades;  // "failed to validate against schema associated with ..." of the parents
  while (results.popError(e)) {
    std::string path = context_path(e.context);
    if (!seen.insert(path + e.description).second) continue;
    bool cascade = e.description.starts_with("Failed to validate against schema associated with") ||
                   e.description.starts_with("Failed to validate item") ||
                   e.description.starts_with("Failed to validate against child schema");
    (cascade ? cascades : out).push_back({where, path, e.description, "schema"});
  }
  return out.empty() ? cascades : out;
}

namespace {

// Every node of `doc` at `path` (expanding "[]" and "{}"), with its dotted path.
void nodes_at(const Json& node, const std::vector<std::string>& path, size_t i, const std::string& at,
              std::vector<std::pair<const Json*, std::string>>& out) {
  if (i == path.size()) {
    out.emplace_back(&node, at.empty() ? "(document)" : at);
    return;
  }
  const std::string& step = path[i];
  if (step == "[]") {
    if (!node.is_array()) return;
    for (size_t k = 0; k < node.size(); ++k) nodes_at(node[k], path, i + 1, fmt::format("{}[{}]", at, k), out);
  } else if (step == "{}") {
    if (!node.is_object()) return;
    for (const auto& [k, v] : node.items()) nodes_at(v, path, i + 1, at + "." + k, out);
  } else if (node.is_object() && node.contains(step)) {
    nodes_at(node[step], path, i + 1, at.empty() ? step : at + "." + step, out);
  }
}

}  // namespace

std::vector<Problem> cel_rules(const Json& doc, const CrdSet& crds, const std::string& where) {
  std::vector<Problem> out;
  auto it = crds.rules.find(fmt::format("{}/{}", doc.value("apiVersion", "?"), doc.value("kind", "?")));
  if (it == crds.rules.end()) return out;
  for (const auto& rule : it->second) {
    if (cel::is_transition_rule(rule.rule)) continue;
    std::vector<std::pair<const Json*, std::string>> nodes;
    nodes_at(doc, rule.path, 0, "", nodes);
    for (const auto& [node, path] : nodes) {
      try {
        Json v = cel::evaluate(rule.rule, *node);
        if (!v.is_boolean() || !v.get<bool>()) out.push_back({where, path, rule.message.empty() ? "failed rule: " + rule.rule : rule.message, "cel"});
      } catch (const cel::EvalError& e) {
        out.push_back({where, path, fmt::format("{} (rule {} could not be evaluated: {})", rule.message, rule.rule, e.what()), "cel"});
      } catch (const cel::Unsupported& e) {
        out.push_back({where, path, fmt::format("CEL rule {} is outside what lint evaluates ({}): check it with the API "
                                                "server (kubectl apply --dry-run=server)", rule.rule, e.what()), "cel"});
      }
    }
  }
  return out;
}

std::vector<Problem> lint_files(const std::vector<std::string>& files, const CrdSet& crds) {
  std::vector<Problem> out;
  for (const auto& file : files) {
    std::vector<Json> docs = yaml_documents(util::read_text_file(file, "lint"), file);
    for (size_t i = 0; i < docs.size(); ++i) {
      const Json& d = docs[i];
      std::string name = d.is_object() && d.contains("metadata") ? d["metadata"].value("name", "?") : "?";
      std::string where = fmt::format("{}: document {} ({} {})", file, i + 1, d.is_object() ? d.value("kind", "?") : "?", name);
      // Kubernetes' own kinds have no CRD (the tests validate them against Kubernetes' schemas);
      // the prometheus-operator's are checked when --crds holds their CRDs.
      const std::string key = d.is_object() ? fmt::format("{}/{}", d.value("apiVersion", "?"), d.value("kind", "?")) : "?";
      const bool known = builtin_kind(key) || (optional_crd_kind(key) && !crds.schemas.count(key));
      if (!known) {
        for (auto& p : validate_schema(d, crds, where)) out.push_back(std::move(p));
        for (auto& p : cel_rules(d, crds, where)) out.push_back(std::move(p));
      }
      for (auto& p : webhook_rules(d, where)) out.push_back(std::move(p));
      for (auto& p : window_rules(d, where)) out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace pgshift::cnpg
