// A source/target pair for the cutover tests: the workload schema plus a few tables of other
// shapes on both sides, PgBouncer in transaction mode pointing at the source, sync started and
// every table ready. A derived fixture whose source_owner() names a role gets a managed-provider
// source: that role (LOGIN REPLICATION, no superuser) owns the database and its tables and is
// the role pgshift uses there; the application still connects through PgBouncer. Helpers run pgshift as a user would and check what a user would check.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "demo/workload.hpp"
#include "pg/error.hpp"
#include "support/support.hpp"

namespace pgshift::testing {

using nlohmann::json;


constexpr std::string_view kExtraSchema = R"sql(
CREATE TYPE mood AS ENUM ('ok', 'great');
CREATE TABLE notes (id bigserial PRIMARY KEY, body text, feeling mood);
CREATE TABLE tags (name text NOT NULL, weight int);
CREATE UNIQUE INDEX tags_name ON tags (name);
CREATE TABLE events (at timestamptz NOT NULL, what text);
CREATE SEQUENCE invoice_numbers START 1000;
)sql";

// A writer on the target after cutover, beside the application: transactions of
// kRowsPerTransaction distinct rows into `events` ('r0', 'r1', ...; the table has no key, so a
// row applied twice on the way back is a duplicate there, not an error), one every ~20 ms, until
// stop(), which returns how many committed.
class TargetEventWriter {
 public:
  static constexpr int kRowsPerTransaction = 50;
  explicit TargetEventWriter(LocalCluster& target)
      : thread_([this, &target] {
          pg::Connection t = connect(target, "app");
          for (int64_t i = 0; !stop_; ++i) {
            t.exec("INSERT INTO events SELECT now(), 'r' || g FROM generate_series($1::bigint, $2::bigint) g",
                   {i * kRowsPerTransaction, (i + 1) * kRowsPerTransaction - 1});
            transactions_ = i + 1;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing the load, not waiting
          }
        }) {}
  ~TargetEventWriter() { stop(); }
  int64_t stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return transactions_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> transactions_{0};
  std::thread thread_;  // last: starts once the counters exist
};

