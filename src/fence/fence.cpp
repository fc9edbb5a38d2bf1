#include "fence/fence.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "access/text_array.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "util/error.hpp"

namespace pgshift::fence {
namespace {

// Creating or dropping a trigger waits for the table's writers; a fence must not queue behind a
// long transaction (and block everyone queued behind it) for ever.
constexpr std::string_view kLockTimeoutSql = "SET LOCAL lock_timeout = '10s'";
// Arming (and disarming) is flushed to WAL when it commits, whatever the server's default:
// cutover reads the WAL position right after it, and the walsender only decodes flushed WAL.
constexpr std::string_view kSyncCommitSql = "SET LOCAL synchronous_commit = on";

// The armed body is built in C++ so the reason travels as one quoted literal; the whole body is
// then quoted again for CREATE FUNCTION ... AS '...'. search_path is pinned: a trigger function
// must not resolve names through the writer's search_path. `RAISE EXCEPTION` is what tells an
// armed body from the inert one (kArmedSql).
constexpr std::string_view kArmedBody = R"plpgsql(
BEGIN
  IF EXISTS (SELECT FROM pgshift.fence_pass
              WHERE hash = sha256(convert_to(current_setting('pgshift.fence_pass', true), 'UTF8'))) THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING
    ERRCODE = 'read_only_sql_transaction',
    MESSAGE = format('table %s.%s is fenced by a pgshift migration: %s',
                     quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME), {reason});
END
)plpgsql";

constexpr std::string_view kArmedFunctionSql =
    "CREATE OR REPLACE FUNCTION pgshift.fence_reject() RETURNS trigger LANGUAGE plpgsql "
    "SECURITY DEFINER SET search_path = pg_catalog AS {body}";

// Inert: the row goes through unchanged. No SET clause (it would cost a GUC save and restore on
// every written row) and no name resolved through search_path (the operator is qualified).
constexpr std::string_view kInertFunctionSql = R"sql(
CREATE OR REPLACE FUNCTION pgshift.fence_reject() RETURNS trigger LANGUAGE plpgsql AS $fence$
BEGIN
  IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END
$fence$
)sql";

constexpr std::string_view kFunctionExistsSql =
    "SELECT to_regprocedure('pgshift.fence_reject()') IS NOT NULL AS present";

constexpr std::string_view kArmedSql = R"sql(
SELECT coalesce((SELECT p.prosrc LIKE '%RAISE EXCEPTION%' FROM pg_proc p
                  WHERE p.oid = to_regprocedure('pgshift.fence_reject()')), false) AS armed
)sql";

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

// Every listed table ($1, quoted names) and each partition below it, with whether it carries
// the triggers it needs: the row trigger on the listed table (partitions inherit it), the
// truncate trigger on each member. relid is NULL for a table that does not exist.
constexpr std::string_view kMembersSql = R"sql(
WITH listed AS (SELECT n AS name, to_regclass(n) AS rel FROM unnest($1::text[]) AS n),
members AS (
  SELECT l.name, l.rel AS relid, true AS top FROM listed l
  UNION ALL
  SELECT l.name, p.relid, false
    FROM listed l CROSS JOIN LATERAL pg_partition_tree(l.rel) p
    JOIN pg_class c ON c.oid = p.relid
   WHERE p.relid <> l.rel AND c.relkind IN ('r', 'p'))
SELECT m.name, m.relid::oid::text AS relid,
       (m.relid IS NOT NULL
        AND (NOT m.top OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = m.relid AND t.tgname = $2))
        AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = m.relid AND t.tgname = $3)) AS ready
  FROM members m
)sql";

// Each fenced relation ($1) carries both triggers (a partition its inherited row trigger):
// index lookups on pg_trigger (tgrelid, tgname), nothing per table in C++.
constexpr std::string_view kTriggerCountSql = R"sql(
SELECT count(DISTINCT (t.tgrelid, t.tgname)) FROM pg_trigger t
 WHERE t.tgrelid = ANY($1::oid[]) AND t.tgname IN ($2, $3)
)sql";

