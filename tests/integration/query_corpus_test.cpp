// The read-only gate against a real cluster (defence in depth):
//   - every bypass attempt of tests/integration/query_corpus/bypass.txt is refused by
//     query::run() before anything is sent, AND, run past the gate inside query's own READ ONLY
//     transaction (query::ReadOnlyTransaction), is stopped by the barrier its entry names (or
//     rolled back without a trace), leaving the canary database unchanged;
//   - every legitimate query of legit.txt is accepted and runs as the low-privilege reader role;
//   - a differential run: a few hundred generated statements, some with a dangerous fragment
//     spliced in; the gate must refuse exactly the tainted ones, and running every accepted
//     one (as the superuser) must leave the canary's checksum unchanged.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "query/query.hpp"
#include "query/read_only_transaction.hpp"
#include "support/canary.hpp"
#include "support/query_corpus.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

struct Barrier {
  std::string sqlstate;  // expected error; empty: the statement runs and is rolled back
  std::string as;        // "superuser" or "reader"
};

Barrier barrier_of(const CorpusEntry& e) {
  Barrier b;
  if (e.barrier == "read-only") b = {"25006", "superuser"};
  else if (e.barrier == "role") b = {"42501", "reader"};
  else if (e.barrier == "protocol") b = {"42601", "superuser"};
  else if (e.barrier == "transaction-block") b = {"25001", "superuser"};
  else if (e.barrier == "rollback") b = {"", "superuser"};
  else throw std::runtime_error(e.where() + ": unknown barrier '" + e.barrier + "'");
  if (!e.sqlstate.empty()) b.sqlstate = e.sqlstate;
  if (!e.as.empty()) b.as = e.as;
  return b;
}

class QueryCorpusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = start_cluster("query-corpus", {{"autovacuum", "off"}}).release();
    cluster_->create_database("canary");
    pg::Connection admin = connect(*cluster_, "canary");
    run_sql(admin, kCanarySchema);
    run_sql(admin, fmt::format("CREATE ROLE reader LOGIN PASSWORD {};"
                               "GRANT pg_read_all_data, pg_read_all_stats, pg_read_all_settings TO reader",
                               pg::quote_literal(localpg::kLocalPassword)));
  }
  static void TearDownTestSuite() { delete cluster_; }

  static pg::Connection open(const std::string& user) {
    pg::ConnectOptions options;
    options.application_name = "pgshift-test-" + user;
    options.role = user;
    return pg::Connection::open(cluster_->conninfo("canary", user == "superuser" ? "postgres" : user), options);
  }

  static LocalCluster* cluster_;
};
LocalCluster* QueryCorpusTest::cluster_ = nullptr;

TEST_F(QueryCorpusTest, EveryBypassIsRefusedAndWouldBeStoppedBehindTheGate) {
  auto corpus = load_corpus("bypass.txt");
  pg::Connection observer = open("superuser");
  pg::Connection superuser = open("superuser");
  pg::Connection reader = open("reader");
  const Checksum before = checksum(observer, false);
  std::map<std::string, int> barriers;
  for (const auto& e : corpus) {
    SCOPED_TRACE(e.where() + ": " + e.sql);
    ++barriers[e.barrier];
    // 1. The engine refuses it before sending anything.
    try {
      query::run(superuser, e.sql);
      ADD_FAILURE() << "query::run accepted it";
    } catch (const query::Rejected& r) {
      EXPECT_EQ(sqlgate::rule_name(r.verdict().rule), e.rule);
    }
    // 2. Past the gate, inside pgshift's own transaction, the named barrier stops it.
    if (e.barrier == "gate") {
      EXPECT_GE(e.why.size(), 20u) << "a gate-only entry must say why the gate is the only barrier";
      continue;
    }
    if (e.barrier == "rollback") {
      EXPECT_GE(e.why.size(), 20u) << "a rollback entry must say what is undone";
    }
    Barrier b = barrier_of(e);
    pg::Connection& conn = b.as == "reader" ? reader : superuser;
    std::string outcome = "ran";
    std::string message;
    {
      query::ReadOnlyTransaction tx(conn, query::Options{});
      try {
        conn.exec(e.sql);
      } catch (const pg::SqlError& err) {
        outcome = err.sqlstate();
        message = err.server_message();
      }
    }
    if (b.sqlstate.empty()) {
      EXPECT_EQ(outcome, "ran") << message;
    } else {
      EXPECT_EQ(outcome, b.sqlstate) << "barrier " << e.barrier << " as " << b.as << ": " << message;
    }
    if (e.barrier == "protocol") {
      EXPECT_NE(message.find("multiple commands"), std::string::npos) << message;
    }
    EXPECT_TRUE(conn.is_ok());
    EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_IDLE) << "the transaction must be gone";
    Checksum now = checksum(observer, false);
    EXPECT_EQ(now, before) << "the canary changed:\n" << diff(before, now);
  }
  for (const char* b : {"read-only", "role", "protocol", "transaction-block", "rollback", "gate"}) {
    EXPECT_GT(barriers[b], 0) << "no entry for barrier " << b;
  }
}

