// The diagnostics (stats/diagnostics.hpp) against a real cluster seeded with the conditions each
// report must find: an unused and a duplicate index, an invalid index from a failed CREATE INDEX
// CONCURRENTLY, dead tuples and bloat, a session holding a row lock with a waiter behind it
// (idle in transaction, blocked, long-running), an abandoned logical slot, a sequence near its
// maximum, a failing archive_command, pg_stat_statements, a pgshift journal. A pg_monitor reader
// and a role without any grant still get reports.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include "pg/error.hpp"
#include "state/journal.hpp"
#include "stats/diagnostics.hpp"
#include "support/support.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kFixture = R"sql(
CREATE EXTENSION pg_stat_statements;
CREATE TABLE items (id bigint PRIMARY KEY, code int, note text) WITH (autovacuum_enabled = false);
INSERT INTO items SELECT g, g % 1000, repeat('x', 50) FROM generate_series(1, 20000) g;
CREATE INDEX items_code ON items (code);
CREATE INDEX items_code_again ON items (code);
DELETE FROM items WHERE id % 10 < 6;
ANALYZE items;
CREATE TABLE uniq (id int, v int);
INSERT INTO uniq VALUES (1, 1), (2, 1);
CREATE SEQUENCE nearly_done MAXVALUE 100;
SELECT setval('nearly_done', 97);
CREATE TABLE locked (id int PRIMARY KEY, v int);
INSERT INTO locked VALUES (1, 0);
SELECT pg_create_logical_replication_slot('stats_slot', 'pgoutput');
)sql";

// Thresholds low enough for a small fixture (each finding's message states the one it used).
stats::Options test_options() {
  stats::Options o;
  o.bloat_min_bytes = 0;
  o.missing_index_min_rows = 1'000;
  o.missing_index_min_seq_scans = 20;
  o.long_running_seconds = 0.2;
  o.idle_in_transaction_seconds = 0.2;
  o.xid_age_warning = 1;  // every database: shows the wraparound check reaches its finding
  o.unused_index_min_stats_seconds = 0;  // a fresh cluster's statistics are minutes old
  return o;
}

const stats::Finding* find(const stats::Report& r, std::string_view code, std::string_view object = {}) {
  for (const auto& f : r.findings) {
    if (f.code == code && (object.empty() || f.object == object)) return &f;
  }
  return nullptr;
}

const stats::Section* section(const stats::Report& r, std::string_view id) {
  for (const auto& s : r.sections) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const stats::Fact* fact(const stats::Report& r, std::string_view id) {
  for (const auto& f : r.facts) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

// The section's rows as objects keyed by column name.
std::vector<json> rows(const stats::Report& r, std::string_view id) {
  std::vector<json> out;
  const stats::Section* s = section(r, id);
  if (!s) return out;
  for (const auto& row : s->rows) {
    json o = json::object();
    for (size_t c = 0; c < s->columns.size(); ++c) o[s->columns[c].name] = row.at(c);
    out.push_back(o);
  }
  return out;
}

std::optional<json> row_where(const stats::Report& r, std::string_view id, const std::string& column, const json& value) {
  for (const auto& row : rows(r, id)) {
    if (row.contains(column) && row[column] == value) return row;
  }
  return std::nullopt;
}

std::string codes(const stats::Report& r) {
  std::string out;
  for (const auto& f : r.findings) out += f.code + "(" + f.object + ") ";
  return out;
}

class StatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("stats", {{"archive_mode", "on"},
                                       {"archive_command", "'false'"},
                                       {"shared_preload_libraries", "'pg_stat_statements'"}})
                   .release();
    cluster_->create_database("diag");
    cluster_->create_database("plain");
    cluster_->create_database("mig");
    {
      pg::Connection c = connect(*cluster_, "diag");
      run_sql(c, kFixture);
      // A unique build that meets duplicates fails and leaves the index behind, invalid.
      EXPECT_THROW(c.exec("CREATE UNIQUE INDEX CONCURRENTLY uniq_v ON uniq (v)"), pg::SqlError);
      for (int i = 0; i < 25; ++i) c.exec("SELECT count(*) FROM items WHERE note = 'y'");
      run_sql(c, fmt::format("CREATE ROLE monitor LOGIN PASSWORD '{0}' IN ROLE pg_monitor;"
                             "CREATE ROLE nobody LOGIN PASSWORD '{0}'",
                             localpg::kLocalPassword));
      c.exec("SELECT pg_switch_wal()");
    }
    holder_ = new pg::Connection(connect(*cluster_, "diag"));
    run_sql(*holder_, "BEGIN; UPDATE locked SET v = 1 WHERE id = 1");
    waiter_ = new pg::Connection(connect(*cluster_, "diag"));
    waiter_pid_ = waiter_->exec("SELECT pg_backend_pid()").scalar_int64();
    holder_pid_ = holder_->exec("SELECT pg_backend_pid()").scalar_int64();
    ASSERT_EQ(PQsendQuery(waiter_->raw(), "UPDATE locked SET v = 2 WHERE id = 1"), 1);
  }
  static void TearDownTestSuite() {
    holder_->exec("ROLLBACK");
    while (PGresult* r = PQgetResult(waiter_->raw())) PQclear(r);
    delete waiter_;
    delete holder_;
    delete cluster_;
  }

  static pg::Connection as(const std::string& role, const std::string& db = "diag") {
    return pg::Connection::open(cluster_->conninfo(db, role));
  }

  static inline LocalCluster* cluster_ = nullptr;
  static inline pg::Connection* holder_ = nullptr;
  static inline pg::Connection* waiter_ = nullptr;
  static inline int64_t holder_pid_ = 0;
  static inline int64_t waiter_pid_ = 0;
};

