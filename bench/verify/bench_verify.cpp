// bench/verify: how long does it take to know that two databases hold the same rows?
//
// Starts two local clusters, loads the same few million rows of mixed types into both, then
// times, in one run and on the same data:
//   (a) pgshift verify --jobs J           (the binary, as an operator runs it)
//   (b) pgcopydb's compare data method: per table count(*) and sum(hashtext(row::text)::bigint)
//   (c) data-diff's checksum: per table sum of md5(concat(columns)) folded to 48 bits
//   (d) count(*) only: the floor any method pays to read the rows
// (b), (c) and (d) run like pgcopydb does: J workers take tables from a queue and query the
// source and the target of a table at the same time. Each method runs --repeat times,
// interleaved; the best time counts. Prints seconds, rows/s and the ratios a/b, a/c and a/d.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.hpp"
#include "localpg/cluster.hpp"
#include "pg/connection.hpp"
#include "pg/quote.hpp"
#include "sqlgate/split.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/process.hpp"

using namespace pgshift;

namespace {

// Rows at scale 1: customers 300k, orders 1.2M, line_items 1.2M, events 600k, audit_log 200k.
constexpr std::string_view kSchema = R"sql(
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'refunded', 'cancelled');
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name text, birthday date,
                        created_at timestamptz NOT NULL, vip boolean NOT NULL, score float8);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status order_status NOT NULL,
                     total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz,
                     paid boolean NOT NULL, note text, ref uuid NOT NULL);
CREATE TABLE line_items (order_id bigint, line int, sku text NOT NULL, qty int NOT NULL, price numeric(10,2) NOT NULL,
                         PRIMARY KEY (order_id, line));
CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL, customer_id int,
                     payload jsonb);
CREATE TABLE audit_log (at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL);
)sql";

constexpr std::string_view kData = R"sql(
INSERT INTO customers SELECT g, 'customer' || g || '@example.com', 'Customer ' || md5(g::text),
  date '1950-01-01' + g % 20000, timestamptz '2020-01-01 00:00:00+00' + g * interval '7 minutes', g % 10 = 0,
  CASE WHEN g % 4 = 0 THEN NULL ELSE g / 7.0 END
  FROM generate_series(1, {customers}) g;
INSERT INTO orders SELECT g, 1 + g % {customers},
  (ARRAY['pending', 'paid', 'shipped', 'refunded', 'cancelled'])[1 + g % 5]::order_status, (g % 100000) / 100.0,
  timestamptz '2022-01-01 00:00:00+00' + g * interval '1 minute',
  CASE WHEN g % 3 = 0 THEN NULL ELSE timestamptz '2023-01-01 00:00:00+00' + g * interval '30 seconds' END,
  g % 2 = 0, CASE WHEN g % 5 = 0 THEN 'gift wrap, leave at door ' || g END, md5(g::text)::uuid
  FROM generate_series(1, {orders}) g;
INSERT INTO line_items SELECT 1 + (g - 1) / 2, 1 + (g - 1) % 2, 'SKU-' || lpad((g % 9973)::text, 5, '0'), 1 + g % 4,
  (g % 5000) / 100.0
  FROM generate_series(1, {line_items}) g;
INSERT INTO events SELECT g, timestamptz '2024-01-01 00:00:00+00' + g * interval '3 seconds',
  (ARRAY['view', 'click', 'cart', 'checkout'])[1 + g % 4], 1 + g % {customers},
  jsonb_build_object('path', '/p/' || g % 500, 'ms', g % 1000)
  FROM generate_series(1, {events}) g;
INSERT INTO audit_log SELECT timestamptz '2024-01-01 00:00:00+00' + g * interval '10 seconds', 'user' || g % 300,
  (ARRAY['login', 'logout', 'update', 'delete'])[1 + g % 4]
  FROM generate_series(1, {audit}) g;
)sql";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Share of the CPUs other processes kept busy over one second (from /proc/stat): how noisy the
// machine is right now.
double busy_share() {
  auto sample = [] {
    std::ifstream f("/proc/stat");
    std::string cpu;
    long long v[8] = {};
    f >> cpu;
    for (auto& x : v) f >> x;
    long long idle = v[3] + v[4], total = 0;
    for (auto x : v) total += x;
    return std::pair<long long, long long>{idle, total};
  };
  auto [i0, t0] = sample();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto [i1, t1] = sample();
  return t1 == t0 ? 0.0 : 1.0 - static_cast<double>(i1 - i0) / static_cast<double>(t1 - t0);
}

