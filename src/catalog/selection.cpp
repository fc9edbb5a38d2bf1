// Table patterns and the choice of tables a migration replicates.
#include <fnmatch.h>

#include <algorithm>

#include "catalog/catalog.hpp"
#include "catalog/providers.hpp"

namespace pgshift::catalog {

TablePattern::TablePattern(std::string pattern) : text_(std::move(pattern)) {
  // A dot inside brackets or quotes is rare in table patterns; the first unquoted dot splits.
  size_t dot = text_.find('.');
  if (dot == std::string::npos) {
    name_ = text_;
  } else {
    schema_ = text_.substr(0, dot);
    name_ = text_.substr(dot + 1);
  }
}

bool TablePattern::matches(const TableRef& table) const {
  if (!schema_.empty() && fnmatch(schema_.c_str(), table.schema.c_str(), 0) != 0) return false;
  return fnmatch(name_.c_str(), table.name.c_str(), 0) == 0;
}

bool matches_any(const std::vector<TablePattern>& patterns, const TableRef& table) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return p.matches(table); });
}

std::string to_string(LeftOutReason reason) {
  switch (reason) {
    case LeftOutReason::excluded: return "excluded";
    case LeftOutReason::unlogged: return "unlogged";
    case LeftOutReason::source_only: return "source_only";
    case LeftOutReason::target_only: return "target_only";
    case LeftOutReason::via_root: return "via_root";
    case LeftOutReason::extension_owned: return "extension_owned";
    case LeftOutReason::provider_schema: return "provider_schema";
  }
  return "unknown";
}

std::string explain(LeftOutReason reason) {
  switch (reason) {
    case LeftOutReason::excluded: return "excluded by pattern";
    case LeftOutReason::unlogged: return "unlogged tables are not written to WAL and cannot be replicated";
    case LeftOutReason::source_only: return "exists on the source only; create it on the target to include it";
    case LeftOutReason::target_only: return "exists on the target only";
    case LeftOutReason::via_root: return "partition, replicated through its partitioned root";
    case LeftOutReason::extension_owned: return "belongs to an extension, which manages its contents";
    case LeftOutReason::provider_schema: return "provider schema, left out";
  }
  return "";
}

bool TableSelection::contains(const TableRef& table) const {
  return std::binary_search(replicated.begin(), replicated.end(), table);
}

TableSelection select_tables(const Snapshot& source, const Snapshot& target,
                             const std::vector<TablePattern>& excludes) {
  TableSelection sel;
  auto excluded_by = [&](const TableRef& ref) -> const TablePattern* {
    for (const auto& p : excludes) {
      if (p.matches(ref)) return &p;
    }
    return nullptr;
  };
  const ProviderSchemas source_provider = provider_schemas(source);
  const ProviderSchemas target_provider = provider_schemas(target);
  for (const auto& t : source.tables) {
    if (source_provider.contains(t.ref.schema)) {
      sel.left_out.push_back({t.ref, LeftOutReason::provider_schema, source_provider.provider});
    } else if (const TablePattern* p = excluded_by(t.ref)) {
      sel.left_out.push_back({t.ref, LeftOutReason::excluded, p->text()});
    } else if (t.kind == TableKind::partition && t.partition_root) {
      const TablePattern* root_pattern = excluded_by(*t.partition_root);
      if (root_pattern) {
        sel.left_out.push_back({t.ref, LeftOutReason::excluded, root_pattern->text()});
      } else {
        sel.left_out.push_back({t.ref, LeftOutReason::via_root, t.partition_root->display()});
      }
    } else if (t.extension_owned) {
      sel.left_out.push_back({t.ref, LeftOutReason::extension_owned, ""});
    } else if (t.persistence == Persistence::unlogged) {
      sel.left_out.push_back({t.ref, LeftOutReason::unlogged, ""});
    } else if (!target.table(t.ref)) {
      sel.left_out.push_back({t.ref, LeftOutReason::source_only, ""});
    } else {
      sel.replicated.push_back(t.ref);
    }
  }
  for (const auto& t : target.tables) {
    if (t.kind == TableKind::partition) continue;
    if (target_provider.contains(t.ref.schema)) {
      // Unless the source's own copy of it was already listed.
      if (!source.table(t.ref)) sel.left_out.push_back({t.ref, LeftOutReason::provider_schema, target_provider.provider});
      continue;
    }
    if (source.table(t.ref)) continue;
    sel.left_out.push_back({t.ref, LeftOutReason::target_only, ""});
  }
  std::sort(sel.replicated.begin(), sel.replicated.end());
  std::sort(sel.left_out.begin(), sel.left_out.end(),
            [](const LeftOut& a, const LeftOut& b) { return a.table < b.table; });
  return sel;
}

}  // namespace pgshift::catalog
