#include "catalog/model.hpp"

#include <algorithm>

#include "pg/quote.hpp"

namespace pgshift::catalog {

std::string TableRef::display() const { return pg::display_name(schema, name); }
std::string TableRef::quoted() const { return pg::qualified_name(schema, name); }

std::string to_string(TableKind kind) {
  switch (kind) {
    case TableKind::table: return "table";
    case TableKind::partitioned: return "partitioned";
    case TableKind::partition: return "partition";
  }
  return "table";
}

std::string to_string(Persistence persistence) {
  switch (persistence) {
    case Persistence::permanent: return "permanent";
    case Persistence::unlogged: return "unlogged";
    case Persistence::temporary: return "temporary";
  }
  return "permanent";
}

std::string to_string(ReplicaIdentity identity) {
  switch (identity) {
    case ReplicaIdentity::default_key: return "default";
    case ReplicaIdentity::full: return "full";
    case ReplicaIdentity::index: return "index";
    case ReplicaIdentity::nothing: return "nothing";
  }
  return "default";
}

bool UniqueIndex::usable_as_identity() const {
  return valid && immediate && !partial && !has_expressions && all_not_null && !columns.empty();
}

const Column* Table::column(const std::string& column_name) const {
  for (const auto& c : columns) {
    if (c.name == column_name) return &c;
  }
  return nullptr;
}

const UniqueIndex* Table::identity_candidate() const {
  const UniqueIndex* best = nullptr;
  for (const auto& idx : unique_indexes) {
    if (idx.primary || !idx.usable_as_identity()) continue;
    // Fewest columns first, then name: a narrow key makes the smallest WAL records.
    if (!best || idx.columns.size() < best->columns.size()) best = &idx;
  }
  return best;
}

bool Table::has_usable_identity() const {
  switch (replica_identity) {
    case ReplicaIdentity::full: return true;
    case ReplicaIdentity::index: return !replica_identity_index.empty();
    case ReplicaIdentity::nothing: return false;
    case ReplicaIdentity::default_key: return !primary_key.empty();
  }
  return false;
}

const Table* Snapshot::table(const TableRef& ref) const {
  for (const auto& t : tables) {
    if (t.ref == ref) return &t;
  }
  return nullptr;
}

const Sequence* Snapshot::sequence(const TableRef& ref) const {
  for (const auto& s : sequences) {
    if (s.ref == ref) return &s;
  }
  return nullptr;
}

const EnumType* Snapshot::enum_type(const std::string& type_name) const {
  for (const auto& e : enums) {
    if (e.name == type_name) return &e;
  }
  return nullptr;
}

const Extension* Snapshot::extension(const std::string& ext_name) const {
  for (const auto& e : extensions) {
    if (e.name == ext_name) return &e;
  }
  return nullptr;
}

}  // namespace pgshift::catalog