TEST_F(StatsTest, OverviewHasTheServerFiguresAndFindsTheSequenceAndWraparoundAge) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r = stats::overview(c, test_options());
  EXPECT_EQ(r.id, "overview");
  EXPECT_GE(r.server_version_num, 130000);
  ASSERT_TRUE(fact(r, "database_size_bytes"));
  EXPECT_GT(fact(r, "database_size_bytes")->value.get<int64_t>(), 1'000'000);
  ASSERT_TRUE(fact(r, "cache_hit_ratio"));
  EXPECT_TRUE(fact(r, "cache_hit_ratio")->value.is_number());
  EXPECT_GT(fact(r, "max_connections")->value.get<int64_t>(), 0);
  EXPECT_GE(fact(r, "connections")->value.get<int64_t>(), 3);  // this one, the holder, the waiter
  EXPECT_GT(fact(r, "oldest_xact_seconds")->value.get<double>(), 0);  // the holder's transaction
  EXPECT_TRUE(section(r, "connections"));
  auto seq = row_where(r, "sequences", "name", "nearly_done");
  ASSERT_TRUE(seq) << r.to_json().dump();
  EXPECT_EQ((*seq)["last_value"], 97);
  EXPECT_EQ((*seq)["max_value"], 100);
  const stats::Finding* f = find(r, "sequence-exhaustion", "public.nearly_done");
  ASSERT_TRUE(f) << codes(r);
  EXPECT_EQ(f->severity, stats::Severity::critical);
  EXPECT_FALSE(f->advice.empty());
  EXPECT_TRUE(row_where(r, "databases", "database", "diag"));
  EXPECT_TRUE(find(r, "xid-wraparound", "diag")) << codes(r);
  // With the default thresholds a fresh cluster is far from wraparound.
  EXPECT_FALSE(find(stats::overview(c), "xid-wraparound"));
}

