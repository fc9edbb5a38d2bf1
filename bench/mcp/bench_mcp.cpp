// bench/mcp: builds the benchmark database once, then runs the HTTP sessions part and the stdio
// side-by-side part (bench_mcp.hpp). Flags: --sessions N --seconds S (HTTP), --statements N
// (stdio), --only http|stdio, --binary PATH (run another pgshift build), --before PATH (stdio:
// also run this build, e.g. main's, as a third server in the same interleaved run).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "bench_mcp.hpp"
#include "pg/connection.hpp"
#include "pg/quote.hpp"
#include "util/log.hpp"

using namespace pgshift;

int main(int argc, char** argv) {
  int sessions = 20, seconds = 30, statements = 1000;
  std::string only, binary = PGSHIFT_BINARY, before;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--sessions") sessions = std::stoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::stoi(argv[i + 1]);
    else if (a == "--statements") statements = std::stoi(argv[i + 1]);
    else if (a == "--only") only = argv[i + 1];
    else if (a == "--binary") binary = argv[i + 1];
    else if (a == "--before") before = argv[i + 1];
    else {
      std::fprintf(stderr, "bench/mcp: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  util::init_logging(util::LogLevel::quiet);
  auto cluster = localpg::LocalCluster::start({"bench-mcp", {{"fsync", "off"}, {"autovacuum", "off"}}});
  {
    pg::Connection admin = pg::Connection::open(cluster->conninfo());
    admin.exec("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, price numeric(10,2), "
               "created_at timestamptz NOT NULL DEFAULT now())");
    admin.exec("COMMENT ON TABLE items IS 'the benchmark catalogue'");
    admin.exec("CREATE INDEX items_label ON items (label)");
    admin.exec("INSERT INTO items (id, label, price) SELECT g, md5(g::text), (g % 1000) / 3.0 FROM "
               "generate_series(1, 200000) g");
    admin.exec("ANALYZE items");
    admin.exec("CREATE ROLE reader LOGIN PASSWORD " + pg::quote_literal(localpg::kLocalPassword) +
               " IN ROLE pg_read_all_data, pg_read_all_stats");
  }
  std::string dir = "/tmp/pgshift-bench-mcp-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  int code = 0;
  if (only.empty() || only == "http") code = bench::run_http_sessions(*cluster, binary, dir, sessions, seconds);
  if (code == 0 && (only.empty() || only == "stdio")) {
    if (only.empty()) std::printf("\n");
    code = bench::run_stdio_side_by_side(*cluster, binary, before, dir, statements);
  }
  std::filesystem::remove_all(dir);
  return code;
}