class CutoverPair : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = start_cluster("cut-src");
    target_ = start_cluster("cut-tgt");
    if (!source_owner().empty()) {
      pg::Connection admin = connect(*source_, "postgres");
      run_sql(admin, fmt::format("CREATE ROLE {} LOGIN REPLICATION PASSWORD '{}'", source_owner(), localpg::kLocalPassword));
      admin.exec(fmt::format("CREATE DATABASE app OWNER {}", source_owner()));
    } else {
      source_->create_database("app");
    }
    target_->create_database("app");
    for (auto* c : {source_.get(), target_.get()}) {
      pg::Connection conn = c == source_.get() ? source_as_pgshift() : connect(*c, "app");
      run_sql(conn, demo::kWorkloadTables);
      run_sql(conn, kExtraSchema);
    }
    pg::Connection src = source_as_pgshift();
    src.exec(demo::kWorkloadSeed);
    run_sql(src, "INSERT INTO notes (body, feeling) SELECT 'n' || g, 'ok' FROM generate_series(1, 500) g;"
                 "INSERT INTO tags VALUES ('a', 1), ('b', 2);"
                 "INSERT INTO events SELECT now(), 'e' || g FROM generate_series(1, 100) g;"
                 "SELECT nextval('invoice_numbers') FROM generate_series(1, 5)");
    bouncer_ = LocalPgBouncer::start(*source_, {"app"});
    std::vector<std::string> start_args{"sync", "start", "--source", source_url(), "--target", target_->url("app")};
    for (const auto& a : sync_start_extra_args()) start_args.push_back(a);
    CliRun start = run_pgshift(start_args);
    ASSERT_EQ(start.exit_code, 0) << start.all();
    ASSERT_TRUE(wait_until([&] { return all_ready(); }, util::Millis(60'000))) << "tables never became ready";
  }

  // More flags for the fixture's sync start (a derived fixture's excludes, --ddl).
  virtual std::vector<std::string> sync_start_extra_args() const { return {}; }

  // The source role that owns the database and is pgshift's role there ("": the superuser).
  virtual std::string source_owner() const { return ""; }
  std::string source_url() const {
    return source_owner().empty() ? source_->url("app") : source_->url("app", source_owner());
  }
  pg::Connection source_as_pgshift() const {
    return pg::Connection::open(pg::ConnInfo::parse(source_url(), "source"));
  }

  bool all_ready() {
    CliRun st = run_pgshift({"sync", "status", "--json", "--source", source_url(), "--target", target_->url("app")});
    if (st.exit_code != 0 && st.exit_code != 1) return false;
    json j = json::parse(st.out, nullptr, false);
    if (j.is_discarded()) return false;
    for (const auto& t : j["tables"]) {
      if (t["state"] != "ready") return false;
    }
    return !j["tables"].empty();
  }

  std::vector<std::string> plan_args() const {
    return {"--source", source_url(), "--target", target_->url("app")};
  }

  std::vector<std::string> pooler_args() const {
    return {"--pooler-admin", bouncer_->admin_url(), "--pooler-db", "app", "--pooler-config", bouncer_->config_path()};
  }

  CliRun pgshift(std::vector<std::string> args, bool with_pooler = true) {
    std::vector<std::string> all = args;
    auto plan = plan_args();
    all.insert(all.end(), plan.begin(), plan.end());
    if (with_pooler) {
      auto p = pooler_args();
      all.insert(all.end(), p.begin(), p.end());
    }
    return run_pgshift(all);
  }

  int64_t count_ids(LocalCluster& c, const std::vector<int64_t>& ids) {
    pg::Connection conn = connect(c, "app");
    std::string arr = "{";
    for (size_t i = 0; i < ids.size(); ++i) arr += (i ? "," : "") + std::to_string(ids[i]);
    arr += "}";
    return conn.exec("SELECT count(*) FROM ledger WHERE id = ANY($1::bigint[])", {arr}).scalar_int64();
  }

  std::string write_error(LocalCluster& c) {
    pg::Connection conn = connect(c, "app");
    try {
      conn.exec("INSERT INTO ledger (writer) VALUES (99)");
      return "";
    } catch (const pg::SqlError& e) {
      return e.sqlstate() + " " + e.server_message();
    }
  }

  // Runs the workload around `action` and checks nothing was lost or failed on `writer`.
  json switch_under_load(const std::vector<std::string>& action, LocalCluster& writer) {
    demo::Workload load({bouncer_->url("app"), 4, 150});
    load.start();
    EXPECT_TRUE(wait_until([&] { return load.acknowledged() > 100; }, util::Millis(20'000)));
    CliRun run = pgshift(action);
    int64_t at_switch = load.acknowledged();
    EXPECT_TRUE(wait_until([&] { return load.acknowledged() > at_switch + 150; }, util::Millis(20'000)))
        << "the workload made no progress after the switch";
    load.stop();
    demo::WorkloadOutcome out = load.outcome();
    EXPECT_EQ(run.exit_code, 0) << run.all();
    expect_no_password(run.all());
    EXPECT_TRUE(out.errors.empty()) << out.errors.size() << " client errors, first: "
                                    << (out.errors.empty() ? "" : out.errors.front().message);
    EXPECT_EQ(count_ids(writer, out.acknowledged_ids), static_cast<int64_t>(out.acknowledged_ids.size()))
        << "acknowledged commits missing on the writer";
    std::set<int64_t> unique(out.acknowledged_ids.begin(), out.acknowledged_ids.end());
    EXPECT_EQ(unique.size(), out.acknowledged_ids.size()) << "a sequence handed out an id twice";
    json j = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << run.out;
    std::printf("%s: %zu commits, 0 lost, %zu errors, pause %.0f ms, max latency %.0f ms (median %.1f ms)\n",
                action[0].c_str(), out.acknowledged_ids.size(), out.errors.size(),
                j.value("paused_ms", json()).is_number() ? j["paused_ms"].get<double>() : -1.0, out.max_ms(),
                out.median_ms());
    for (const auto& step : j.value("timeline", json::array())) {
      std::printf("  %-17s %7.1f ms  %s\n", step["step"].get<std::string>().c_str(), step["took_ms"].get<double>(),
                  step["summary"].get<std::string>().c_str());
    }
    return j;
  }

  std::string phase() {
    pg::Connection conn = connect(*target_, "app");
    return conn.exec("SELECT phase FROM pgshift.migration ORDER BY id DESC LIMIT 1").scalar();
  }

  int64_t count(LocalCluster& c, const std::string& sql) {
    pg::Connection conn = connect(c, "app");
    return conn.exec(sql).scalar_int64();
  }

  // count(), or -1 while what it reads does not exist yet on that side.
  int64_t count_when_there(LocalCluster& c, const std::string& sql) {
    try {
      return count(c, sql);
    } catch (const pg::SqlError&) {
      return -1;
    }
  }

  // After an aborted switch: the source takes writes (directly and through the pooler, which is
  // not paused and still points at it), forward replication carries them, and nothing of the
  // attempt is left (no fence on the source, nothing replicating back).
  void expect_source_writer_and_replication_intact(const std::string& context) {
    SCOPED_TRACE(context);
    EXPECT_EQ(phase(), "syncing");
    EXPECT_EQ(write_error(*source_), "") << "the source must be writable";
    EXPECT_NE(write_error(*target_).find("25006"), std::string::npos) << "the target stays fenced";
    pg::ConnectOptions quick;
    quick.connect_timeout = util::Millis(3000);
    pg::Connection pooled = pg::Connection::open(pg::ConnInfo::parse(bouncer_->url("app"), "pooler"), quick);
    pooled.exec("SET statement_timeout = '3s'");
    int64_t id = pooled.exec("INSERT INTO ledger (writer) VALUES (77) RETURNING id").scalar_int64();
    pg::Connection tgt = connect(*target_, "app");
    EXPECT_TRUE(wait_until([&] { return tgt.exec("SELECT count(*) FROM ledger WHERE id = $1", {id}).scalar_int64() == 1; },
                           util::Millis(10'000)))
        << "forward replication did not carry a new write";
    EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_replication_slots"), 0) << "no slot for replication back";
    EXPECT_EQ(count(*target_, "SELECT count(*) FROM pg_publication"), 0) << "no publication back";
    EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_subscription"), 0) << "no subscription back";
    EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgshift_fence%'"), 0);
    EXPECT_EQ(count(*source_, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                                  migration_name(*source_, *target_) + "'"),
              1);
  }

  std::unique_ptr<LocalCluster> source_, target_;
  std::unique_ptr<LocalPgBouncer> bouncer_;
};

}  // namespace pgshift::testing
