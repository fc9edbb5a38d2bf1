// Validates documents against the CRD schemas with valijson (JSON Schema draft 4, which the
// Kubernetes structural schemas follow), then applies the webhook rules.
#define VALIJSON_USE_EXCEPTIONS 1
#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <memory>

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

std::vector<Problem> lint_files(const std::vector<std::string>& files, const CrdSet& crds) {
  std::vector<Problem> out;
  for (const auto& file : files) {
    std::vector<Json> docs = yaml_documents(util::read_text_file(file, "lint"), file);
    for (size_t i = 0; i < docs.size(); ++i) {
      const Json& d = docs[i];
      std::string name = d.is_object() && d.contains("metadata") ? d["metadata"].value("name", "?") : "?";
      std::string where = fmt::format("{}: document {} ({} {})", file, i + 1, d.is_object() ? d.value("kind", "?") : "?", name);
      for (auto& p : validate_schema(d, crds, where)) out.push_back(std::move(p));
      for (auto& p : webhook_rules(d, where)) out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace pgshift::cnpg
