// bench/cutover: the client-visible cost of a switch. pgbench runs a write transaction (insert a
// ledger row, bump a counter) through PgBouncer in transaction pooling at a fixed rate, logging
// every transaction's start time and latency; pgshift switches the writer back and forth a few
// times in the middle. For each switch: transactions, failures, lost commits (rows the writer
// holds against transactions pgbench counted as done), median latency, the longest latency that
// started during the switch, and the stall = longest - median. The whole run is repeated at each
// --scales factor of --base-rows rows in an extra replicated table, and again at each --tables
// count of replicated tables (each with its own sequence), and the stalls and pauses are printed
// side by side with their ratios: neither the data (verify runs before the pause) nor the number
// of tables (the fence's triggers are installed before it) should make the pause grow.
//
// Then the replication back's throughput, side by side: after a cutover, with the replication
// back stopped, the target takes --reverse-txns one-row transactions, an insert of --reverse-rows
// rows and an update of all of them; the replication back is started again and timed until the
// source holds the last transaction's marker row: once with the native subscription on the
// source (--replicate-back native) and once with pgshift's own apply (--replicate-back pgshift,
// `pgshift sync apply-back` started as a process), on fresh clusters each, as the same superuser.
// Prints rows/s of each and their ratio. It prints figures; it does not pass or fail.
#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "demo/workload.hpp"
#include "localpg/cluster.hpp"
#include "localpg/pgbouncer.hpp"
#include "pg/connection.hpp"
#include "sqlgate/split.hpp"
#include "util/process.hpp"

using namespace pgshift;
namespace fs = std::filesystem;

namespace {

struct Args {
  int rate = 200;
  int clients = 8;
  int switches = 3;
  double gap_s = 6;  // seconds of steady load before, between and after switches
  std::string verify = "counts";
  long long base_rows = 100'000;  // rows of the bulk table at scale 1
  std::vector<int> scales = {1, 10};
  std::vector<int> tables = {10, 1000};  // replicated tables besides the workload's and bulk
  std::string only;                      // "switches" or "reverse": run one part only
  long long reverse_rows = 100'000;      // rows inserted then updated in the reverse-apply part
  int reverse_txns = 5'000;              // one-row transactions in the reverse-apply part
};

std::vector<int> parse_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoi(item));
  if (out.empty()) throw std::runtime_error(flag + ": expected e.g. 1,10");
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--rate") a.rate = std::stoi(next());
    else if (k == "--clients") a.clients = std::stoi(next());
    else if (k == "--switches") a.switches = std::stoi(next());
    else if (k == "--gap") a.gap_s = std::stod(next());
    else if (k == "--verify") a.verify = next();
    else if (k == "--base-rows") a.base_rows = std::stoll(next());
    else if (k == "--scales") a.scales = parse_list(next(), k);
    else if (k == "--tables") a.tables = parse_list(next(), k);
    else if (k == "--only") a.only = next();
    else if (k == "--reverse-rows") a.reverse_rows = std::stoll(next());
    else if (k == "--reverse-txns") a.reverse_txns = std::stoi(next());
    else throw std::runtime_error("unknown argument " + k +
                                  " (--rate N --clients N --switches N --gap S --verify M --base-rows N --scales 1,10 "
                                  "--tables 10,1000 --only switches|reverse --reverse-rows N --reverse-txns N)");
  }
  if (!a.only.empty() && a.only != "switches" && a.only != "reverse") {
    throw std::runtime_error("--only: expected switches or reverse, got " + a.only);
  }
  return a;
}

struct Sample {
  double start_s;  // epoch seconds when the transaction started
  double latency_ms;
};

// pgbench -l lines: client_id transaction_no time script_no time_epoch time_us [schedule_lag]
// where time is the latency in microseconds and time_epoch/time_us the end of the transaction.
std::vector<Sample> read_pgbench_logs(const std::string& dir) {
  std::vector<Sample> out;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().filename().string().rfind("pgbench_log", 0) != 0) continue;
    std::ifstream in(f.path());
    long long client, txn, latency_us, script, epoch, us;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      if (!(ss >> client >> txn >> latency_us >> script >> epoch >> us)) continue;
      double end = static_cast<double>(epoch) + static_cast<double>(us) / 1e6;
      out.push_back({end - static_cast<double>(latency_us) / 1e6, static_cast<double>(latency_us) / 1000.0});
    }
  }
  return out;
}

