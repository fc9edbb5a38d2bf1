// bench/copy: time to "every table copied and streaming" for the initial copy of a migration,
// side by side on one source and fresh targets:
//   (a) pgshift sync start --copy native    (the subscription's table-sync workers)
//   (b) pgshift sync start --copy parallel --jobs J
//   (c) pgcopydb clone --table-jobs J --index-jobs J   (schema, data, indexes, constraints; no --follow)
// Two shapes (--shape wide|events|both, default both), each on its own source:
//   wide    `events`, --rows rows (10M ≈ 2 GB with its indexes) with three secondary indexes
//           and a foreign key to `customers`, plus a dozen smaller tables; nothing writes.
//   events  shaped like real event tables (issue #29): `app_events`, --event-rows rows (4M) with a
//           primary key, four secondary indexes (one unique, one descending), a foreign key, a
//           jsonb column, ten small tables beside it, and one writer inserting into it through
//           the whole copy (its rows stream after the copy, like any write).
// Each target starts empty with the schema (for a and b; pgcopydb creates its own),
// maintenance_work_mem as --maintenance-work-mem. Prints seconds per method, the phases of (b),
// and the ratios a/b and b/c per shape.
//
//   bench/copy/run                         # both shapes, J = cores
//   bench/copy/run --shape events --event-rows 1000000 --jobs 2
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "localpg/cluster.hpp"
#include "pg/connection.hpp"
#include "sqlgate/split.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/process.hpp"

using namespace pgshift;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name text, created_at timestamptz NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), kind text NOT NULL,
                     at timestamptz NOT NULL, amount numeric(12,2), payload text);
CREATE INDEX events_customer ON events (customer_id);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_kind_at ON events (kind, at);
)sql";

std::string small_tables_schema() {
  std::string out;
  for (int i = 1; i <= 12; ++i) {
    out += fmt::format("CREATE TABLE side_{0} (id bigint PRIMARY KEY, label text NOT NULL, n int, at timestamptz);\n"
                       "CREATE INDEX side_{0}_label ON side_{0} (label);\n",
                       i);
  }
  return out;
}

// The events shape: what an application's busiest table looks like.
constexpr std::string_view kEventsSchema = R"sql(
CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, plan text NOT NULL);
CREATE TABLE app_events (id bigint PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id),
                         external_id uuid NOT NULL, kind text NOT NULL, occurred_at timestamptz NOT NULL,
                         amount_cents bigint, properties jsonb NOT NULL);
CREATE UNIQUE INDEX app_events_external ON app_events (external_id);
CREATE INDEX app_events_account_time ON app_events (account_id, occurred_at DESC);
CREATE INDEX app_events_kind ON app_events (kind);
CREATE INDEX app_events_occurred ON app_events (occurred_at);
)sql";

std::string events_small_tables_schema() {
  std::string out;
  for (int i = 1; i <= 10; ++i) {
    out += fmt::format("CREATE TABLE lookup_{0} (id int PRIMARY KEY, code text NOT NULL UNIQUE, note text);\n", i);
  }
  return out;
}

std::string events_data_sql(int64_t rows) {
  int64_t accounts = std::max<int64_t>(1000, rows / 400);
  std::string out = fmt::format(
      "INSERT INTO accounts SELECT g, 'Account ' || g, (ARRAY['free','team','business'])[1 + g % 3] "
      "FROM generate_series(1, {0}) g;\n"
      "INSERT INTO app_events SELECT g, 1 + (g::bigint * 7919) % {0}, md5(g::text)::uuid, "
      "(ARRAY['page_view','click','signup','invoice.paid','invoice.failed'])[1 + g % 5], "
      "timestamptz '2025-01-01' + g * interval '2 seconds', CASE WHEN g % 5 = 3 THEN g % 100000 END, "
      "jsonb_build_object('path', '/p/' || (g % 997), 'ua', 'Mozilla/5.0 (' || (g % 13) || ')', 'n', g % 100) "
      "FROM generate_series(1, {1}) g;\n",
      accounts, rows);
  for (int i = 1; i <= 10; ++i) {
    out += fmt::format("INSERT INTO lookup_{0} SELECT g, 'code-{0}-' || g, repeat('n', g % 40) "
                       "FROM generate_series(1, 2000) g;\n",
                       i);
  }
  return out;
}