TEST_F(QueryCorpusTest, EveryLegitimateQueryRunsAsTheReaderRole) {
  auto corpus = load_corpus("legit.txt");
  pg::Connection observer = open("superuser");
  pg::Connection reader = open("reader");
  const Checksum before = checksum(observer, true);
  for (const auto& e : corpus) {
    SCOPED_TRACE(e.where() + ": " + e.sql);
    try {
      query::Result r = query::run(reader, e.sql);
      EXPECT_GE(static_cast<long long>(r.rows.size()), e.min_rows);
      EXPECT_FALSE(r.columns.empty());
      for (const auto& c : r.columns) EXPECT_FALSE(c.type_name.empty()) << c.name;
      EXPECT_FALSE(r.truncated);
    } catch (const std::exception& err) {
      ADD_FAILURE() << err.what();
    }
  }
  Checksum after = checksum(observer, true);
  EXPECT_EQ(after, before) << diff(before, after);
}

// Builds random statements from safe pieces and, sometimes, one dangerous fragment. It knows
// which statements are tainted; the gate must agree.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  struct Statement {
    std::string sql;
    bool tainted = false;
  };

  Statement next() {
    tainted_ = false;
    taint_now_ = pick(100) < 35;
    std::string sql;
    switch (pick(9)) {
      case 0: sql = simple(); break;
      case 1: sql = aggregate(); break;
      case 2: sql = window(); break;
      case 3: sql = join(); break;
      case 4: sql = with_cte(); break;
      case 5: sql = union_all(); break;
      case 6: sql = values(); break;
      case 7: sql = "EXPLAIN " + std::string(pick(2) ? "(FORMAT JSON) " : "") + simple(); break;
      default: sql = lateral(); break;
    }
    if (taint_now_ && !tainted_) sql = structural_taint(sql);
    return {sql, tainted_};
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <size_t N>
  std::string one_of(const std::array<const char*, N>& items) {
    return items[pick(N)];
  }

  std::string literal() {
    switch (pick(4)) {
      case 0: return std::to_string(pick(1000));
      case 1: return "'" + one_of(std::array{"alice", "paid", "x;y", "it''s", "--no"}) + "'";
      case 2: return "NULL";
      default: return fmt::format("{}.{}", pick(100), pick(100));
    }
  }

  // A dangerous call, spelled in one of the ways people hide them.
  std::string danger() {
    tainted_ = true;
    return one_of(std::array{"pg_sleep(0)", "nextval('invoice_seq')", "setval('invoice_seq', 5)",
                             "set_config('work_mem', '1MB', false)", "lo_create(0)", "lo_from_bytea(0, 'x')",
                             "pg_advisory_lock(7)", "pg_try_advisory_lock(7)", "txid_current()",
                             "pg_current_xact_id()", "pg_notify('c', 'x')", "pg_stat_reset()",
                             "pg_logical_emit_message(false, 'p', 'x')", "pg_catalog.nextval('invoice_seq')",
                             "\"pg_advisory_lock\"(8)", "(0).pg_sleep", "PG_CATALOG.TXID_CURRENT()",
                             "pg_import_system_collations('pg_catalog')", "pg_stat_reset_shared('bgwriter')",
                             "query_to_xml('SELECT pg_advisory_lock(9)', true, false, '')"});
  }

  std::string expr(const std::string& table) {
    if (taint_now_ && !tainted_ && pick(3) == 0) return "(" + danger() + ")::text";
    static const std::map<std::string, std::vector<std::string>> kExprs = {
        {"accounts", {"id", "owner", "balance", "upper(owner)", "length(owner)", "round(balance, 1)",
                      "date_trunc('day', created_at)", "md5(owner)", "abs(balance - 100)", "coalesce(owner, '?')",
                      "balance * 2", "created_at < now()", "random() < 2", "owner || '!'"}},
        {"orders", {"id", "account_id", "amount", "status", "placed_at", "amount / 3", "lower(status)",
                    "extract(year FROM placed_at)", "greatest(amount, 10)", "status = 'paid'"}},
        {"events", {"id", "payload->>'type'", "payload->'user'->>'id'", "jsonb_typeof(payload)", "tags[1]",
                    "payload ? 'user'", "cardinality(tags)"}},
    };
    const auto& list = kExprs.at(table);
    return list[pick(list.size())];
  }

  std::string table() { return one_of(std::array{"accounts", "orders", "events"}); }

  std::string where(const std::string& t) {
    if (pick(2)) return "";
    std::string e = expr(t);
    return fmt::format(" WHERE ({}) IS NOT NULL", e);
  }

  std::string simple() {
    std::string t = table();
    return fmt::format("SELECT {}, {} FROM {}{} ORDER BY 1 LIMIT {}", expr(t), expr(t), t, where(t), 1 + pick(50));
  }
  std::string union_all() {
    return fmt::format("SELECT x::text, y::text FROM ({}) AS s(x, y) UNION ALL SELECT {}::text, {}::text FROM accounts",
                       simple(), pick(9), literal());
  }
  std::string values() {
    std::string extra = taint_now_ && pick(2) ? ", (" + danger() + ")::text" : ", 'v'";
    return fmt::format("VALUES ({}, 'a'{}), ({}, 'b', 'w')", pick(100), extra, pick(100));
  }
  std::string aggregate() {
    std::string t = table();
    return fmt::format("SELECT {0}, count(*), count(DISTINCT {1}) FROM {2}{3} GROUP BY 1 HAVING count(*) > {4}", expr(t),
                       expr(t), t, where(t), pick(3));
  }
  std::string window() {
    std::string t = table();
    return fmt::format("SELECT {0}, row_number() OVER (PARTITION BY {1} ORDER BY id), "
                       "lag(id) OVER (ORDER BY id) FROM {2}",
                       expr(t), expr(t), t);
  }
  std::string join() {
    return fmt::format("SELECT a.owner, o.amount, {} FROM accounts a JOIN orders o ON o.account_id = a.id "
                       "WHERE o.amount > {} AND a.id IN (SELECT account_id FROM orders WHERE status = 'paid')",
                       expr("orders"), pick(500));
  }
  std::string with_cte() {
    std::string t = table();
    if (pick(4) == 0) {
      return fmt::format("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {}) "
                         "SELECT n, {} FROM r",
                         2 + pick(20), literal());
    }
    return fmt::format("WITH x AS (SELECT {} AS v, id FROM {}) SELECT count(*), min(id) FROM x", expr(t), t);
  }
  std::string lateral() {
    return fmt::format("SELECT a.id, g, kv.key FROM accounts a, generate_series(1, {}) g, "
                       "LATERAL jsonb_each('{{\"k\": 1}}'::jsonb) kv WHERE g <= a.id",
                       1 + pick(3));
  }

  // Taints a statement by its shape when no expression slot took a dangerous call.
  std::string structural_taint(const std::string& sql) {
    tainted_ = true;
    bool is_explain = sql.starts_with("EXPLAIN");
    switch (pick(6)) {
      case 0: return sql + "; DELETE FROM accounts";
      case 1: return "WITH d AS (DELETE FROM orders RETURNING id) " + (is_explain ? sql.substr(8) : sql);
      case 2: return "EXPLAIN ANALYZE " + (is_explain ? sql.substr(8) : sql);
      case 3: return "SELECT * FROM (" + (is_explain ? sql.substr(8) : std::string("SELECT 1 AS x")) +
                     ") s, LATERAL canary_write() w";
      case 4: return "SELECT * FROM accounts FOR UPDATE";
      default: return "SELECT * INTO stolen FROM accounts";
    }
  }

  std::mt19937 rng_;
  bool tainted_ = false;
  bool taint_now_ = false;
};