double now_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Switch {
  std::string action;
  double from = 0, to = 0;
  nlohmann::json result;
  double stall_ms = 0;
};

struct Outcome {
  int scale = 1;
  int tables = 0;
  long long rows = 0;
  std::vector<Switch> switches;
  long long failed = 0, lost = 0;
};

// `count` extra tables, each with a bigserial key (so a sequence each) and a row.
constexpr std::string_view kExtraTablesSql = R"sql(
DO $$
BEGIN
  FOR i IN 1..{} LOOP
    EXECUTE format('CREATE TABLE extra_%s (id bigserial PRIMARY KEY, v int NOT NULL DEFAULT 0)', i);
  END LOOP;
END
$$
)sql";

// A source and a target with the workload's tables, `bulk` (rows on the source) and `tables`
// extra tables, PgBouncer in front of the source, sync started and every table ready.
struct Pair {
  std::unique_ptr<localpg::LocalCluster> source, target;
  std::unique_ptr<localpg::LocalPgBouncer> bouncer;

  util::RunResult pgshift(const std::vector<std::string>& args) const {
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "-q"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env();
    return util::run(spec);
  }
  std::map<std::string, std::string> env() const {
    return {{"PGSHIFT_SOURCE_URL", source->url("app")},
            {"PGSHIFT_TARGET_URL", target->url("app")},
            {"PGSHIFT_POOLER_ADMIN_URL", bouncer->admin_url()}};
  }
};

