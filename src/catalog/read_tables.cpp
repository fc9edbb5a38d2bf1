// Reads user tables with their columns, keys, unique indexes and replica identity.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "catalog/catalog.hpp"

namespace pgshift::catalog {
namespace {

// Schemas that never hold user data for a migration. pgshift's own state schema is on this
// list so the journal is never published.
constexpr std::string_view kUserRelationFilter = R"sql(
      n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
)sql";

// relkind r = table, p = partitioned table. Temporary tables are never migrated.
constexpr std::string_view kTablesSql = R"sql(
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind, c.relpersistence,
       c.relispartition AS is_partition,
       rn.nspname AS root_schema, rc.relname AS root_name,
       c.reltuples::bigint AS row_estimate,
       pg_total_relation_size(c.oid) AS size_bytes,
       c.relreplident,
       (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident) AS replident_index,
       EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
         AS extension_owned,
       EXISTS (SELECT 1 FROM pg_extension e WHERE c.oid = ANY (e.extconfig)) AS extension_config,
       pg_has_role(current_user, c.relowner, 'USAGE') AS owned,
       has_table_privilege(c.oid, 'SELECT') AS selectable
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class rc ON c.relispartition AND rc.oid = pg_partition_root(c.oid)
  LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND {filter}
 ORDER BY n.nspname, c.relname
)sql";

// Columns of user tables. Whether each column's type has equality is read separately
// (kTypeEqualitySql), once per distinct type.
constexpr std::string_view kColumnsSql = R"sql(
SELECT a.attrelid AS table_oid, a.attname AS name, a.attnum, a.atttypid AS type_oid,
       format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN t.typtype = 'd' THEN 'domain'
            WHEN t.typcategory = 'A' THEN 'array'
            WHEN t.typtype = 'e' THEN 'enum'
            WHEN t.typtype = 'c' THEN 'composite'
            WHEN t.typtype = 'r' THEN 'range'
            WHEN t.typtype = 'm' THEN 'multirange'
            WHEN t.typtype = 'p' THEN 'pseudo'
            ELSE 'base' END AS type_kind,
       CASE WHEN et.typtype = 'e' THEN format_type(et.oid, NULL) END AS enum_type,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS domain_base,
       a.attnotnull AS not_null,
       a.atthasdef AS has_default,
       a.attgenerated::text AS generated,
       a.attidentity::text AS identity
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  JOIN pg_type et ON et.oid = CASE WHEN bt.typcategory = 'A' AND bt.typelem <> 0 THEN bt.typelem
                                   ELSE bt.oid END
 WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND a.attnum > 0
   AND NOT a.attisdropped AND {filter}
 ORDER BY a.attrelid, a.attnum
)sql";

// Whether each column type has the equality the apply worker needs to find a row by REPLICA
// IDENTITY FULL: what PostgreSQL's type cache answers (lookup_type_cache's eq_opr), in SQL.
// A type is taken apart into leaves: a domain into its base type, an array into its element, a
// composite into its fields (array and record equality hold when their parts' do). A leaf has
// equality when it is an enum, range or multirange (generic equality), or has a default btree
// or hash operator class for itself or for a type it is binary-coercible to implicitly (varchar
// uses text's, cidr inet's, regclass oid's). Pseudo types (anyarray in a catalog row) have none.
// json, xml, point, box, line, circle, polygon, path, lseg, jsonpath, txid_snapshot, refcursor
// and arrays or composites of them have none. Tested against PostgreSQL's own answer for every
// built-in type (tests/integration/identity_equality_test.cpp).
constexpr std::string_view kTypeEqualitySql = R"sql(
WITH RECURSIVE roots AS (
  SELECT DISTINCT a.atttypid AS root
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND a.attnum > 0
     AND NOT a.attisdropped AND {filter}
),
parts(root, part) AS (
  SELECT root, root FROM roots
  UNION
  SELECT p.root, x.child
    FROM parts p JOIN pg_type ty ON ty.oid = p.part
   CROSS JOIN LATERAL (
     SELECT ty.typbasetype WHERE ty.typtype = 'd'
     UNION ALL SELECT ty.typelem WHERE ty.typtype <> 'd' AND ty.typcategory = 'A' AND ty.typelem <> 0
     UNION ALL SELECT a.atttypid FROM pg_attribute a
                WHERE ty.typtype = 'c' AND a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped
   ) AS x(child)
)
SELECT p.root AS type_oid,
       bool_and(lt.typtype IN ('e', 'r', 'm') OR lt.typtype <> 'p' AND EXISTS (
         SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
          WHERE oc.opcdefault AND am.amname IN ('btree', 'hash')
            AND (oc.opcintype = lt.oid OR EXISTS (
                  SELECT 1 FROM pg_cast k
                   WHERE k.castsource = lt.oid AND k.casttarget = oc.opcintype
                     AND k.castmethod = 'b' AND k.castcontext = 'i')))) AS has_equality
  FROM parts p JOIN pg_type lt ON lt.oid = p.part
 WHERE lt.typtype NOT IN ('d', 'c') AND NOT (lt.typcategory = 'A' AND lt.typelem <> 0)
 GROUP BY p.root
)sql";