long postmaster_pid(const localpg::LocalCluster& c) {
  std::ifstream pidfile(c.directory() + "/data/postmaster.pid");
  long pid = 0;
  pidfile >> pid;
  return pid;
}

// CPU seconds a cluster's processes have used: the postmaster's own and those of the backends
// and workers it has reaped (cutime, cstime). Connections are closed after each method, so the
// difference across a method is the server CPU it cost, whatever else runs on the machine.
double server_cpu_seconds(const localpg::LocalCluster& c) {
  long pid = postmaster_pid(c);
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)), std::istream_iterator<std::string>());
  // After "pid (comm) ": field 3 is index 0; utime, stime, cutime, cstime are fields 14..17.
  double ticks = 0;
  for (int i = 11; i <= 14 && i < static_cast<int>(f.size()); ++i) ticks += std::stod(f[i]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Processes the postmaster has not reaped yet (its auxiliary processes included).
size_t children(const localpg::LocalCluster& c) {
  long pid = postmaster_pid(c);
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  size_t n = 0;
  for (std::string p; f >> p;) ++n;
  return n;
}

void run_script(pg::Connection& conn, std::string_view sql) {
  for (const auto& s : sqlgate::split_statements(sql)) conn.exec(s);
}

struct Table {
  std::string name;
  std::vector<std::string> columns;
};

// Runs one query per table on both sides: `jobs` workers take tables from a queue, each sends
// the source's and the target's query at the same time. Throws when the sides disagree.
double per_table(const localpg::LocalCluster& source, const localpg::LocalCluster& target,
                 const std::vector<Table>& tables, int jobs, const std::function<std::string(const Table&)>& sql) {
  auto start = Clock::now();
  std::atomic<size_t> next{0};
  std::vector<std::future<void>> workers;
  for (int j = 0; j < jobs; ++j) {
    workers.push_back(std::async(std::launch::async, [&] {
      pg::Connection s = pg::Connection::open(source.conninfo("bench"), "source");
      pg::Connection t = pg::Connection::open(target.conninfo("bench"), "target");
      for (size_t i = next++; i < tables.size(); i = next++) {
        std::string q = sql(tables[i]);
        auto on_target = std::async(std::launch::async, [&] { return t.exec(q); });
        pg::Result a = s.exec(q);
        pg::Result b = on_target.get();
        for (int c = 0; c < a.columns(); ++c) {
          if (a.view(0, c) != b.view(0, c)) throw RuntimeError("sides differ on " + tables[i].name);
        }
      }
    }));
  }
  for (auto& w : workers) w.get();
  return seconds_since(start);
}

struct Args {
  double scale = 1.0;
  int jobs = 2;
  int repeat = 3;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(k + ": needs a value");
      return argv[++i];
    };
    if (k == "--scale") {
      a.scale = std::stod(value());
    } else if (k == "--jobs") {
      a.jobs = std::stoi(value());
    } else if (k == "--repeat") {
      a.repeat = std::stoi(value());
    } else {
      throw UsageError("usage: bench/verify/run [--scale X] [--jobs N] [--repeat N]");
    }
  }
  return a;
}