// Client transactions holding a lock that writes ($1: the fenced relations): they may have
// passed the inert body before arm() and not committed yet. Replication workers write past the
// fence by design and are not waited for (a table-sync COPY would hold the wait for its length).
constexpr std::string_view kWritersSql = R"sql(
SELECT DISTINCT l.virtualtransaction, l.pid, l.relation::regclass::text AS rel
  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation'
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.relation = ANY($1::oid[]) AND l.granted
   AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
   AND l.pid IS DISTINCT FROM pg_backend_pid()
   AND coalesce(a.backend_type, '') NOT LIKE 'logical replication%'
 ORDER BY 1
)sql";

// A transaction holds the lock on its own virtual transaction id until it ends.
constexpr std::string_view kStillRunningSql = R"sql(
SELECT l.virtualxid FROM pg_locks l WHERE l.locktype = 'virtualxid' AND l.virtualxid = ANY($1::text[]) LIMIT 1
)sql";

// tgparentid (PostgreSQL 13+) is set on the copies a partition inherits from its parent.
constexpr std::string_view kPreparedSql = R"sql(
SELECT DISTINCT n.nspname AS schema, c.relname AS name
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE t.tgname = $1 AND t.tgparentid = 0
 ORDER BY 1, 2
)sql";

struct Member {
  std::string table;  // the listed table's quoted name
  std::string relid;  // empty when the table does not exist
  bool ready = false;
};

std::vector<Member> members_of(pg::Connection& conn, const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t.quoted());
  pg::Result r = conn.exec(kMembersSql, {access::text_array_literal(names), kRowTrigger, kTruncateTrigger});
  std::vector<Member> out;
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    out.push_back({row.text("name"), row.is_null("relid") ? std::string() : row.text("relid"), row.boolean("ready")});
  }
  return out;
}

bool function_exists(pg::Connection& conn) { return conn.exec(kFunctionExistsSql).row(0).boolean("present"); }
bool armed(pg::Connection& conn) { return conn.exec(kArmedSql).row(0).boolean("armed"); }

std::vector<std::string> existing_triggers(pg::Connection& conn, const catalog::TableRef& table) {
  std::vector<std::string> out;
  pg::Result r = conn.exec(kExistingTriggersSql, {table.quoted(), kRowTrigger, kTruncateTrigger});
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.row(i).text("tgname"));
  return out;
}

