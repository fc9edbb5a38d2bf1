// bench/copy: time to "every table copied and streaming" for the initial copy of a migration,
// side by side on one source and fresh targets:
//   (a) pgshift sync start --copy native    (the subscription's table-sync workers)
//   (b) pgshift sync start --copy parallel --jobs J
//   (c) pgcopydb clone --table-jobs J --index-jobs J   (schema, data, indexes, constraints; no --follow)
// The source: `events`, --rows rows (10M ≈ 2 GB with its indexes) with three secondary indexes
// and a foreign key to `customers`, plus a dozen smaller tables. Each target starts empty with
// the schema (for a and b; pgcopydb creates its own), maintenance_work_mem as --maintenance-work-mem.
// Prints seconds per method, the phases of (b), and the ratios a/b and b/c.
//
//   bench/copy/run                         # 10M rows, J = cores
//   bench/copy/run --rows 2000000 --jobs 2
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
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
    else if (arg == "--jobs") a.jobs = std::stoi(value());
    else if (arg == "--maintenance-work-mem") a.maintenance_work_mem = value();
    else if (arg == "--skip-pgcopydb") a.skip_pgcopydb = true;
    else throw UsageError("unknown argument " + arg + " (--rows N, --jobs J, --maintenance-work-mem SIZE, --skip-pgcopydb)");
  }
  return a;
}

std::unique_ptr<localpg::LocalCluster> fresh_target(const std::string& name, const Args& a, bool with_schema) {
  auto t = localpg::LocalCluster::start({name, {{"maintenance_work_mem", "'" + a.maintenance_work_mem + "'"},
                                                {"max_wal_size", "'4GB'"}}});
  t->create_database("app");
  if (with_schema) {
    pg::Connection c = pg::Connection::open(t->conninfo("app"));
    run_script(c, std::string(kSchema) + small_tables_schema());
  }
  return t;
}

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

int run(const Args& a) {
  util::init_logging(util::LogLevel::quiet);
  std::printf("bench/copy: %lld rows in events, %d job(s), maintenance_work_mem %s, %u core(s)\n",
              static_cast<long long>(a.rows), a.jobs, a.maintenance_work_mem.c_str(), std::thread::hardware_concurrency());
  auto source = localpg::LocalCluster::start({"copy-src", {{"max_wal_size", "'4GB'"}}});
  source->create_database("app");
  {
    auto t0 = Clock::now();
    pg::Connection c = pg::Connection::open(source->conninfo("app"));
    c.exec("SET statement_timeout = 0");
    run_script(c, std::string(kSchema) + small_tables_schema());
    run_script(c, data_sql(a.rows));
    c.exec("VACUUM ANALYZE");
    std::string size = c.exec("SELECT pg_size_pretty(pg_database_size('app')) AS s").row(0).text("s");
    std::printf("source built: %s in %.1f s\n", size.c_str(), seconds_since(t0));
  }

  std::fflush(stdout);
  double native = 0, parallel = 0, pgcopydb = 0;
  json summary;
  {
    auto target = fresh_target("copy-native", a, true);
    native = pgshift_copy(*source, *target, a, "native").first;
    std::printf("(a) native   %8.1f s\n", native);
    std::fflush(stdout);
  }
  {
    auto target = fresh_target("copy-parallel", a, true);
    auto [took, result] = pgshift_copy(*source, *target, a, "parallel");
    parallel = took;
    summary = result["copy"];
    const json& t = summary["timings_ms"];
    std::printf("(b) parallel %8.1f s   slot %.1f · drop %.1f · copy %.1f · indexes %.1f · constraints %.1f (s); "
                "%d units on %d jobs\n",
                parallel, t["slot"].get<double>() / 1000, t["drop"].get<double>() / 1000, t["copy"].get<double>() / 1000,
                t["indexes"].get<double>() / 1000, t["constraints"].get<double>() / 1000, summary["units"].get<int>(),
                summary["jobs"].get<int>());
    std::fflush(stdout);
  }
  if (!a.skip_pgcopydb) {
    auto target = fresh_target("copy-pgcopydb", a, false);
    std::string dir = target->directory() + "/pgcopydb";
    auto t0 = Clock::now();
    run_checked({"pgcopydb", "clone", "--source", source->url("app"), "--target", target->url("app"), "--table-jobs",
                 std::to_string(a.jobs), "--index-jobs", std::to_string(a.jobs), "--dir", dir, "--no-owner",
                 "--no-acl", "--skip-extensions", "--split-tables-larger-than", "64MB"},
                "pgcopydb clone");
    pgcopydb = seconds_since(t0);
    std::printf("(c) pgcopydb %8.1f s\n", pgcopydb);
  }
  std::printf("\nnative / parallel = %.2f  (target >= 2.0)\n", native / parallel);
  if (pgcopydb > 0) std::printf("parallel / pgcopydb = %.2f  (target <= 1.0)\n", parallel / pgcopydb);
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
