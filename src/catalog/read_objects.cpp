// Reads sequences, enums, extensions, large objects and the replication objects (publications,
// subscriptions, slots), and assembles a Snapshot.
#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "pg/transaction.hpp"

namespace pgshift::catalog {
namespace {

// Owner: the column a sequence is OWNED BY (deptype 'a' for serial, 'i' for identity).
// used_by: tables whose column defaults reference the sequence (nextval('seq')), which also
// catches standalone sequences shared by several tables.
constexpr std::string_view kSequencesSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS data_type,
       s.seqincrement AS increment, ps.last_value,
       own.schema AS owner_schema, own.name AS owner_table, own.column AS owner_column,
       (SELECT coalesce(json_agg(DISTINCT jsonb_build_array(un.nspname, uc.relname)), '[]')
          FROM pg_depend d
          JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
          JOIN pg_class uc ON uc.oid = ad.adrelid
          JOIN pg_namespace un ON un.oid = uc.relnamespace
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid) AS used_by
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = c.relname
  LEFT JOIN LATERAL (
        SELECT tn.nspname AS schema, tc.relname AS name, a.attname AS column
          FROM pg_depend d
          JOIN pg_class tc ON tc.oid = d.refobjid
          JOIN pg_namespace tn ON tn.oid = tc.relnamespace
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
         LIMIT 1) own ON true
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND c.relpersistence <> 't'
 ORDER BY n.nspname, c.relname
)sql";

constexpr std::string_view kEnumsSql = R"sql(
SELECT format_type(t.oid, NULL) AS name,
       json_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
  FROM pg_type t
  JOIN pg_enum e ON e.enumtypid = t.oid
  JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
 GROUP BY t.oid
 ORDER BY 1
)sql";

constexpr std::string_view kExtensionsSql = R"sql(
SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY extname
)sql";

constexpr std::string_view kAvailableExtensionsSql = R"sql(
SELECT name FROM pg_available_extensions ORDER BY name
)sql";

constexpr std::string_view kLargeObjectsSql = R"sql(
SELECT count(*) FROM pg_largeobject_metadata
)sql";

constexpr std::string_view kPublicationsSql = R"sql(
SELECT p.pubname AS name, p.puballtables AS all_tables, p.pubviaroot AS via_root,
       (SELECT coalesce(json_agg(json_build_array(pt.schemaname, pt.tablename)
                                 ORDER BY pt.schemaname, pt.tablename), '[]')
          FROM pg_publication_tables pt WHERE pt.pubname = p.pubname AND pt.schemaname <> 'pgshift') AS tables
  FROM pg_publication p
 ORDER BY p.pubname
)sql";

// subconninfo is not selected: it holds the publisher's password and is revoked from
// non-superusers anyway.
constexpr std::string_view kSubscriptionsSql = R"sql(
SELECT s.subname AS name, s.subenabled AS enabled, coalesce(s.subslotname, '') AS slot_name,
       to_json(s.subpublications) AS publications
  FROM pg_subscription s
 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY s.subname
)sql";

// wal_status exists from PostgreSQL 13; pg_current_wal_lsn() fails on a standby.
constexpr std::string_view kSlotsSql = R"sql(
SELECT slot_name AS name, coalesce(plugin, '') AS plugin, slot_type,
       coalesce(database, '') AS database, active, temporary,
       coalesce(restart_lsn::text, '') AS restart_lsn,
       coalesce(confirmed_flush_lsn::text, '') AS confirmed_flush_lsn,
       coalesce(wal_status, '') AS wal_status,
       CASE WHEN pg_is_in_recovery() OR restart_lsn IS NULL THEN NULL
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END AS retained_bytes
  FROM pg_replication_slots
 ORDER BY slot_name
)sql";

std::vector<TableRef> table_refs(const nlohmann::json& pairs) {
  std::vector<TableRef> refs;
  for (const auto& p : pairs) refs.push_back({p.at(0).get<std::string>(), p.at(1).get<std::string>()});
  return refs;
}

std::vector<Sequence> read_sequences(pg::Connection& conn) {
  std::vector<Sequence> out;
  pg::Result r = conn.exec(kSequencesSql);
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    Sequence s;
    s.ref = {row.text("schema"), row.text("name")};
    s.data_type = row.text("data_type");
    s.increment = row.int64("increment");
    s.last_value = row.opt_int64("last_value");
    if (!row.is_null("owner_table")) {
      s.owner_table = TableRef{row.text("owner_schema"), row.text("owner_table")};
      s.owner_column = row.text("owner_column");
    }
    s.used_by = table_refs(nlohmann::json::parse(row.view("used_by")));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Snapshot read_snapshot(pg::Connection& conn, Detail detail) {
  Snapshot snap;
  pg::Transaction tx(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  // Qualify every user type name in format_type() output, identically on both sides.
  conn.exec("SELECT set_config('search_path', 'pg_catalog', true)");
  snap.server = read_server_info(conn);
  snap.tables = read_tables(conn);
  pg::Result e = conn.exec(kEnumsSql);
  for (int i = 0; i < e.rows(); ++i) {
    snap.enums.push_back({e.row(i).text("name"),
                          nlohmann::json::parse(e.row(i).view("labels")).get<std::vector<std::string>>()});
  }
  if (detail == Detail::tables) {
    tx.rollback();
    return snap;
  }
  snap.sequences = read_sequences(conn);
  pg::Result x = conn.exec(kExtensionsSql);
  for (int i = 0; i < x.rows(); ++i) snap.extensions.push_back({x.row(i).text("name"), x.row(i).text("version")});
  pg::Result ax = conn.exec(kAvailableExtensionsSql);
  for (int i = 0; i < ax.rows(); ++i) snap.available_extensions.push_back(ax.row(i).text("name"));
  snap.large_objects = conn.exec(kLargeObjectsSql).scalar_int64();

  pg::Result p = conn.exec(kPublicationsSql);
  for (int i = 0; i < p.rows(); ++i) {
    pg::Row row = p.row(i);
    snap.publications.push_back({row.text("name"), row.boolean("all_tables"), row.boolean("via_root"),
                                 table_refs(nlohmann::json::parse(row.view("tables")))});
  }
  pg::Result s = conn.exec(kSubscriptionsSql);
  for (int i = 0; i < s.rows(); ++i) {
    pg::Row row = s.row(i);
    snap.subscriptions.push_back(
        {row.text("name"), row.boolean("enabled"), row.text("slot_name"),
         nlohmann::json::parse(row.view("publications")).get<std::vector<std::string>>()});
  }
  pg::Result sl = conn.exec(kSlotsSql);
  for (int i = 0; i < sl.rows(); ++i) {
    pg::Row row = sl.row(i);
    ReplicationSlot slot;
    slot.name = row.text("name");
    slot.plugin = row.text("plugin");
    slot.slot_type = row.text("slot_type");
    slot.database = row.text("database");
    slot.active = row.boolean("active");
    slot.temporary = row.boolean("temporary");
    slot.restart_lsn = row.text("restart_lsn");
    slot.confirmed_flush_lsn = row.text("confirmed_flush_lsn");
    slot.wal_status = row.text("wal_status");
    slot.retained_bytes = row.opt_int64("retained_bytes");
    snap.slots.push_back(std::move(slot));
  }
  tx.rollback();
  return snap;
}

}  // namespace pgshift::catalog