TEST_F(StatsTest, TablesShowSizesDeadTuplesAndBloatWithSchemaAndNameApart) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r;
  ASSERT_TRUE(wait_until([&] {
    r = stats::tables(c, test_options());
    return find(r, "dead-tuples", "public.items") != nullptr;
  }, util::Millis(20'000))) << codes(r);
  auto items = row_where(r, "tables", "name", "items");
  ASSERT_TRUE(items);
  EXPECT_EQ((*items)["schema"], "public");
  EXPECT_GE((*items)["dead_tuples"].get<int64_t>(), 10'000);
  EXPECT_GT((*items)["table_bytes"].get<int64_t>(), 0);
  EXPECT_GT((*items)["index_bytes"].get<int64_t>(), 0);
  EXPECT_NEAR((*items)["estimated_rows"].get<double>(), 8'000, 1'000);
  EXPECT_GE((*items)["seq_scan"].get<int64_t>(), 25);
  EXPECT_TRUE((*items)["last_analyze_at"].get<std::string>().ends_with("Z"));
  EXPECT_GT((*items)["bloat_ratio"].get<double>(), 0.4);
  EXPECT_TRUE(find(r, "table-bloat", "public.items")) << codes(r);
  // The journal's schema and the catalogs are not user tables.
  for (const auto& row : rows(r, "tables")) {
    EXPECT_NE(row["schema"], "pg_catalog");
    EXPECT_NE(row["schema"], "pgshift");
  }
  // Default thresholds: 10 MB of bloat at least, so this small table is not flagged.
  EXPECT_FALSE(find(stats::tables(c), "table-bloat"));
}

TEST_F(StatsTest, IndexesFindUnusedDuplicateInvalidAndMissing) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r;
  ASSERT_TRUE(wait_until([&] {
    r = stats::indexes(c, test_options());
    return find(r, "missing-index", "public.items") != nullptr;
  }, util::Millis(20'000))) << codes(r);
  EXPECT_TRUE(find(r, "unused-index", "public.items_code")) << codes(r);
  EXPECT_FALSE(find(r, "unused-index", "public.items_pkey"));  // primary keys enforce a constraint
  const stats::Finding* dup = find(r, "duplicate-index", "public.items_code_again");
  ASSERT_TRUE(dup) << codes(r);
  EXPECT_NE(dup->message.find("items_code"), std::string::npos);
  EXPECT_FALSE(find(r, "duplicate-index", "public.items_code"));  // one of the pair only
  EXPECT_TRUE(find(r, "invalid-index", "public.uniq_v")) << codes(r);
  EXPECT_TRUE(row_where(r, "invalid", "index", "uniq_v"));
  EXPECT_TRUE(row_where(r, "indexes", "index", "items_pkey"));
  ASSERT_TRUE(section(r, "unused"));
  EXPECT_NE(section(r, "unused")->explanation.find("at most 0 time"), std::string::npos);
}

TEST_F(StatsTest, ActivityShowsTheBlockingTreeIdleInTransactionAndLongRunning) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r;
  const std::string waiter = fmt::format("pid {}", waiter_pid_), holder = fmt::format("pid {}", holder_pid_);
  ASSERT_TRUE(wait_until([&] {
    r = stats::activity(c, test_options());
    return find(r, "blocked-query", waiter) && find(r, "idle-in-transaction", holder) &&
           find(r, "long-running-query", waiter);
  }, util::Millis(20'000))) << codes(r);
  auto root = row_where(r, "blocking", "pid", holder_pid_);
  ASSERT_TRUE(root);
  EXPECT_EQ((*root)["depth"], 0);
  EXPECT_EQ((*root)["state"], "idle in transaction");
  auto blocked = row_where(r, "blocking", "pid", waiter_pid_);
  ASSERT_TRUE(blocked);
  EXPECT_EQ((*blocked)["blocked_by"], holder_pid_);
  EXPECT_EQ((*blocked)["root_pid"], holder_pid_);
  auto session = row_where(r, "sessions", "pid", waiter_pid_);
  ASSERT_TRUE(session);
  EXPECT_EQ((*session)["wait_event_type"], "Lock");
  EXPECT_EQ((*session)["blocked_by"], json::array({holder_pid_}));
  EXPECT_NE(find(r, "blocked-query", waiter)->advice.find("idle in a transaction"), std::string::npos);
  // The report ran read-only and ended nothing: the holder still holds its lock.
  EXPECT_EQ(holder_->exec("SELECT v FROM locked WHERE id = 1").scalar(), "1");
}

TEST_F(StatsTest, AReportLeavesNothingBehindAndALockedTableIsEstimatedAndNamed) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::overview(c);
  EXPECT_EQ(PQtransactionStatus(c.raw()), PQTRANS_IDLE);
  EXPECT_EQ(c.exec("SHOW statement_timeout").scalar(), "0");
  EXPECT_EQ(c.exec("SHOW TimeZone").scalar(), c.exec("SELECT reset_val FROM pg_settings WHERE name = 'TimeZone'").scalar());

  // The size functions would wait for an ACCESS EXCLUSIVE lock: the locked table's sizes come
  // from pg_class instead, the finding names it, nothing times out, the rest is there.
  pg::Connection locker = connect(*cluster_, "diag");
  run_sql(locker, "BEGIN; LOCK TABLE uniq IN ACCESS EXCLUSIVE MODE");
  stats::Options quick = test_options();
  quick.statement_timeout = util::Millis(600);
  stats::Report r = stats::tables(c, quick);
  stats::Report idx = stats::indexes(c, quick);
  locker.exec("ROLLBACK");
  EXPECT_FALSE(find(r, "query-timeout")) << codes(r);
  EXPECT_FALSE(find(idx, "query-timeout")) << codes(idx);
  const stats::Finding* f = find(r, "table-locked", "public.uniq");
  ASSERT_TRUE(f) << codes(r);
  EXPECT_NE(f->message.find("held by pid " + std::to_string(PQbackendPID(locker.raw()))), std::string::npos) << f->message;
  EXPECT_TRUE(row_where(r, "tables", "name", "uniq"));
  EXPECT_TRUE(row_where(r, "tables", "name", "items"));
  EXPECT_TRUE(find(idx, "table-locked", "public.uniq")) << codes(idx);
  EXPECT_FALSE(row_where(idx, "invalid", "index", "uniq_v")) << "left out while its table is locked";
  EXPECT_TRUE(fact(r, "table_count"));
  EXPECT_EQ(PQtransactionStatus(c.raw()), PQTRANS_IDLE);
  EXPECT_TRUE(row_where(stats::indexes(c, quick), "invalid", "index", "uniq_v"));
}

TEST_F(StatsTest, ReplicationShowsTheAbandonedSlot) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r = stats::replication(c, test_options());
  auto slot = row_where(r, "slots", "slot", "stats_slot");
  ASSERT_TRUE(slot) << r.to_json().dump();
  EXPECT_EQ((*slot)["type"], "logical");
  EXPECT_EQ((*slot)["active"], false);
  EXPECT_EQ((*slot)["wal_status"], "reserved");
  EXPECT_GT((*slot)["retained_wal_bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(find(r, "slot-inactive", "slot stats_slot")) << codes(r);
  EXPECT_TRUE(section(r, "standbys"));
  EXPECT_TRUE(section(r, "subscriptions"));
  EXPECT_TRUE(section(r, "subscription_stats"));  // PostgreSQL 15
}

TEST_F(StatsTest, ArchiverVerdictIsFailingWithTheFailedSegment) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r;
  ASSERT_TRUE(wait_until([&] {
    r = stats::archiver(c, test_options());
    return find(r, "archiver-failing") != nullptr;
  }, util::Millis(30'000))) << codes(r);
  EXPECT_EQ(fact(r, "verdict")->value, "failing");
  EXPECT_GT(fact(r, "failed_count")->value.get<int64_t>(), 0);
  const stats::Finding* f = find(r, "archiver-failing");
  EXPECT_EQ(f->severity, stats::Severity::critical);
  auto row = rows(r, "archiver").at(0);
  EXPECT_EQ(row["archive_mode"], "on");
  EXPECT_EQ(row["last_failed_wal"].get<std::string>().size(), 24u);
  EXPECT_EQ(f->object, row["last_failed_wal"]);
  EXPECT_TRUE(row["last_failed_at"].get<std::string>().ends_with("Z"));
}

TEST_F(StatsTest, HealthUnitesTheChecks) {
  pg::Connection c = connect(*cluster_, "diag");
  stats::Report r;
  ASSERT_TRUE(wait_until([&] {
    r = stats::health(c, test_options());
    // The Activity case ran a statement in the holder's transaction: its idle clock restarted.
    return find(r, "archiver-failing") && find(r, "blocked-query") && find(r, "dead-tuples") &&
           find(r, "idle-in-transaction");
  }, util::Millis(30'000))) << codes(r);
  for (auto code : {"sequence-exhaustion", "unused-index", "invalid-index", "slot-inactive", "idle-in-transaction",
                    "long-running-query", "table-bloat", "xid-wraparound"}) {
    EXPECT_TRUE(find(r, code)) << code << ": " << codes(r);
  }
  EXPECT_EQ(r.findings.front().severity, stats::Severity::critical);
  EXPECT_FALSE(find(r, "missing-index"));  // an info of the Indexes tab, not a health check
  auto archiver = row_where(r, "checks", "check", "archiver");
  ASSERT_TRUE(archiver);
  EXPECT_EQ((*archiver)["status"], "critical");
  EXPECT_EQ(fact(r, "status")->value, "critical");
  json j = r.to_json();
  EXPECT_EQ(j["id"], "health");
  EXPECT_EQ(j["findings"][0]["severity"], "critical");
}

TEST_F(StatsTest, TopQueriesFromPgStatStatementsOrHowToEnableIt) {
  pg::Connection c = connect(*cluster_, "diag");
  for (int i = 0; i < 300; ++i) c.exec("SELECT count(*) FROM items WHERE code = $1", {i});
  stats::Report r = stats::top_queries(c, stats::QueryOrder::calls, 10);
  ASSERT_TRUE(fact(r, "extension_version")) << codes(r);
  auto q = rows(r, "queries");
  ASSERT_FALSE(q.empty());
  EXPECT_LE(q.size(), 10u);
  EXPECT_TRUE(q.front()["queryid"].is_string());
  std::optional<json> items;
  for (size_t i = 0; i < q.size(); ++i) {
    if (i > 0) {
      EXPECT_GE(q[i - 1]["calls"].get<int64_t>(), q[i]["calls"].get<int64_t>());
    }
    // The diagnostics' own savepoints are not the user's statements.
    EXPECT_EQ(q[i]["query"].get<std::string>().find("pgshift_stats"), std::string::npos) << q[i]["query"];
    if (q[i]["query"].get<std::string>().find("FROM items WHERE code") != std::string::npos) items = q[i];
  }
  ASSERT_TRUE(items);
  EXPECT_EQ((*items)["calls"], 300);
  EXPECT_EQ(rows(stats::top_queries(c, stats::QueryOrder::mean_time, 1), "queries").size(), 1u);

  pg::Connection plain = connect(*cluster_, "plain");
  stats::Report missing = stats::top_queries(plain);
  const stats::Finding* f = find(missing, "pg-stat-statements-missing");
  ASSERT_TRUE(f) << codes(missing);
  // The cluster preloads the library: only CREATE EXTENSION is missing, and only it is advised.
  EXPECT_EQ(f->advice.find("shared_preload_libraries"), std::string::npos) << f->advice;
  EXPECT_NE(f->advice.find("CREATE EXTENSION pg_stat_statements"), std::string::npos);
  ASSERT_TRUE(fact(missing, "state"));
  EXPECT_EQ(fact(missing, "state")->value, "not_installed");
  EXPECT_THROW(stats::query_order_from_string("slowest"), UsageError);
}

TEST_F(StatsTest, MigrationReadsTheJournalNewestFirst) {
  pg::Connection none = connect(*cluster_, "plain");
  stats::Report empty = stats::migration(none);
  ASSERT_EQ(empty.findings.size(), 1u);
  EXPECT_EQ(empty.findings[0].code, "no-migration");
  EXPECT_EQ(empty.findings[0].message, "no pgshift migration recorded");
  EXPECT_TRUE(empty.sections.empty());

  pg::Connection w = connect(*cluster_, "mig");
  state::Journal journal(w, "sync start");
  state::Migration m = journal.begin({{"source", "app@src:5432/app"}, {"target", "app@tgt:5432/app"},
                                      {"subscription", "pgshift"}, {"publication", "pgshift"}, {"exclude", json::array()}},
                                     state::Phase::syncing);
  journal.record(m.id, "publication", state::EventStatus::finished, {{"summary", "publication pgshift created"}});
  journal.record(m.id, "verify", state::EventStatus::failed, {{"error", "3 rows differ in public.items"}});
  journal.record(m.id, state::kSoakStep, state::EventStatus::started, {{"for_ms", 60000}});

  pg::Connection c = connect(*cluster_, "mig");
  stats::Report r = stats::migration(c, test_options());
  EXPECT_EQ(fact(r, "phase")->value, "syncing");
  EXPECT_EQ(fact(r, "direction")->value, "source -> target");
  EXPECT_EQ(fact(r, "soak_state")->value, "running");
  EXPECT_GE(fact(r, "soak_seconds")->value.get<double>(), 0);
  EXPECT_EQ(fact(r, "last_verify")->value, "failed");
  EXPECT_NE(fact(r, "last_verify")->hint.find("3 rows differ"), std::string::npos) << fact(r, "last_verify")->hint;
  const stats::Finding* f = find(r, "verify-failed");
  ASSERT_TRUE(f) << codes(r);
  EXPECT_EQ(f->severity, stats::Severity::critical);
  auto j = rows(r, "journal");
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["step"], "soak");
  EXPECT_EQ(j[2]["step"], "publication");
  EXPECT_EQ(j[2]["summary"], "publication pgshift created");
  EXPECT_TRUE(j[0]["at"].get<std::string>().ends_with("Z"));

  stats::Options small = test_options();
  small.journal_limit = 1;
  EXPECT_EQ(rows(stats::migration(c, small), "journal").size(), 1u);

  std::vector<stats::Gauge> g = stats::gauges(c);
  auto has = [&](std::string_view name, std::string_view label = {}) {
    for (const auto& x : g) {
      if (x.name == name && (label.empty() || (!x.labels.empty() && x.labels[0].second == label))) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("pgshift_migration_phase", "syncing"));
  EXPECT_TRUE(has("pgshift_migration_soak_seconds"));

  // A pg_monitor member without grants on schema pgshift is told what to grant.
  pg::Connection reader = as("monitor", "mig");
  stats::Report denied = stats::migration(reader);
  const stats::Finding* p = find(denied, "insufficient-privilege");
  ASSERT_TRUE(p) << codes(denied);
  EXPECT_NE(p->advice.find("USAGE on schema pgshift"), std::string::npos);
}

TEST_F(StatsTest, GaugesForMetrics) {
  pg::Connection c = connect(*cluster_, "diag");
  std::vector<stats::Gauge> g;
  auto value = [&](std::string_view name, std::string_view label = {}) -> std::optional<double> {
    for (const auto& x : g) {
      if (x.name == name && (label.empty() || (!x.labels.empty() && x.labels[0].second == label))) return x.value;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(wait_until([&] {
    g = stats::gauges(c);
    return value("pgshift_archiver_failed_count").value_or(0) > 0;
  }, util::Millis(30'000)));
  EXPECT_EQ(value("pgshift_pg_up"), 1);
  EXPECT_GT(value("pgshift_replication_slot_retained_wal_bytes", "stats_slot").value_or(0), 0);
  EXPECT_EQ(value("pgshift_replication_slot_active", "stats_slot"), 0);
  EXPECT_GT(value("pgshift_replication_slot_confirmed_lag_bytes", "stats_slot").value_or(0), 0);
  EXPECT_FALSE(value("pgshift_migration_phase"));  // no journal in this database
  for (const auto& x : g) {
    EXPECT_TRUE(x.type == "gauge" || x.type == "counter") << x.name;
    EXPECT_FALSE(x.help.empty()) << x.name;
  }
  // A connection that is gone: pg_up 0, no exception.
  pg::Connection doomed = connect(*cluster_, "diag");
  int64_t pid = doomed.exec("SELECT pg_backend_pid()").scalar_int64();
  c.exec("SELECT pg_terminate_backend($1)", {pid});
  std::vector<stats::Gauge> down = stats::gauges(doomed);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].name, "pgshift_pg_up");
  EXPECT_EQ(down[0].value, 0);
}

TEST_F(StatsTest, RestrictedRolesStillGetReports) {
  pg::Connection monitor = as("monitor");
  stats::Report o = stats::overview(monitor, test_options());
  EXPECT_TRUE(fact(o, "cache_hit_ratio"));
  EXPECT_TRUE(fact(o, "database_size_bytes"));
  stats::Report t = stats::tables(monitor, test_options());
  EXPECT_TRUE(row_where(t, "tables", "name", "items"));
  stats::Report a = stats::activity(monitor, test_options());
  auto waiter = row_where(a, "sessions", "pid", waiter_pid_);
  ASSERT_TRUE(waiter);
  EXPECT_NE((*waiter)["query"].get<std::string>().find("UPDATE locked"), std::string::npos);  // pg_read_all_stats
  EXPECT_FALSE(find(a, "insufficient-privilege"));
  EXPECT_TRUE(find(stats::replication(monitor, test_options()), "slot-inactive"));
  EXPECT_TRUE(find(stats::archiver(monitor, test_options()), "archiver-failing"));
  EXPECT_FALSE(stats::top_queries(monitor).sections.empty());

  // No grant at all: other sessions' statements are hidden, and the report says what to grant.
  pg::Connection nobody = as("nobody");
  stats::Report hidden = stats::activity(nobody, test_options());
  const stats::Finding* f = find(hidden, "insufficient-privilege");
  ASSERT_TRUE(f) << codes(hidden);
  EXPECT_NE(f->advice.find("pg_read_all_stats"), std::string::npos);
  for (auto* report : {&stats::overview, &stats::tables, &stats::indexes, &stats::replication, &stats::archiver,
                       &stats::migration, &stats::health}) {
    EXPECT_NO_THROW((*report)(nobody, test_options()));
  }
  EXPECT_EQ(stats::gauges(nobody).at(0).value, 1);
}

}  // namespace