bool has(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// One table (and its partitions) in one short transaction: its locks are held only as long as
// its own CREATE TRIGGERs take.
void put_triggers(pg::Connection& conn, const catalog::TableRef& table) {
  pg::Transaction tx(conn);
  conn.exec(kLockTimeoutSql);
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
  tx.commit();
}

// Waits until the transactions holding write locks on `relids` now have ended.
void wait_for_writers(pg::Connection& conn, const std::vector<std::string>& relids, util::Millis wait) {
  pg::Result writers = conn.exec(kWritersSql, {access::text_array_literal(relids)});
  if (writers.rows() == 0) return;
  std::vector<std::string> vxids;
  std::map<std::string, std::string> what;  // vxid -> "table (pid N)"
  for (int i = 0; i < writers.rows(); ++i) {
    pg::Row row = writers.row(i);
    std::string rel = row.text("rel");
    if (row.is_null("pid")) {
      throw RuntimeError(fmt::format("{}: a prepared transaction holds a write lock on {}; COMMIT PREPARED or "
                                     "ROLLBACK PREPARED it (pg_prepared_xacts), then retry",
                                     conn.endpoint(), rel));
    }
    std::string vxid = row.text("virtualtransaction");
    if (what.emplace(vxid, fmt::format("{} (pid {})", rel, row.text("pid"))).second) vxids.push_back(vxid);
  }
  const std::string param = access::text_array_literal(vxids);
  auto deadline = std::chrono::steady_clock::now() + wait;
  auto pause = util::Millis(1);
  while (true) {
    pg::Result running = conn.exec(kStillRunningSql, {param});
    if (running.rows() == 0) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RuntimeError(fmt::format("{}: the fence is armed but a transaction that wrote to {} before did not end "
                                     "within {}; end it (pg_terminate_backend) and retry",
                                     conn.endpoint(), what[running.row(0).text("virtualxid")],
                                     util::format_duration(wait)));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, util::Millis(10));
  }
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

Prepared prepare(pg::Connection& conn, const std::vector<catalog::TableRef>& tables) {
  if (!function_exists(conn)) {
    pg::Transaction tx(conn);
    conn.exec(kLockTimeoutSql);
    conn.exec("CREATE SCHEMA IF NOT EXISTS pgshift");
    conn.exec(kInertFunctionSql);
    tx.commit();
  }
  // Only tables with a member lacking a trigger take a transaction (a rollback finds its writer
  // prepared by the cutover before it).
  std::vector<std::string> incomplete;
  for (const auto& m : members_of(conn, tables)) {
    if (!m.ready) incomplete.push_back(m.table);
  }
  for (const auto& t : tables) {
    if (std::find(incomplete.begin(), incomplete.end(), t.quoted()) != incomplete.end()) put_triggers(conn, t);
  }
  Prepared out;
  for (const auto& m : members_of(conn, tables)) {
    if (!m.relid.empty() && std::find(out.relids.begin(), out.relids.end(), m.relid) == out.relids.end()) {
      out.relids.push_back(m.relid);
    }
  }
  return out;
}

void arm(pg::Connection& conn, const Prepared& prepared, const std::string& reason, util::Millis wait) {
  const std::string relids = access::text_array_literal(prepared.relids);
  const int64_t triggers = conn.exec(kTriggerCountSql, {relids, kRowTrigger, kTruncateTrigger}).scalar_int64();
  if (triggers != static_cast<int64_t>(2 * prepared.relids.size())) {
    throw RuntimeError(fmt::format("{}: {} of {} fence triggers are in place (a table was dropped or a trigger "
                                   "removed since they were put there); the fence was not armed",
                                   conn.endpoint(), triggers, 2 * prepared.relids.size()));
  }
  {
    pg::Transaction tx(conn);
    conn.exec(kLockTimeoutSql);
    conn.exec(kSyncCommitSql);
    ensure_pass_table(conn);  // the armed body reads it
    std::string body = fmt::format(fmt::runtime(kArmedBody), fmt::arg("reason", pg::quote_literal(reason)));
    conn.exec(fmt::format(fmt::runtime(kArmedFunctionSql), fmt::arg("body", pg::quote_literal(body))));
    tx.commit();
  }
  wait_for_writers(conn, prepared.relids, wait);
}

void fence(pg::Connection& conn, const std::vector<catalog::TableRef>& tables, const std::string& reason) {
  arm(conn, prepare(conn, tables), reason);
}

size_t disarm(pg::Connection& conn) {
  size_t fenced = fenced_tables(conn).size();
  if (fenced == 0) return 0;
  pg::Transaction tx(conn);
  conn.exec(kLockTimeoutSql);
  conn.exec(kSyncCommitSql);
  conn.exec(kInertFunctionSql);
  tx.commit();
  return fenced;
}

size_t lift(pg::Connection& conn) {
  size_t carried = prepared_tables(conn).size();
  if (!function_exists(conn)) return carried;
  disarm(conn);
  pg::Transaction tx(conn);
  conn.exec(kLockTimeoutSql);
  conn.exec(kSyncCommitSql);
  // Every fence trigger depends on the function: CASCADE removes them all, inherited copies
  // included, in one statement.
  conn.exec("DROP FUNCTION IF EXISTS pgshift.fence_reject() CASCADE");
  tx.commit();
  return carried;
}

std::vector<catalog::TableRef> prepared_tables(pg::Connection& conn) {
  std::vector<catalog::TableRef> out;
  pg::Result r = conn.exec(kPreparedSql, {kRowTrigger});
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.row(i).text("schema"), r.row(i).text("name")});
  return out;
}

std::vector<catalog::TableRef> fenced_tables(pg::Connection& conn) {
  if (!armed(conn)) return {};
  return prepared_tables(conn);
}

bool is_fenced(pg::Connection& conn) { return !fenced_tables(conn).empty(); }

}  // namespace pgshift::fence
