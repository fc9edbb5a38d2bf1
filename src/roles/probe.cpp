// The live probe: as the role, after SET default_transaction_read_only = off (what the role can
// always do), try one write of each kind the catalog found no privilege for. Each attempt runs in
// its own READ WRITE transaction that is rolled back. Only insufficient_privilege (42501) counts
// as refused: any other outcome means the privilege check passed. Sequences are asked
// (has_sequence_privilege as the role), not tried: nextval cannot be rolled back.
#include <fmt/format.h>

#include <set>

#include "access/sql_fragments.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "roles/roles.hpp"

namespace pgshift::roles {
namespace {

constexpr std::string_view kUnlock = "SET default_transaction_read_only = off";
constexpr std::string_view kReadWrite = "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE";
constexpr std::string_view kLimits = "SET LOCAL lock_timeout = '200ms'";
constexpr std::string_view kStatementLimit = "SET LOCAL statement_timeout = '5s'";

constexpr std::string_view kSchemas =
    "SELECT n.nspname FROM pg_namespace n WHERE " PGSHIFT_USER_SCHEMA("n") " ORDER BY 1";

// Tables in schemas it may use, with one column an INSERT or UPDATE may name (not generated,
// not GENERATED ALWAYS AS IDENTITY). The probes touch no row and read no column (no SELECT
// needed, no column default evaluated, so no sequence moves).
constexpr std::string_view kTables =
    "SELECT n.nspname, c.relname, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum LIMIT 1) AS col "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
    "AND " PGSHIFT_USER_SCHEMA("n") " AND has_schema_privilege(n.oid, 'USAGE') ORDER BY 1, 2 LIMIT 200";

constexpr std::string_view kSequences =
    "SELECT n.nspname, c.relname, has_sequence_privilege(c.oid, 'USAGE') AS usage, "
    "has_sequence_privilege(c.oid, 'UPDATE') AS update FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2";

constexpr std::string_view kLargeObjects = "SELECT oid FROM pg_largeobject_metadata ORDER BY 1 LIMIT 20";

ProbeAttempt attempt(pg::Connection& conn, std::string kind, std::string object, std::string sql) {
  ProbeAttempt a{std::move(kind), std::move(object), std::move(sql), false, "", ""};
  pg::Transaction tx(conn, "BEGIN READ WRITE");
  try {
    conn.exec(kLimits);
    conn.exec(kStatementLimit);
    conn.exec(a.sql);
  } catch (const pg::SqlError& e) {
    a.sqlstate = e.sqlstate();
    a.message = e.server_message();
    a.refused = e.sqlstate() == "42501";
  }
  tx.rollback();
  return a;
}

}  // namespace

std::vector<ProbeAttempt> probe_writes(pg::Connection& conn, const std::vector<access::WritePath>& known) {
  std::set<std::string> found;  // "kind object privilege" the catalog already reported
  for (const auto& p : known) found.insert(p.kind + " " + p.object + " " + p.privilege);
  auto known_path = [&](const std::string& kind, const std::string& object, const std::string& privilege) {
    return found.count(kind + " " + object + " " + privilege) > 0;
  };
  conn.exec(kUnlock);
  conn.exec(kReadWrite);
  std::vector<ProbeAttempt> out;
  const std::string db = conn.exec("SELECT current_database()").scalar();
  if (!known_path("database", "database " + db, "TEMPORARY")) {
    out.push_back(attempt(conn, "temp", "database " + db, "CREATE TEMPORARY TABLE pgshift_probe_temp (x int)"));
  }
  if (!known_path("database", "database " + db, "CREATE")) {
    out.push_back(attempt(conn, "create-schema", "database " + db, "CREATE SCHEMA pgshift_probe"));
  }
  pg::Result schemas = conn.exec(kSchemas);
  for (int i = 0; i < schemas.rows(); ++i) {
    std::string schema(schemas.view(i, 0));
    if (known_path("schema", "schema " + schema, "CREATE")) continue;
    out.push_back(attempt(conn, "create-table", "schema " + schema,
                          fmt::format("CREATE TABLE {} (x int)", pg::qualified_name(schema, "pgshift_probe"))));
  }
  pg::Result tables = conn.exec(kTables);
  for (int i = 0; i < tables.rows(); ++i) {
    pg::Row row = tables.row(i);
    std::string schema = row.text("nspname"), name = row.text("relname");
    std::string object = "table " + pg::display_name(schema, name);
    std::string rel = pg::qualified_name(schema, name);
    if (auto col = row.opt("col")) {
      std::string c = pg::quote_ident(*col);
      if (!known_path("table", object, "INSERT")) {
        out.push_back(attempt(conn, "insert", object, fmt::format("INSERT INTO {} ({}) SELECT NULL WHERE false", rel, c)));
      }
      if (!known_path("table", object, "UPDATE")) {
        out.push_back(attempt(conn, "update", object, fmt::format("UPDATE {} SET {} = NULL WHERE false", rel, c)));
      }
    }
    if (!known_path("table", object, "DELETE")) {
      out.push_back(attempt(conn, "delete", object, fmt::format("DELETE FROM {} WHERE false", rel)));
    }
    if (!known_path("table", object, "TRUNCATE")) {
      out.push_back(attempt(conn, "truncate", object, fmt::format("TRUNCATE {}", rel)));
    }
  }
  if (!known_path("large-object", "function pg_catalog.lo_from_bytea(oid,bytea)", "EXECUTE")) {
    out.push_back(attempt(conn, "large-object", "function lo_from_bytea", "SELECT lo_from_bytea(0, '\\x70'::bytea)"));
  }
  if (!known_path("large-object", "function pg_catalog.lo_create(oid)", "EXECUTE")) {
    out.push_back(attempt(conn, "large-object", "function lo_create", "SELECT lo_create(0)"));
  }
  pg::Result los = conn.exec(kLargeObjects);
  for (int i = 0; i < los.rows(); ++i) {
    std::string oid(los.view(i, 0));
    out.push_back(attempt(conn, "large-object", "large object " + oid, fmt::format("SELECT lo_put({}, 0, '\\x70'::bytea)", oid)));
    out.push_back(attempt(conn, "large-object", "large object " + oid, fmt::format("SELECT lo_unlink({})", oid)));
  }
  pg::Result seqs = conn.exec(kSequences);
  for (int i = 0; i < seqs.rows(); ++i) {
    pg::Row row = seqs.row(i);
    std::string object = "sequence " + pg::display_name(row.text("nspname"), row.text("relname"));
    for (const char* privilege : {"USAGE", "UPDATE"}) {
      if (known_path("sequence", object, privilege)) continue;
      bool has = row.boolean(privilege[1] == 'S' ? "usage" : "update");
      ProbeAttempt a{"sequence", object, fmt::format("SELECT has_sequence_privilege(..., '{}')", privilege), !has,
                     has ? "" : "42501", has ? "asked, not tried (nextval cannot be rolled back)" : "no privilege"};
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace pgshift::roles