constexpr std::string_view kUniqueIndexesSql = R"sql(
SELECT i.indrelid AS table_oid, ic.relname AS name, i.indisprimary AS is_primary,
       i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS has_expressions,
       i.indisvalid AS valid, i.indimmediate AS immediate,
       (SELECT coalesce(json_agg(a.attname ORDER BY k.ord), '[]')
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns,
       (SELECT coalesce(bool_and(a.attnotnull), false)
          FROM unnest(i.indkey::int2[]) AS k(attnum)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS all_not_null
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE i.indisunique AND c.relkind IN ('r', 'p') AND {filter}
 ORDER BY i.indrelid, i.indisprimary DESC, ic.relname
)sql";

std::string with_filter(std::string_view sql) {
  return fmt::format(fmt::runtime(sql), fmt::arg("filter", kUserRelationFilter));
}

ReplicaIdentity parse_identity(std::string_view c) {
  if (c == "f") return ReplicaIdentity::full;
  if (c == "i") return ReplicaIdentity::index;
  if (c == "n") return ReplicaIdentity::nothing;
  return ReplicaIdentity::default_key;
}

}  // namespace

std::vector<Table> read_tables(pg::Connection& conn) {
  std::vector<Table> tables;
  std::unordered_map<uint32_t, size_t> by_oid;

  pg::Result t = conn.exec(with_filter(kTablesSql));
  for (int i = 0; i < t.rows(); ++i) {
    pg::Row row = t.row(i);
    Table table;
    table.oid = static_cast<uint32_t>(row.int64("oid"));
    table.ref = {row.text("schema"), row.text("name")};
    bool partition = row.boolean("is_partition");
    table.kind = row.view("relkind") == "p" ? TableKind::partitioned
                 : partition                 ? TableKind::partition
                                             : TableKind::table;
    if (partition && !row.is_null("root_name")) {
      table.partition_root = TableRef{row.text("root_schema"), row.text("root_name")};
    }
    table.persistence = row.view("relpersistence") == "u" ? Persistence::unlogged : Persistence::permanent;
    table.row_estimate = row.int64("row_estimate");
    table.size_bytes = row.int64("size_bytes");
    table.replica_identity = parse_identity(row.view("relreplident"));
    table.replica_identity_index = row.text("replident_index");
    table.extension_owned = row.boolean("extension_owned");
    table.extension_config = row.boolean("extension_config");
    table.owned_by_current_user = row.boolean("owned");
    table.selectable = row.boolean("selectable");
    by_oid[table.oid] = tables.size();
    tables.push_back(std::move(table));
  }

  std::unordered_map<uint32_t, bool> type_equality;
  pg::Result e = conn.exec(with_filter(kTypeEqualitySql));
  for (int i = 0; i < e.rows(); ++i) {
    type_equality[static_cast<uint32_t>(e.row(i).int64("type_oid"))] = e.row(i).boolean("has_equality");
  }

  pg::Result c = conn.exec(with_filter(kColumnsSql));
  for (int i = 0; i < c.rows(); ++i) {
    pg::Row row = c.row(i);
    auto it = by_oid.find(static_cast<uint32_t>(row.int64("table_oid")));
    if (it == by_oid.end()) continue;
    Column col;
    col.name = row.text("name");
    col.attnum = static_cast<int>(row.int64("attnum"));
    col.type = row.text("type");
    col.type_kind = row.text("type_kind");
    col.enum_type = row.text("enum_type");
    col.domain_base = row.text("domain_base");
    col.not_null = row.boolean("not_null");
    col.has_default = row.boolean("has_default");
    std::string generated = row.text("generated");
    std::string identity = row.text("identity");
    col.generated = generated.empty() ? '\0' : generated[0];
    col.identity = identity.empty() ? '\0' : identity[0];
    auto eq = type_equality.find(static_cast<uint32_t>(row.int64("type_oid")));
    col.has_equality = eq == type_equality.end() || eq->second;
    tables[it->second].columns.push_back(std::move(col));
  }

  pg::Result u = conn.exec(with_filter(kUniqueIndexesSql));
  for (int i = 0; i < u.rows(); ++i) {
    pg::Row row = u.row(i);
    auto it = by_oid.find(static_cast<uint32_t>(row.int64("table_oid")));
    if (it == by_oid.end()) continue;
    UniqueIndex idx;
    idx.name = row.text("name");
    idx.primary = row.boolean("is_primary");
    idx.partial = row.boolean("partial");
    idx.has_expressions = row.boolean("has_expressions");
    idx.valid = row.boolean("valid");
    idx.immediate = row.boolean("immediate");
    idx.all_not_null = row.boolean("all_not_null");
    // indkey holds 0 for expression columns; those have no name and are dropped by the join.
    idx.columns = nlohmann::json::parse(row.view("columns")).get<std::vector<std::string>>();
    Table& table = tables[it->second];
    if (idx.primary) table.primary_key = idx.columns;
    table.unique_indexes.push_back(std::move(idx));
  }
  return tables;
}

}  // namespace pgshift::catalog
