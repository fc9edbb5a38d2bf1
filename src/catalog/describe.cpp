// catalog::list_schemas / list_tables / describe_table: each is one query that builds its JSON
// document on the server (json_agg), so the shape is stated once, in the SQL.
#include "catalog/describe.hpp"

#include "util/utf8.hpp"

namespace pgshift::catalog {
namespace {

// Schemas nobody browses: PostgreSQL's own, and pgshift's state (never read, never published).
#define PGSHIFT_USER_SCHEMA(n)                                                              \
  "(" n ".nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND " n ".nspname " \
  "NOT LIKE 'pg\\_toast%' AND " n ".nspname NOT LIKE 'pg\\_temp\\_%')"

constexpr std::string_view kListSchemas = R"sql(
SELECT coalesce(json_agg(json_build_object(
         'name', n.nspname,
         'owner', pg_get_userbyid(n.nspowner),
         'relations', (SELECT count(*) FROM pg_class c
                       WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')),
         'comment', obj_description(n.oid, 'pg_namespace')) ORDER BY n.nspname), '[]')::text
FROM pg_namespace n
WHERE )sql" PGSHIFT_USER_SCHEMA("n");

// Partitions are listed with the table they belong to; reltuples is -1 (15+) or 0 with
// relpages 0 (13, 14) when the table was never analyzed.
constexpr std::string_view kListTables = R"sql(
WITH t AS (
  SELECT n.nspname AS schema, c.relname AS name,
         CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                        WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END AS kind,
         (SELECT pn.nspname || '.' || pc.relname FROM pg_inherits i
            JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
          WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS partition_of,
         CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_total_relation_size(c.oid) END AS size_bytes,
         CASE WHEN c.relkind IN ('r', 'm', 'f') AND c.reltuples >= 0 AND NOT (c.reltuples = 0 AND c.relpages = 0)
              THEN c.reltuples::bigint END AS row_estimate,
         obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ($1::text IS NULL OR n.nspname = $1)
    AND )sql" PGSHIFT_USER_SCHEMA("n") R"sql(
  ORDER BY 1, 2
  LIMIT $2::int + 1
)
SELECT coalesce(json_agg(to_json(t) ORDER BY t.schema, t.name), '[]')::text FROM t
)sql";

// Column names of a key, in key order.
#define PGSHIFT_KEY_COLUMNS(keys, rel)                                                        \
  "ARRAY(SELECT a.attname FROM unnest(" keys ") WITH ORDINALITY k(num, ord) JOIN pg_attribute a " \
  "ON a.attrelid = " rel " AND a.attnum = k.num ORDER BY k.ord)"

constexpr std::string_view kDescribeTable = R"sql(
WITH rel AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples, c.relpages, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND )sql" PGSHIFT_USER_SCHEMA("n") R"sql(
)
SELECT json_build_object(
  'schema', rel.nspname,
  'name', rel.relname,
  'kind', CASE rel.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                           WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END,
  'row_estimate', CASE WHEN rel.relkind IN ('r', 'm', 'f') AND rel.reltuples >= 0
                        AND NOT (rel.reltuples = 0 AND rel.relpages = 0) THEN rel.reltuples::bigint
                        WHEN rel.relkind = 'p' THEN (SELECT sum(pc.reltuples)::bigint FROM pg_partition_tree(rel.oid) t
                                                     JOIN pg_class pc ON pc.oid = t.relid
                                                     WHERE t.isleaf AND pc.reltuples >= 0
                                                       AND NOT (pc.reltuples = 0 AND pc.relpages = 0)) END,
  'size_bytes', CASE WHEN rel.relkind IN ('r', 'm') THEN pg_total_relation_size(rel.oid)
                     WHEN rel.relkind = 'p' THEN (SELECT sum(pg_total_relation_size(t.relid))::bigint
                                                  FROM pg_partition_tree(rel.oid) t) END,
  'table_bytes', CASE WHEN rel.relkind IN ('r', 'm') THEN pg_table_size(rel.oid) END,
  'index_bytes', CASE WHEN rel.relkind IN ('r', 'm', 'p') THEN pg_indexes_size(rel.oid) END,
  'comment', obj_description(rel.oid, 'pg_class'),
  'columns', (SELECT coalesce(json_agg(json_build_object(
                'name', a.attname,
                'type', format_type(a.atttypid, a.atttypmod),
                'nullable', NOT a.attnotnull,
                'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
                'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
                'generated', CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
                'comment', col_description(a.attrelid, a.attnum)) ORDER BY a.attnum), '[]')
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'primary_key', coalesce((SELECT to_json()sql" PGSHIFT_KEY_COLUMNS("con.conkey", "con.conrelid") R"sql() FROM pg_constraint con
                           WHERE con.conrelid = rel.oid AND con.contype = 'p'), '[]'),
  'foreign_keys', (SELECT coalesce(json_agg(json_build_object(
                     'name', con.conname,
                     'columns', )sql" PGSHIFT_KEY_COLUMNS("con.conkey", "con.conrelid") R"sql(,
                     'references', json_build_object('schema', fn.nspname, 'table', fc.relname,
                                                     'columns', )sql" PGSHIFT_KEY_COLUMNS("con.confkey", "con.confrelid") R"sql(),
                     'definition', pg_get_constraintdef(con.oid)) ORDER BY con.conname), '[]')
                   FROM pg_constraint con JOIN pg_class fc ON fc.oid = con.confrelid
                   JOIN pg_namespace fn ON fn.oid = fc.relnamespace
                   WHERE con.conrelid = rel.oid AND con.contype = 'f'),
  'referenced_by', (SELECT coalesce(json_agg(json_build_object(
                      'name', con.conname, 'schema', sn.nspname, 'table', sc.relname,
                      'columns', )sql" PGSHIFT_KEY_COLUMNS("con.conkey", "con.conrelid") R"sql(,
                      'referenced_columns', )sql" PGSHIFT_KEY_COLUMNS("con.confkey", "con.confrelid") R"sql(,
                      'definition', pg_get_constraintdef(con.oid)) ORDER BY sn.nspname, sc.relname, con.conname), '[]')
                    FROM pg_constraint con JOIN pg_class sc ON sc.oid = con.conrelid
                    JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                    WHERE con.confrelid = rel.oid AND con.contype = 'f'),
  'indexes', (SELECT coalesce(json_agg(json_build_object(
                'name', ic.relname, 'definition', pg_get_indexdef(x.indexrelid), 'method', am.amname,
                'primary', x.indisprimary, 'unique', x.indisunique, 'valid', x.indisvalid,
                'size_bytes', pg_relation_size(x.indexrelid),
                'scans', (SELECT st.idx_scan FROM pg_stat_all_indexes st WHERE st.indexrelid = x.indexrelid))
                ORDER BY ic.relname), '[]')
              FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_am am ON am.oid = ic.relam
              WHERE x.indrelid = rel.oid),
  'constraints', (SELECT coalesce(json_agg(json_build_object(
                    'name', con.conname,
                    'type', CASE con.contype WHEN 'u' THEN 'unique' WHEN 'c' THEN 'check' ELSE 'exclusion' END,
                    'columns', )sql" PGSHIFT_KEY_COLUMNS("con.conkey", "con.conrelid") R"sql(,
                    'definition', pg_get_constraintdef(con.oid), 'validated', con.convalidated)
                    ORDER BY con.contype DESC, con.conname), '[]')
                  FROM pg_constraint con WHERE con.conrelid = rel.oid AND con.contype IN ('u', 'c', 'x')),
  'triggers', (SELECT coalesce(json_agg(json_build_object(
                 'name', t.tgname, 'definition', pg_get_triggerdef(t.oid),
                 'enabled', CASE t.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica only'
                                             WHEN 'A' THEN 'always' ELSE 'enabled' END) ORDER BY t.tgname), '[]')
               FROM pg_trigger t WHERE t.tgrelid = rel.oid AND NOT t.tgisinternal),
  'row_security', json_build_object('enabled', rel.relrowsecurity, 'forced', rel.relforcerowsecurity),
  'policies', (SELECT coalesce(json_agg(json_build_object(
                 'name', p.polname,
                 'command', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                          WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                 'permissive', p.polpermissive,
                 'roles', CASE WHEN p.polroles = '{0}' THEN to_json(ARRAY['public'])
                               ELSE to_json(ARRAY(SELECT r.rolname::text FROM pg_roles r WHERE r.oid = ANY (p.polroles)
                                                  ORDER BY r.rolname)) END,
                 'using', pg_get_expr(p.polqual, p.polrelid),
                 'with_check', pg_get_expr(p.polwithcheck, p.polrelid)) ORDER BY p.polname), '[]')
               FROM pg_policy p WHERE p.polrelid = rel.oid),
  'partition_key', CASE WHEN rel.relkind = 'p' THEN pg_get_partkeydef(rel.oid) END,
  'partition_of', (SELECT json_build_object('schema', pn.nspname, 'table', pc.relname,
                                            'bound', pg_get_expr(me.relpartbound, me.oid))
                   FROM pg_class me JOIN pg_inherits i ON i.inhrelid = me.oid
                   JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                   WHERE me.oid = rel.oid AND me.relispartition),
  'partitions', (SELECT coalesce(json_agg(json_build_object(
                   'schema', pn.nspname, 'table', pc.relname, 'bound', pg_get_expr(pc.relpartbound, pc.oid),
                   'size_bytes', pg_total_relation_size(pc.oid)) ORDER BY pn.nspname, pc.relname), '[]')
                 FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhrelid
                 JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                 WHERE i.inhparent = rel.oid)
)::text
FROM rel
)sql";

#undef PGSHIFT_KEY_COLUMNS
#undef PGSHIFT_USER_SCHEMA

nlohmann::json parse(std::string_view text) { return nlohmann::json::parse(util::sanitize_utf8(text)); }

}  // namespace

nlohmann::json list_schemas(pg::Connection& conn) { return parse(conn.exec(kListSchemas).scalar()); }

nlohmann::json list_tables(pg::Connection& conn, const std::optional<std::string>& schema, int limit, bool& more) {
  nlohmann::json tables = parse(conn.exec(kListTables, {pg::Param(schema), limit}).scalar());
  more = static_cast<int>(tables.size()) > limit;
  if (more) tables.erase(tables.end() - 1);
  return tables;
}

std::optional<nlohmann::json> describe_table(pg::Connection& conn, const std::string& schema,
                                             const std::string& table) {
  pg::Result r = conn.exec(kDescribeTable, {schema, table});
  if (r.rows() == 0) return std::nullopt;
  return parse(r.view(0, 0));
}

}  // namespace pgshift::catalog