Pair start_pair(long long rows, int tables) {
  Pair p;
  p.source = localpg::LocalCluster::start({"bench-src", {}});
  p.target = localpg::LocalCluster::start({"bench-tgt", {}});
  for (auto* c : {p.source.get(), p.target.get()}) {
    c->create_database("app");
    pg::Connection conn = pg::Connection::open(c->conninfo("app"));
    for (const auto& s : sqlgate::split_statements(demo::kWorkloadTables)) conn.exec(s);
    conn.exec("CREATE TABLE bulk (id bigint PRIMARY KEY, payload text NOT NULL)");
    conn.exec(fmt::format(fmt::runtime(kExtraTablesSql), tables));
  }
  pg::Connection src = pg::Connection::open(p.source->conninfo("app"));
  src.exec(demo::kWorkloadSeed);
  src.exec("INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, $1::bigint) g", {std::to_string(rows)});
  src.exec(fmt::format("DO $$ BEGIN FOR i IN 1..{} LOOP EXECUTE format('INSERT INTO extra_%s (v) VALUES (1)', i); "
                       "END LOOP; END $$",
                       tables));
  p.bouncer = localpg::LocalPgBouncer::start(*p.source, {"app"}, {"transaction", 20, 200, {}});
  util::RunResult started = p.pgshift({"sync", "start"});
  if (started.exit_code != 0) throw std::runtime_error("sync start failed: " + started.err);
  pg::Connection tgt = pg::Connection::open(p.target->conninfo("app"));
  while (tgt.exec("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").scalar_int64() > 0 ||
         tgt.exec("SELECT count(*) FROM pg_subscription_rel").scalar_int64() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return p;
}

Outcome run(const Args& a, int scale, int tables) {
  Outcome o;
  o.scale = scale;
  o.tables = tables;
  o.rows = a.base_rows * scale;
  std::printf("\n=== scale %dx: %lld rows in the bulk table, %d extra tables ===\n", scale, o.rows, tables);
  Pair pair = start_pair(o.rows, tables);
  auto& source = pair.source;
  auto& target = pair.target;
  auto& bouncer = pair.bouncer;
  auto pgshift = [&](std::vector<std::string> args) { return pair.pgshift(args); };
  pg::Connection src = pg::Connection::open(source->conninfo("app"));
  pg::Connection tgt = pg::Connection::open(target->conninfo("app"));

  std::string dir = localpg::make_private_dir("bench-cutover-logs");
  std::string script = dir + "/txn.sql";
  std::ofstream(script) << "\\set w random(1, 1000)\nBEGIN;\nINSERT INTO ledger (writer) VALUES (:w);\n"
                           "UPDATE counters SET n = n + 1 WHERE k = 1;\nEND;\n";
  double duration = a.gap_s * (a.switches + 1) + a.switches * 1.0;
  util::ProcessSpec bench;
  bench.argv = {localpg::postgres_bindir() + "/pgbench", "-n", "-f", script, "-R", std::to_string(a.rate),
                "-c", std::to_string(a.clients), "-j", "2", "-T", std::to_string(static_cast<int>(duration + 0.5)),
                "-l", "--log-prefix", dir + "/pgbench_log", "-h", "127.0.0.1", "-p", std::to_string(bouncer->port()),
                "-U", "postgres", "app"};
  bench.env = {{"PGPASSWORD", localpg::kLocalPassword}};
  bench.cwd = dir;
  bench.output_file = dir + "/pgbench.out";
  util::Child load = util::spawn(bench);

  std::vector<Switch>& switches = o.switches;
  std::this_thread::sleep_for(std::chrono::duration<double>(a.gap_s));
  for (int i = 0; i < a.switches; ++i) {
    Switch s;
    s.action = i % 2 == 0 ? "cutover" : "rollback";
    s.from = now_epoch();
    util::RunResult r = pgshift({s.action, "--json", "--verify", a.verify, "--pooler-db", "app", "--pooler-config",
                                 bouncer->config_path()});
    s.to = now_epoch();
    if (r.exit_code != 0) throw std::runtime_error(s.action + " failed: " + r.err + r.out);
    s.result = nlohmann::json::parse(r.out);
    o.switches.push_back(std::move(s));
    std::this_thread::sleep_for(std::chrono::duration<double>(a.gap_s));
  }
  load.wait();

  std::ifstream out_file(dir + "/pgbench.out");
  std::stringstream pgbench_out;
  pgbench_out << out_file.rdbuf();
  std::string text = pgbench_out.str();
  auto number_after = [&](const std::string& label) -> long long {
    size_t at = text.find(label);
    return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + label.size());
  };
  long long processed = number_after("number of transactions actually processed: ");
  long long failed = number_after("number of failed transactions: ");
  bool aborted = text.find("aborted") != std::string::npos;

  bool writer_is_target = a.switches % 2 == 1;
  pg::Connection& writer = writer_is_target ? tgt : src;
  long long rows = writer.exec("SELECT count(*) FROM ledger").scalar_int64();
  long long counter = writer.exec(std::string(demo::kWorkloadCounterSql)).scalar_int64();

  std::vector<Sample> samples = read_pgbench_logs(dir);
  std::vector<double> all;
  for (const auto& s : samples) all.push_back(s.latency_ms);
  std::sort(all.begin(), all.end());
  double median = all.empty() ? 0 : all[all.size() / 2];

  std::printf("\npgbench: %lld transactions processed, %lld failed%s; writer (%s) holds %lld ledger rows, counter %lld\n",
              processed, failed, aborted ? ", SOME CLIENTS ABORTED" : "", writer_is_target ? "target" : "source", rows,
              counter);
  std::printf("lost commits: %lld (transactions pgbench counted as done that the writer does not hold)\n\n",
              processed - rows);
  std::printf("%-9s %9s %12s %14s %10s %10s %12s\n", "switch", "took", "pooler pause", "writes blocked", "median",
              "max", "stall");
  for (auto& s : switches) {
    double max = 0;
    for (const auto& x : samples) {
      if (x.start_s >= s.from - 0.05 && x.start_s <= s.to) max = std::max(max, x.latency_ms);
    }
    s.stall_ms = max - median;
    std::printf("%-9s %7.0fms %10.0fms %12.0fms %8.1fms %8.0fms %10.0fms\n", s.action.c_str(), (s.to - s.from) * 1000,
                s.result.value("paused_ms", 0.0), s.result.value("writes_blocked_ms", 0.0), median, max, s.stall_ms);
  }
  for (const auto& s : switches) {
    std::printf("\ntimeline of %s:\n", s.action.c_str());
    for (const auto& step : s.result["timeline"]) {
      std::printf("  %-17s %7.1f ms  %s\n", step["step"].get<std::string>().c_str(), step["took_ms"].get<double>(),
                  step["summary"].get<std::string>().c_str());
    }
  }
  localpg::remove_tree(dir);
  o.failed = failed;
  o.lost = processed - rows;
  return o;
}

