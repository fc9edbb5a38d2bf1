// Fingerprints and schema differences between a source and a target snapshot.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "catalog/catalog.hpp"
#include "catalog/providers.hpp"

namespace pgshift::catalog {

std::string fingerprint(const Table& table) {
  std::vector<const Column*> cols;
  for (const auto& c : table.columns) cols.push_back(&c);
  std::sort(cols.begin(), cols.end(), [](auto* a, auto* b) { return a->name < b->name; });
  // FNV-1a 64: stable across processes and machines (std::hash is not).
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // field separator
    h *= 1099511628211ULL;
  };
  for (const Column* c : cols) {
    mix(c->name);
    mix(c->type);
    mix(std::string(1, c->generated ? c->generated : '-'));
  }
  return fmt::format("{:016x}", h);
}

bool SchemaDiff::empty() const {
  return missing_on_target.empty() && extra_on_target.empty() && columns.empty() && enums.empty() &&
         missing_sequences.empty();
}

std::string to_string(ColumnDifference::Kind kind) {
  switch (kind) {
    case ColumnDifference::Kind::missing_on_target: return "missing_on_target";
    case ColumnDifference::Kind::extra_on_target: return "extra_on_target";
    case ColumnDifference::Kind::type_mismatch: return "type_mismatch";
    case ColumnDifference::Kind::generated_mismatch: return "generated_mismatch";
  }
  return "unknown";
}

std::string describe(const ColumnDifference& d) {
  std::string where = d.table.display() + "." + d.column;
  switch (d.kind) {
    case ColumnDifference::Kind::missing_on_target:
      return fmt::format("{}: on the source ({}) but not on the target", where, d.source_type);
    case ColumnDifference::Kind::extra_on_target:
      return fmt::format("{}: on the target ({}{}) but not on the source", where, d.target_type,
                         d.target_requires_value ? ", NOT NULL without default" : "");
    case ColumnDifference::Kind::type_mismatch:
      return fmt::format("{}: {} on the source, {} on the target", where, d.source_type, d.target_type);
    case ColumnDifference::Kind::generated_mismatch:
      return fmt::format("{}: generated on one side only", where);
  }
  return where;
}

std::vector<ColumnDifference> diff_table(const Table& source, const Table& target) {
  std::vector<ColumnDifference> out;
  for (const auto& sc : source.columns) {
    const Column* tc = target.column(sc.name);
    if (!tc) {
      out.push_back({source.ref, sc.name, ColumnDifference::Kind::missing_on_target, sc.type, "", false});
    } else if (sc.type != tc->type) {
      out.push_back({source.ref, sc.name, ColumnDifference::Kind::type_mismatch, sc.type, tc->type, false});
    } else if ((sc.generated != '\0') != (tc->generated != '\0')) {
      out.push_back({source.ref, sc.name, ColumnDifference::Kind::generated_mismatch, sc.type, tc->type, false});
    }
  }
  for (const auto& tc : target.columns) {
    if (source.column(tc.name)) continue;
    bool requires_value = tc.not_null && !tc.has_default && tc.generated == '\0' && tc.identity == '\0';
    out.push_back({source.ref, tc.name, ColumnDifference::Kind::extra_on_target, "", tc.type, requires_value});
  }
  return out;
}

SchemaDiff diff_schemas(const Snapshot& source, const Snapshot& target) {
  SchemaDiff d;
  const ProviderSchemas provider = provider_schemas(source);
  for (const auto& st : source.tables) {
    if (provider.contains(st.ref.schema)) continue;
    const Table* tt = target.table(st.ref);
    if (!tt) {
      d.missing_on_target.push_back(st.ref);
      continue;
    }
    auto cols = diff_table(st, *tt);
    d.columns.insert(d.columns.end(), cols.begin(), cols.end());
  }
  for (const auto& tt : target.tables) {
    if (!source.table(tt.ref) && !provider.contains(tt.ref.schema)) d.extra_on_target.push_back(tt.ref);
  }
  for (const auto& se : source.enums) {
    // format_type() qualifies every user type: "schema.name" (quoted parts when needed).
    if (provider.contains(se.name.substr(0, se.name.find('.')))) continue;
    const EnumType* te = target.enum_type(se.name);
    EnumDifference ed{se.name, te == nullptr, {}};
    if (te) {
      std::set<std::string> have(te->labels.begin(), te->labels.end());
      for (const auto& label : se.labels) {
        if (!have.count(label)) ed.missing_labels.push_back(label);
      }
    }
    if (ed.missing_on_target || !ed.missing_labels.empty()) d.enums.push_back(std::move(ed));
  }
  for (const auto& ss : source.sequences) {
    if (provider.contains(ss.ref.schema)) continue;
    if (!target.sequence(ss.ref)) d.missing_sequences.push_back(ss.ref);
  }
  return d;
}

}  // namespace pgshift::catalog