TEST_F(QueryCorpusTest, DifferentialGeneratedStatementsNeverChangeTheCanary) {
  constexpr int kStatements = 400;
  uint32_t seed = 20240611;
  if (const char* s = std::getenv("PGSHIFT_DIFF_SEED")) seed = static_cast<uint32_t>(std::stoul(s));
  Generator gen(seed);
  pg::Connection observer = open("superuser");
  pg::Connection superuser = open("superuser");
  const Checksum before = checksum(observer, true);
  int accepted = 0, rejected = 0, ran = 0, failed = 0;
  std::string failures;
  for (int i = 0; i < kStatements; ++i) {
    Generator::Statement s = gen.next();
    sqlgate::Verdict v = sqlgate::check(s.sql);
    EXPECT_EQ(v.accepted, !s.tainted) << "seed " << seed << " #" << i << ": " << s.sql << "\n" << v.message();
    if (!v.accepted) {
      ++rejected;
      continue;
    }
    ++accepted;
    try {
      query::run(superuser, s.sql, query::Options{});
      ++ran;
    } catch (const pg::SqlError& e) {
      ++failed;
      if (failures.size() < 2000) failures += s.sql + "\n  " + e.what() + "\n";
    }
  }
  Checksum after = checksum(observer, true);
  EXPECT_EQ(after, before) << "seed " << seed << ": the canary changed:\n" << diff(before, after);
  EXPECT_GE(accepted, kStatements / 2);
  EXPECT_GE(rejected, kStatements / 5);
  EXPECT_GE(ran, accepted * 9 / 10) << "too many accepted statements failed on the server:\n" << failures;
  std::printf("differential (seed %u): %d statements, %d accepted (%d ran, %d server errors), %d rejected\n", seed,
              kStatements, accepted, ran, failed, rejected);
}

}  // namespace