int run(const Args& args) {
  util::init_logging(util::LogLevel::quiet);
  auto n = [&](double base) { return static_cast<long>(base * args.scale); };
  std::printf("bench/verify: %ld cores, load average %s, CPUs busy before start %.0f%%, scale %.2f, --jobs %d, "
              "best of %d\n",
              sysconf(_SC_NPROCESSORS_ONLN), loadavg().c_str(), 100 * busy_share(), args.scale, args.jobs, args.repeat);

  std::map<std::string, std::string> settings = {{"shared_buffers", "1GB"}, {"max_wal_size", "4GB"}};
  auto source = localpg::LocalCluster::start({"bench-src", settings});
  auto target = localpg::LocalCluster::start({"bench-tgt", settings});
  auto load_start = Clock::now();
  std::string data = fmt::format(fmt::runtime(kData), fmt::arg("customers", n(300'000)), fmt::arg("orders", n(1'200'000)),
                                 fmt::arg("line_items", n(1'200'000)), fmt::arg("events", n(600'000)),
                                 fmt::arg("audit", n(200'000)));
  auto load = [&](localpg::LocalCluster& c) {
    c.create_database("bench");
    pg::Connection conn = pg::Connection::open(c.conninfo("bench"), "load");
    run_script(conn, kSchema);
    run_script(conn, data);
    conn.exec("VACUUM ANALYZE");
  };
  auto loading = std::async(std::launch::async, [&] { load(*target); });
  load(*source);
  loading.get();

  pg::Connection src = pg::Connection::open(source->conninfo("bench"), "source");
  std::vector<Table> tables;
  int64_t rows = 0;
  for (const auto& t : catalog::read_tables(src)) {
    Table table{t.ref.quoted(), {}};
    for (const auto& c : t.columns) table.columns.push_back(pg::quote_ident(c.name));
    rows += src.exec("SELECT count(*) FROM " + table.name).scalar_int64();
    tables.push_back(std::move(table));
  }
  std::sort(tables.begin(), tables.end(), [](const Table& a, const Table& b) { return a.name < b.name; });
  std::printf("loaded %lld rows in %zu tables on each side in %.1fs (PostgreSQL %s)\n\n", static_cast<long long>(rows),
              tables.size(), seconds_since(load_start), src.exec("SHOW server_version").scalar().c_str());

  auto pgcopydb = [](const Table& t) { return "SELECT count(*), sum(hashtext(r::text)::bigint) FROM " + t.name + " r"; };
  auto datadiff = [](const Table& t) {
    std::string cols;
    for (const auto& c : t.columns) cols += (cols.empty() ? "" : ", ") + c + "::text";
    return "SELECT count(*), sum(('x' || substring(md5(concat(" + cols + ")), 21))::bit(48)::bigint) FROM " + t.name;
  };
  auto count_only = [](const Table& t) { return "SELECT count(*) FROM " + t.name; };
  auto pgshift = [&]() {
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "verify", "--json", "--jobs", std::to_string(args.jobs), "--source",
                 source->url("bench"), "--target", target->url("bench")};
    auto start = Clock::now();
    util::RunResult r = util::run(spec, util::Millis(3'600'000));
    double s = seconds_since(start);
    if (r.exit_code != 0) throw RuntimeError("pgshift verify exited " + std::to_string(r.exit_code) + ": " + r.err);
    auto doc = nlohmann::json::parse(r.out);
    if (doc["summary"]["rows"].get<int64_t>() != rows) throw RuntimeError("pgshift verify compared another row count");
    return s;
  };

  // Warm the page cache so the first method does not pay for it.
  per_table(*source, *target, tables, args.jobs, count_only);

  struct Method {
    std::string name;
    std::function<double()> run;
    double best = 1e9;
    double cpu = 1e9;  // server CPU seconds, both clusters, best run
  };
  std::vector<Method> methods = {
      {"(a) pgshift verify", pgshift},
      {"(b) pgcopydb: count + sum(hashtext(row::text))", [&] { return per_table(*source, *target, tables, args.jobs, pgcopydb); }},
      {"(c) data-diff: count + sum(md5 -> 48 bits)", [&] { return per_table(*source, *target, tables, args.jobs, datadiff); }},
      {"(d) count(*) only (floor)", [&] { return per_table(*source, *target, tables, args.jobs, count_only); }},
  };
  // Server CPU is read once every backend of the method has exited and been reaped.
  size_t idle_children = children(*source) + children(*target);
  for (int settled = 0; settled < 15;) {  // until the warm-up's backends are gone (300 ms stable)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    size_t now = children(*source) + children(*target);
    settled = now < idle_children ? 0 : settled + 1;
    idle_children = std::min(idle_children, now);
  }
  auto cpu_now = [&] {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (children(*source) + children(*target) > idle_children && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return server_cpu_seconds(*source) + server_cpu_seconds(*target);
  };
  for (int r = 0; r < args.repeat; ++r) {
    for (auto& m : methods) {
      double cpu0 = cpu_now();
      double s = m.run();
      double cpu = cpu_now() - cpu0;
      m.best = std::min(m.best, s);
      m.cpu = std::min(m.cpu, cpu);
      std::fprintf(stderr, "  run %d  %-50s %7.2fs  server CPU %6.2fs\n", r + 1, m.name.c_str(), s, cpu);
    }
  }

  std::printf("%-50s %9s %14s %12s\n", "method (both sides, best run)", "seconds", "rows/s", "server CPU");
  for (const auto& m : methods) {
    std::printf("%-50s %9.2f %14.0f %11.2fs\n", m.name.c_str(), m.best, static_cast<double>(rows) / m.best, m.cpu);
  }
  double a = methods[0].best, b = methods[1].best, c = methods[2].best, d = methods[3].best;
  std::printf("\na/b = %.2f   (target <= 0.5; server CPU a/b = %.2f)\na/c = %.2f\na/d = %.2f\n", a / b,
              methods[0].cpu / methods[1].cpu, a / c, a / d);
  std::printf("load average after: %s, CPUs busy after %.0f%%\n", loadavg().c_str(), 100 * busy_share());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench/verify: %s\n", e.what());
    return 1;
  }
}
