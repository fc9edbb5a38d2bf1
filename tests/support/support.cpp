#include "support.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "pg/quote.hpp"
#include "state/plan.hpp"
#include "sqlgate/split.hpp"
#include "util/process.hpp"

namespace pgshift::testing {

std::string migration_name(const LocalCluster& source, const LocalCluster& target, const std::string& db,
                           const std::string& target_db) {
  return state::default_object_name(pg::ConnInfo::parse(source.url(db), "source"),
                                    pg::ConnInfo::parse(target.url(target_db.empty() ? db : target_db), "target"));
}

std::unique_ptr<LocalCluster> start_cluster(const std::string& name,
                                            const std::map<std::string, std::string>& settings) {
  return LocalCluster::start({name, settings});
}

pg::Connection connect(const LocalCluster& cluster, const std::string& db) {
  pg::ConnectOptions options;
  options.application_name = "pgshift-test";
  options.role = cluster.name();
  return pg::Connection::open(cluster.conninfo(db), options);
}

void run_sql(pg::Connection& conn, std::string_view script) {
  for (const auto& statement : sqlgate::split_statements(script)) conn.exec(statement);
}

int64_t count_rows(pg::Connection& conn, const std::string& table) {
  return conn.exec("SELECT count(*) FROM " + table).scalar_int64();
}

CliRun run_pgshift(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                   util::Millis timeout) {
  util::ProcessSpec spec;
  spec.argv.push_back(PGSHIFT_BINARY);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env;
  spec.env["NO_COLOR"] = "1";
  for (const char* v : {"PGSHIFT_SOURCE_URL", "PGSHIFT_TARGET_URL", "PGPASSWORD", "PGHOST", "PGPORT"}) {
    if (!env.count(v)) spec.unset_env.emplace_back(v);
  }
  util::RunResult r = util::run(spec, timeout);
  if (r.timed_out) ADD_FAILURE() << "pgshift timed out: " << r.err;
  return {r.exit_code, r.out, r.err};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

long long peak_rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6));
  }
  return -1;
}

bool wait_until(const std::function<bool()>& predicate, util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void expect_no_password(const std::string& text) {
  EXPECT_EQ(text.find(localpg::kLocalPassword), std::string::npos) << "password leaked in:\n" << text;
}

std::string write_temp_file(const std::string& name, const std::string& text) {
  static const std::string dir = [] {
    std::string pattern = "/tmp/pgshift-test-files-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
  }();
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

size_t line_count(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  if (!text.empty() && text.back() != '\n') ++n;
  return n;
}

}  // namespace pgshift::testing