std::string data_sql(int64_t rows) {
  int64_t customers = std::max<int64_t>(1000, rows / 50);
  std::string out = fmt::format(
      "INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'Customer ' || md5(g::text), "
      "timestamptz '2020-01-01' + g * interval '1 minute' FROM generate_series(1, {0}) g;\n"
      "INSERT INTO events SELECT g, 1 + g % {0}, (ARRAY['view','click','cart','checkout'])[1 + g % 4], "
      "timestamptz '2024-01-01' + g * interval '1 second', (g % 100000) / 100.0, repeat(md5(g::text), 2) "
      "FROM generate_series(1, {1}) g;\n",
      customers, rows);
  for (int i = 1; i <= 12; ++i) {
    out += fmt::format("INSERT INTO side_{0} SELECT g, 'label ' || md5((g * {0})::text), g % 1000, "
                       "timestamptz '2024-01-01' + g * interval '1 minute' FROM generate_series(1, {1}) g;\n",
                       i, std::max<int64_t>(1000, rows / 40));
  }
  return out;
}

void run_script(pg::Connection& conn, const std::string& script) {
  for (const auto& stmt : sqlgate::split_statements(script)) conn.exec(stmt);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

util::RunResult run_checked(const std::vector<std::string>& argv, const char* what) {
  util::ProcessSpec spec;
  spec.argv = argv;
  util::RunResult r = util::run(spec, util::Millis(4 * 3600 * 1000));
  if (r.exit_code != 0) throw RuntimeError(fmt::format("{} failed ({}): {}{}", what, r.exit_code, r.out, r.err));
  return r;
}

struct Args {
  int64_t rows = 10'000'000;
  int64_t event_rows = 4'000'000;
  std::string shape = "both";
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string maintenance_work_mem = "256MB";
  bool skip_pgcopydb = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + ": needs a value");
      return argv[++i];
    };
    if (arg == "--rows") a.rows = std::stoll(value());
    else if (arg == "--event-rows") a.event_rows = std::stoll(value());
    else if (arg == "--shape") a.shape = value();
    else if (arg == "--jobs") a.jobs = std::stoi(value());
    else if (arg == "--maintenance-work-mem") a.maintenance_work_mem = value();
    else if (arg == "--skip-pgcopydb") a.skip_pgcopydb = true;
    else throw UsageError("unknown argument " + arg + " (--shape wide|events|both, --rows N, --event-rows N, --jobs J, "
                          "--maintenance-work-mem SIZE, --skip-pgcopydb)");
  }
  if (a.shape != "wide" && a.shape != "events" && a.shape != "both") {
    throw UsageError("--shape: wide, events or both (got " + a.shape + ")");
  }
  return a;
}

struct Shape {
  std::string name;
  std::string schema;  // what the targets of (a) and (b) start with
  std::string data;
  bool writer = false;  // a writer inserts into app_events through every copy
  int64_t rows = 0;
};

std::unique_ptr<localpg::LocalCluster> fresh_target(const std::string& name, const Args& a, const std::string& schema) {
  auto t = localpg::LocalCluster::start({name, {{"maintenance_work_mem", "'" + a.maintenance_work_mem + "'"},
                                                {"max_wal_size", "'4GB'"}}});
  t->create_database("app");
  if (!schema.empty()) {
    pg::Connection c = pg::Connection::open(t->conninfo("app"));
    run_script(c, schema);
  }
  return t;
}

