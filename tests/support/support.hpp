// Test support: real PostgreSQL clusters and PgBouncer (from localpg), the pgshift binary as a
// user runs it, and small helpers. Nothing here is a mock.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "localpg/cluster.hpp"
#include "localpg/pgbouncer.hpp"
#include "pg/connection.hpp"
#include "util/duration.hpp"

namespace pgshift::testing {

using localpg::LocalCluster;
using localpg::LocalPgBouncer;

// Starts a cluster; fails the test (throws) with the server log when it cannot.
std::unique_ptr<LocalCluster> start_cluster(const std::string& name,
                                            const std::map<std::string, std::string>& settings = {});

pg::Connection connect(const LocalCluster& cluster, const std::string& db = "postgres");

// Runs a multi-statement script one statement at a time (split by PostgreSQL's parser).
void run_sql(pg::Connection& conn, std::string_view script);

// SELECT count(*) FROM table.
int64_t count_rows(pg::Connection& conn, const std::string& table);

// What a user sees from one run of the pgshift binary.
struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// Runs build/pgshift with args. env adds variables; PGSHIFT_* from the test's own environment
// are removed so runs are reproducible.
CliRun run_pgshift(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                   util::Millis timeout = util::Millis(300'000));

// The default publication/subscription (and slot) name pgshift derives for a migration between
// these two databases (state::default_object_name of their URLs).
std::string migration_name(const LocalCluster& source, const LocalCluster& target, const std::string& db = "app",
                           const std::string& target_db = "");

// Polls predicate every 50 ms until true or timeout; returns whether it became true.
bool wait_until(const std::function<bool()>& predicate, util::Millis timeout);

// The whole file (binary-safe); "" when it cannot be read.
std::string read_file(const std::string& path);

// A process's peak resident memory (VmHWM of /proc/<pid>/status) in kB; -1 when unreadable.
long long peak_rss_kb(int pid);

// Asserts that text never contains the local clusters' password.
void expect_no_password(const std::string& text);

// Writes text to a new file `name` in a directory private to this test process (removed at exit
// by the OS's /tmp cleaning, not by the test); returns its path.
std::string write_temp_file(const std::string& name, const std::string& text);

// Number of lines (trailing newline not counted as an extra line).
size_t line_count(const std::string& text);

}  // namespace pgshift::testing
