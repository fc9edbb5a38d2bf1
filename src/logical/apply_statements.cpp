// The statements pgshift's apply runs for each pgoutput change (see apply.hpp).
#include <fmt/format.h>

#include "logical/apply.hpp"
#include "pg/quote.hpp"

namespace pgshift::logical {
namespace {

using pgoutput::Tuple;
using pgoutput::Value;

std::string schema_of(const pgoutput::Relation& r) { return r.schema.empty() ? "pg_catalog" : r.schema; }

std::string table_sql(const ApplyTable& t) { return pg::qualified_name(schema_of(t.relation), t.relation.name); }

void check_width(const ApplyTable& t, const Tuple& row) {
  if (row.size() != t.relation.columns.size()) {
    throw RuntimeError(fmt::format("{}: a change carries {} column(s), the relation message {}", t.display(), row.size(),
                                   t.relation.columns.size()));
  }
}

// "$n::type", binding the value.
std::string bind(const ApplyTable& t, size_t column, const Value& v, pg::Params& params) {
  params.emplace_back(v.kind == Value::Kind::null ? pg::Param(std::nullopt) : pg::Param(v.text));
  return fmt::format("${}::{}", params.size(), t.type_names.at(column));
}

std::string shorten(const std::string& text) {
  return text.size() <= 64 ? text : text.substr(0, 61) + "...";
}

// The row's identity: every key column that has a value in `key_row` (old tuple 'K' holds only
// the key's values; 'O' and the new tuple hold all). Conditions use '=' (IS NULL for a null in a
// FULL identity); an unchanged-TOAST value cannot be compared and is left out.
struct Where {
  std::string sql;
  std::string key;
};
Where where_clause(const ApplyTable& t, const Tuple& key_row, pg::Params& params) {
  std::string conditions, names, values;
  for (size_t i = 0; i < t.relation.columns.size(); ++i) {
    const auto& column = t.relation.columns[i];
    const Value& v = key_row[i];
    if (!column.key || v.kind == Value::Kind::unchanged_toast) continue;
    std::string name = pg::quote_ident(column.name);
    conditions += conditions.empty() ? "" : " AND ";
    conditions += v.kind == Value::Kind::null ? name + " IS NULL" : name + " = " + bind(t, i, v, params);
    names += (names.empty() ? "" : ", ") + column.name;
    values += (values.empty() ? "" : ", ") + (v.kind == Value::Kind::null ? std::string("NULL") : shorten(v.text));
  }
  if (conditions.empty()) {
    throw RuntimeError(fmt::format("{}: no replica identity column to find the row by (REPLICA IDENTITY {})",
                                   t.display(), t.relation.replica_identity == 'n' ? "NOTHING" : "without key"));
  }
  Where w;
  w.key = fmt::format("({})=({})", names, values);
  if (t.relation.replica_identity == 'f') {
    // Without a key several rows may match; change one, as the native apply does. tableoid too:
    // a partitioned table's leaves each have their own ctids.
    w.sql = fmt::format("(tableoid, ctid) = (SELECT tableoid, ctid FROM {} WHERE {} LIMIT 1)", table_sql(t), conditions);
  } else {
    w.sql = std::move(conditions);
  }
  return w;
}

const Tuple& key_tuple(const ApplyTable& t, char old_kind, const Tuple& old_row, const Tuple& row) {
  if (old_kind != 0) {
    check_width(t, old_row);
    return old_row;
  }
  return row;
}

}  // namespace

std::string ApplyTable::display() const { return pg::display_name(schema_of(relation), relation.name); }

ApplyStatement insert_statement(const ApplyTable& t, const pgoutput::Insert& change) {
  check_width(t, change.row);
  ApplyStatement s;
  std::string columns, values;
  for (size_t i = 0; i < change.row.size(); ++i) {
    if (change.row[i].kind == Value::Kind::unchanged_toast) continue;  // never sent for an INSERT
    columns += (columns.empty() ? "" : ", ") + pg::quote_ident(t.relation.columns[i].name);
    values += (values.empty() ? "" : ", ") + bind(t, i, change.row[i], s.params);
  }
  s.sql = columns.empty() ? fmt::format("INSERT INTO {} DEFAULT VALUES", table_sql(t))
                          : fmt::format("INSERT INTO {} ({}) VALUES ({})", table_sql(t), columns, values);
  return s;
}

bool is_ddl_log(const ApplyTable& t) { return t.relation.schema == "pgshift" && t.relation.name == "ddl_log"; }

ApplyStatement ddl_log_insert_statement(const ApplyTable& t, const pgoutput::Insert& change) {
  ApplyStatement s = insert_statement(t, change);
  // RETURNING the target's whole row gives it the type pgshift.ddl_log (a CTE's row is a record).
  s.sql = fmt::format("WITH entry AS ({} RETURNING ddl_log AS e) SELECT pgshift.ddl_apply_entry(e) FROM entry", s.sql);
  return s;
}

ApplyStatement update_statement(const ApplyTable& t, const pgoutput::Update& change) {
  check_width(t, change.row);
  ApplyStatement s;
  std::string set;
  for (size_t i = 0; i < change.row.size(); ++i) {
    if (change.row[i].kind == Value::Kind::unchanged_toast) continue;  // the source keeps its value
    set += (set.empty() ? "" : ", ") + pg::quote_ident(t.relation.columns[i].name) + " = " +
           bind(t, i, change.row[i], s.params);
  }
  Where w = where_clause(t, key_tuple(t, change.old_kind, change.old_row, change.row), s.params);
  if (set.empty()) {
    // Nothing to set (every column unchanged TOAST): still prove the row is there.
    s.sql = fmt::format("SELECT 1 FROM {} WHERE {}", table_sql(t), w.sql);
  } else {
    s.sql = fmt::format("UPDATE {} SET {} WHERE {}", table_sql(t), set, w.sql);
  }
  s.key = std::move(w.key);
  return s;
}

ApplyStatement delete_statement(const ApplyTable& t, const pgoutput::Delete& change) {
  check_width(t, change.old_row);
  ApplyStatement s;
  Where w = where_clause(t, change.old_row, s.params);
  s.sql = fmt::format("DELETE FROM {} WHERE {}", table_sql(t), w.sql);
  s.key = std::move(w.key);
  return s;
}

ApplyStatement truncate_statement(const std::vector<const ApplyTable*>& tables, const pgoutput::Truncate& change) {
  std::string list;
  for (const ApplyTable* t : tables) list += (list.empty() ? "" : ", ") + table_sql(*t);
  ApplyStatement s;
  s.sql = fmt::format("TRUNCATE {}{}", list,
                      (change.options & pgoutput::Truncate::kRestartIdentity) ? " RESTART IDENTITY" : "");
  return s;
}

}  // namespace pgshift::logical