// One application writer: 10 new events every 10 ms (~1,000 rows/s) until stopped, as an
// application keeps writing while the copy runs. Counts what it wrote.
class EventWriter {
 public:
  EventWriter(const localpg::LocalCluster& source, int64_t first_id) : next_id_(first_id) {
    pg::ConnectOptions o = pg::default_connect_options();
    o.application_name = "bench-app-writer";
    conn_.emplace(pg::Connection::open(source.conninfo("app"), o));
    thread_ = std::thread([this] { loop(); });
  }
  ~EventWriter() { stop(); }
  int64_t stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return written_;
  }

 private:
  void loop() {
    while (!stop_) {
      conn_->exec("INSERT INTO app_events SELECT g, 1 + g % 1000, md5(g::text)::uuid, 'click', now(), NULL, "
                  "jsonb_build_object('n', g) FROM generate_series($1::bigint, $1::bigint + 9) g",
                  {std::to_string(next_id_)});
      next_id_ += 10;
      written_ += 10;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::optional<pg::Connection> conn_;
  std::atomic<bool> stop_{false};
  int64_t next_id_;
  std::atomic<int64_t> written_{0};
  std::thread thread_;
};

// sync start, then wait until every table is ready; stop afterwards. Returns seconds and JSON.
std::pair<double, json> pgshift_copy(localpg::LocalCluster& source, localpg::LocalCluster& target, const Args& a,
                                     const std::string& mode) {
  std::vector<std::string> ends = {"--source", source.url("app"), "--target", target.url("app")};
  std::vector<std::string> start = {PGSHIFT_BINARY, "sync", "start", "--copy", mode, "--json", "-q"};
  if (mode == "parallel") {
    start.insert(start.end(), {"--jobs", std::to_string(a.jobs), "--maintenance-work-mem", a.maintenance_work_mem});
  }
  start.insert(start.end(), ends.begin(), ends.end());
  auto t0 = Clock::now();
  util::RunResult r = run_checked(start, "sync start");
  json result = json::parse(r.out);
  while (true) {
    std::vector<std::string> status = {PGSHIFT_BINARY, "sync", "status", "--json", "-q"};
    status.insert(status.end(), ends.begin(), ends.end());
    json st = json::parse(run_checked(status, "sync status").out);
    if (st["summary"]["ready"] == st["summary"]["tables"] && st["summary"]["tables"].get<int>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  double took = seconds_since(t0);
  std::vector<std::string> stop = {PGSHIFT_BINARY, "sync", "stop", "-q"};
  stop.insert(stop.end(), ends.begin(), ends.end());
  run_checked(stop, "sync stop");
  return {took, result};
}

struct Ratios {
  double native = 0, parallel = 0, pgcopydb = 0;
};

Ratios run_shape(const Shape& shape, const Args& a) {
  std::printf("\n== shape %s: %lld rows in its big table%s\n", shape.name.c_str(), static_cast<long long>(shape.rows),
              shape.writer ? ", one writer inserting through every copy" : "");
  auto source = localpg::LocalCluster::start({"copy-src-" + shape.name, {{"max_wal_size", "'4GB'"}}});
  source->create_database("app");
  {
    auto t0 = Clock::now();
    pg::Connection c = pg::Connection::open(source->conninfo("app"));
    c.exec("SET statement_timeout = 0");
    run_script(c, shape.schema);
    run_script(c, shape.data);
    c.exec("VACUUM ANALYZE");
    std::string size = c.exec("SELECT pg_size_pretty(pg_database_size('app')) AS s").row(0).text("s");
    std::printf("source built: %s in %.1f s\n", size.c_str(), seconds_since(t0));
  }
  int64_t next_id = shape.rows + 1;
  auto writer = [&]() -> std::unique_ptr<EventWriter> {
    if (!shape.writer) return nullptr;
    auto w = std::make_unique<EventWriter>(*source, next_id);
    next_id += 100'000'000;  // each copy's writer its own id range
    return w;
  };
  auto written = [](std::unique_ptr<EventWriter>& w) {
    return w ? fmt::format(" ({} rows written meanwhile)", w->stop()) : std::string();
  };

  std::fflush(stdout);
  Ratios r;
  {
    auto target = fresh_target("copy-native-" + shape.name, a, shape.schema);
    auto w = writer();
    r.native = pgshift_copy(*source, *target, a, "native").first;
    std::printf("(a) native   %8.1f s%s\n", r.native, written(w).c_str());
    std::fflush(stdout);
  }
  {
    auto target = fresh_target("copy-parallel-" + shape.name, a, shape.schema);
    auto w = writer();
    auto [took, result] = pgshift_copy(*source, *target, a, "parallel");
    std::string meanwhile = written(w);
    r.parallel = took;
    const json& summary = result["copy"];
    const json& t = summary["timings_ms"];
    std::printf("(b) parallel %8.1f s   slot %.1f · drop %.1f · copy %.1f (last unit at %.1f; %.1f s of index builds "
                "beside it) · indexes %.1f · constraints %.1f · to streaming %.1f (s); %d units on %d jobs%s\n",
                r.parallel, t["slot"].get<double>() / 1000, t["drop"].get<double>() / 1000,
                t["copy"].get<double>() / 1000, t.value("units", 0) / 1000.0, t.value("builds_during_copy", 0) / 1000.0,
                t["indexes"].get<double>() / 1000, t["constraints"].get<double>() / 1000,
                r.parallel - t["total"].get<double>() / 1000, summary["units"].get<int>(), summary["jobs"].get<int>(),
                meanwhile.c_str());
    std::fflush(stdout);
  }
  if (!a.skip_pgcopydb) {
    auto target = fresh_target("copy-pgcopydb-" + shape.name, a, "");
    std::string dir = target->directory() + "/pgcopydb";
    auto w = writer();
    auto t0 = Clock::now();
    run_checked({"pgcopydb", "clone", "--source", source->url("app"), "--target", target->url("app"), "--table-jobs",
                 std::to_string(a.jobs), "--index-jobs", std::to_string(a.jobs), "--dir", dir, "--no-owner",
                 "--no-acl", "--skip-extensions", "--split-tables-larger-than", "64MB"},
                "pgcopydb clone");
    r.pgcopydb = seconds_since(t0);
    std::printf("(c) pgcopydb %8.1f s%s (clone only: it does not stream the writes made meanwhile)\n", r.pgcopydb,
                written(w).c_str());
  }
  std::printf("%s: native / parallel = %.2f  (target >= 2.0)\n", shape.name.c_str(), r.native / r.parallel);
  if (r.pgcopydb > 0) {
    std::printf("%s: parallel / pgcopydb = %.2f  (target <= 1.0, goal 0.8)\n", shape.name.c_str(),
                r.parallel / r.pgcopydb);
  }
  std::fflush(stdout);
  return r;
}

int run(const Args& a) {
  util::init_logging(util::LogLevel::quiet);
  std::printf("bench/copy: %d job(s), maintenance_work_mem %s, %u core(s)\n", a.jobs, a.maintenance_work_mem.c_str(),
              std::thread::hardware_concurrency());
  std::vector<Shape> shapes;
  if (a.shape != "events") {
    shapes.push_back({"wide", std::string(kSchema) + small_tables_schema(), data_sql(a.rows), false, a.rows});
  }
  if (a.shape != "wide") {
    shapes.push_back({"events", std::string(kEventsSchema) + events_small_tables_schema(), events_data_sql(a.event_rows),
                      true, a.event_rows});
  }
  std::vector<std::pair<std::string, Ratios>> results;
  for (const Shape& shape : shapes) results.emplace_back(shape.name, run_shape(shape, a));
  std::printf("\nsummary (seconds until every table streams):\n");
  for (const auto& [name, r] : results) {
    std::printf("  %-7s native %6.1f  parallel %6.1f  pgcopydb %6.1f   native/parallel %.2f   parallel/pgcopydb %s\n",
                name.c_str(), r.native, r.parallel, r.pgcopydb, r.native / r.parallel,
                r.pgcopydb > 0 ? fmt::format("{:.2f}", r.parallel / r.pgcopydb).c_str() : "-");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench/copy: %s\n", e.what());
    return 1;
  }
}