double worst_stall(const Outcome& o) {
  double w = 0;
  for (const auto& s : o.switches) w = std::max(w, s.stall_ms);
  return w;
}

double worst_pause(const Outcome& o) {
  double w = 0;
  for (const auto& s : o.switches) w = std::max(w, s.result.value("paused_ms", 0.0));
  return w;
}

void print_ratio(const char* what, const Outcome& small, const Outcome& big) {
  std::printf("%s: max stall %.0f -> %.0f ms (ratio %.2f), max pause %.0f -> %.0f ms (ratio %.2f)\n", what,
              worst_stall(small), worst_stall(big), worst_stall(big) / std::max(1.0, worst_stall(small)),
              worst_pause(small), worst_pause(big), worst_pause(big) / std::max(1.0, worst_pause(small)));
}


// ---- the replication back's throughput ------------------------------------------------------

struct ReverseRun {
  std::string by;  // native / pgshift
  long long changes = 0;
  double seconds = 0;
  double rows_per_s() const { return seconds > 0 ? static_cast<double>(changes) / seconds : 0; }
};

template <typename Fn>
void poll(const std::string& what, Fn done, double timeout_s = 600) {
  double until = now_epoch() + timeout_s;
  while (!done()) {
    if (now_epoch() > until) throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// One side of the comparison on fresh clusters: cutover with --replicate-back `by`, the
// replication back stopped, the changes written on the target, then the replication back started
// and timed until the source holds the marker row of the last transaction.
ReverseRun reverse_run(const Args& a, const std::string& by) {
  std::printf("\n=== replication back by %s ===\n", by.c_str());
  Pair p = start_pair(0, 1);
  std::string dir = localpg::make_private_dir("bench-cutover-reverse");
  std::string log = dir + "/apply-back.log";
  util::RunResult cut = p.pgshift({"cutover", "--json", "--verify", "none", "--replicate-back", by, "--apply-back-log",
                                   log, "--pooler-db", "app", "--pooler-config", p.bouncer->config_path()});
  if (cut.exit_code != 0) throw std::runtime_error("cutover failed: " + cut.err + cut.out);
  pg::Connection src = pg::Connection::open(p.source->conninfo("app"));
  pg::Connection tgt = pg::Connection::open(p.target->conninfo("app"));
  std::string slot = tgt.exec("SELECT slot_name FROM pg_replication_slots").scalar();
  auto slot_idle = [&] {
    return tgt.exec("SELECT NOT active FROM pg_replication_slots WHERE slot_name = $1", {slot}).scalar() == "t";
  };
  if (by == "native") {
    std::string sub = src.exec("SELECT subname FROM pg_subscription").scalar();
    src.exec(fmt::format("ALTER SUBSCRIPTION {} DISABLE", sub));
  } else {
    util::RunResult st = p.pgshift({"status", "--json"});
    int pid = nlohmann::json::parse(st.out)["apply_back"]["pid"].get<int>();
    ::kill(pid, SIGTERM);
  }
  poll("the replication back to stop", slot_idle);

  ReverseRun r;
  r.by = by;
  tgt.exec_simple(fmt::format("DO $$ BEGIN FOR i IN 1..{} LOOP INSERT INTO ledger (writer) VALUES (1); COMMIT; END LOOP; "
                              "END $$",
                              a.reverse_txns));
  tgt.exec("INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, $1::bigint) g",
           {std::to_string(a.reverse_rows)});
  tgt.exec("UPDATE bulk SET payload = payload || 'x'");
  tgt.exec("INSERT INTO ledger (writer) VALUES (-1)");
  r.changes = a.reverse_txns + 2 * a.reverse_rows + 1;

  double t0 = now_epoch();
  util::Child apply;
  if (by == "native") {
    src.exec(fmt::format("ALTER SUBSCRIPTION {} ENABLE", src.exec("SELECT subname FROM pg_subscription").scalar()));
  } else {
    util::ProcessSpec spec;
    spec.argv = {PGSHIFT_BINARY, "sync", "apply-back"};
    spec.env = p.env();
    spec.output_file = log;
    apply = util::spawn(spec);
  }
  poll("the source to hold the last transaction",
       [&] { return src.exec("SELECT count(*) FROM ledger WHERE writer = -1").scalar_int64() == 1; });
  r.seconds = now_epoch() - t0;
  if (by != "native") {
    apply.signal(SIGTERM);
    apply.wait();
  }
  std::printf("%lld row changes applied on the source in %.2f s: %.0f rows/s\n", r.changes, r.seconds, r.rows_per_s());
  localpg::remove_tree(dir);
  return r;
}

void run_reverse(const Args& a) {
  std::printf("\nreplication back (target -> source) throughput: %d one-row transactions, an insert of %lld rows and "
              "an update of them, applied after the replication back was stopped; superuser on both sides\n",
              a.reverse_txns, a.reverse_rows);
  ReverseRun native = reverse_run(a, "native");
  ReverseRun own = reverse_run(a, "pgshift");
  std::printf("\nside by side:\n%-28s %12s %9s %10s\n", "replication back", "row changes", "seconds", "rows/s");
  for (const ReverseRun* r : {&native, &own}) {
    std::printf("%-28s %12lld %9.2f %10.0f\n",
                r->by == "native" ? "native subscription" : "pgshift sync apply-back", r->changes, r->seconds,
                r->rows_per_s());
  }
  std::printf("pgshift apply / native subscription = %.2f\n", own.rows_per_s() / std::max(1.0, native.rows_per_s()));
}

// The data scales run at the first table count, the other table counts at the first data scale.
int run_switches(const Args& a) {
  std::printf("bench/cutover: pgbench -R %d -c %d through PgBouncer (transaction pooling), %d switch(es), "
              "verify --verify %s before the pause, %u cores, scales",
              a.rate, a.clients, a.switches, a.verify.c_str(), std::thread::hardware_concurrency());
  for (int s : a.scales) std::printf(" %dx", s);
  std::printf(" of %lld bulk rows, extra tables", a.base_rows);
  for (int t : a.tables) std::printf(" %d", t);
  std::printf("\n");
  std::vector<Outcome> by_data, by_tables;
  for (int s : a.scales) by_data.push_back(run(a, s, a.tables.front()));
  by_tables.push_back(by_data.front());
  for (size_t i = 1; i < a.tables.size(); ++i) by_tables.push_back(run(a, a.scales.front(), a.tables[i]));
  std::printf("\nside by side (stall = longest latency of a transaction started during the switch - median):\n");
  std::printf("%-7s %7s %10s %7s %7s", "scale", "tables", "rows", "failed", "lost");
  for (int i = 0; i < a.switches; ++i) std::printf(" %9s", (i % 2 == 0 ? "cutover" : "rollback"));
  std::printf(" %9s %9s\n", "max stall", "max pause");
  std::vector<const Outcome*> all;
  for (const auto& o : by_data) all.push_back(&o);
  for (size_t i = 1; i < by_tables.size(); ++i) all.push_back(&by_tables[i]);
  for (const Outcome* o : all) {
    std::printf("%-7s %7d %10lld %7lld %7lld", fmt::format("{}x", o->scale).c_str(), o->tables, o->rows, o->failed,
                o->lost);
    for (const auto& s : o->switches) std::printf(" %7.0fms", s.stall_ms);
    std::printf(" %7.0fms %7.0fms\n", worst_stall(*o), worst_pause(*o));
  }
  if (by_data.size() > 1) {
    print_ratio(fmt::format("data {}x / {}x", by_data.back().scale, by_data.front().scale).c_str(), by_data.front(),
                by_data.back());
  }
  if (by_tables.size() > 1) {
    print_ratio(fmt::format("tables {} / {}", by_tables.back().tables, by_tables.front().tables).c_str(),
                by_tables.front(), by_tables.back());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    if (a.only != "reverse") run_switches(a);
    if (a.only != "switches") run_reverse(a);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench/cutover: %s\n", e.what());
    return 2;
  }
}
