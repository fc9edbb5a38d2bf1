#include "fence/fence.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pg/quote.hpp"
#include "pg/transaction.hpp"

namespace pgshift::fence {
namespace {

// Creating or dropping a trigger waits for the table's writers; a fence must not queue behind a
// long transaction (and block everyone queued behind it) for ever.
constexpr std::string_view kLockTimeoutSql = "SET LOCAL lock_timeout = '10s'";
// A fence (and its lifting) is flushed to WAL when it commits, whatever the server's default:
// cutover reads the WAL position right after it, and the walsender only decodes flushed WAL.
constexpr std::string_view kSyncCommitSql = "SET LOCAL synchronous_commit = on";

// The body is built in C++ so the reason travels as one quoted literal; the whole body is then
// quoted again for CREATE FUNCTION ... AS '...'. search_path is pinned: a trigger function must
// not resolve names through the writer's search_path.
constexpr std::string_view kFunctionBody = R"plpgsql(
BEGIN
  RAISE EXCEPTION USING
    ERRCODE = 'read_only_sql_transaction',
    MESSAGE = format('table %s.%s is fenced by a pgshift migration: %s',
                     quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME), {reason});
END
)plpgsql";

constexpr std::string_view kCreateFunctionSql =
    "CREATE OR REPLACE FUNCTION pgshift.fence_reject() RETURNS trigger LANGUAGE plpgsql "
    "SET search_path = pg_catalog AS {body}";

constexpr std::string_view kExistingTriggersSql = R"sql(
SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = to_regclass($1) AND t.tgname IN ($2, $3)
)sql";

// A partitioned table and every partition below it (pg_partition_tree, 12+); no rows for a
// table that is not partitioned.
constexpr std::string_view kTreeSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind
  FROM pg_partition_tree(to_regclass($1)) p
  JOIN pg_class c ON c.oid = p.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
 ORDER BY p.level, n.nspname, c.relname
)sql";

// tgparentid (PostgreSQL 13+) is set on the copies a partition inherits from its parent.
constexpr std::string_view kFencedSql = R"sql(
SELECT DISTINCT n.nspname AS schema, c.relname AS name
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE t.tgname = $1 AND t.tgparentid = 0
 ORDER BY 1, 2
)sql";

constexpr std::string_view kFunctionExistsSql =
    "SELECT to_regprocedure('pgshift.fence_reject()') IS NOT NULL AS present";

std::vector<std::string> existing_triggers(pg::Connection& conn, const catalog::TableRef& table) {
  std::vector<std::string> out;
  pg::Result r = conn.exec(kExistingTriggersSql, {table.quoted(), kRowTrigger, kTruncateTrigger});
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.row(i).text("tgname"));
  return out;
}

bool has(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::string reason_replication_target(const std::string& source) {
  return fmt::format("this database is the target of a migration from {} and only replication writes to it; "
                     "write to the source until cutover",
                     source);
}

std::string reason_migrated_away(const std::string& target) {
  return fmt::format("this database was migrated to {} (pgshift cutover); write there", target);
}

void fence(pg::Connection& conn, const std::vector<catalog::TableRef>& tables, const std::string& reason) {
  pg::Transaction tx(conn);
  conn.exec(kLockTimeoutSql);
  conn.exec(kSyncCommitSql);
  conn.exec("CREATE SCHEMA IF NOT EXISTS pgshift");
  std::string body = fmt::format(fmt::runtime(kFunctionBody), fmt::arg("reason", pg::quote_literal(reason)));
  conn.exec(fmt::format(fmt::runtime(kCreateFunctionSql), fmt::arg("body", pg::quote_literal(body))));
  for (const auto& table : tables) {
    // The table itself first, then (for a partitioned table) every partition below it.
    std::vector<catalog::TableRef> members;
    pg::Result tree = conn.exec(kTreeSql, {table.quoted()});
    for (int i = 0; i < tree.rows(); ++i) members.push_back({tree.row(i).text("schema"), tree.row(i).text("name")});
    if (members.empty()) {
      // Not partitioned (or missing: then the server names the table in its own error).
      conn.exec(fmt::format("SELECT {}::regclass", pg::quote_literal(table.quoted())));
      members.push_back(table);
    }
    for (size_t i = 0; i < members.size(); ++i) {
      const catalog::TableRef& ref = members[i];
      std::vector<std::string> have = existing_triggers(conn, ref);
      // Row triggers of a partitioned table are inherited by its partitions; truncating a
      // partition directly fires only the partition's own statement triggers.
      if (i == 0 && !has(have, kRowTrigger)) {
        conn.exec(fmt::format("CREATE TRIGGER {} BEFORE INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW "
                              "EXECUTE FUNCTION pgshift.fence_reject()",
                              pg::quote_ident(kRowTrigger), ref.quoted()));
      }
      if (!has(have, kTruncateTrigger)) {
        conn.exec(fmt::format("CREATE TRIGGER {} BEFORE TRUNCATE ON {} FOR EACH STATEMENT "
                              "EXECUTE FUNCTION pgshift.fence_reject()",
                              pg::quote_ident(kTruncateTrigger), ref.quoted()));
      }
    }
  }
  tx.commit();
}

size_t lift(pg::Connection& conn) {
  size_t fenced = fenced_tables(conn).size();
  if (!conn.exec(kFunctionExistsSql).row(0).boolean("present")) return fenced;
  pg::Transaction tx(conn);
  conn.exec(kLockTimeoutSql);
  conn.exec(kSyncCommitSql);
  // Every fence trigger depends on the function: CASCADE removes them all, inherited copies
  // included, in one statement.
  conn.exec("DROP FUNCTION IF EXISTS pgshift.fence_reject() CASCADE");
  tx.commit();
  return fenced;
}

std::vector<catalog::TableRef> fenced_tables(pg::Connection& conn) {
  std::vector<catalog::TableRef> out;
  pg::Result r = conn.exec(kFencedSql, {kRowTrigger});
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.row(i).text("schema"), r.row(i).text("name")});
  return out;
}

bool is_fenced(pg::Connection& conn) { return !fenced_tables(conn).empty(); }

}  // namespace pgshift::fence
