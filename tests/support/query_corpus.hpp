// The SQL corpora of the query engine's tests (tests/integration/query_corpus/*.txt), as data.
//
// File format: entries separated by a line "====". An entry is header lines, then SQL lines
// (everything after the last header line, verbatim, newlines included). Header lines:
//   # text              a comment
//   @class NAME         what the entry tries (bypass) or shows (legit)
//   @rule NAME          bypass: the sqlgate rule code that must reject it
//   @barrier NAME       bypass: what stops it if the gate did not, one of
//                         read-only          fails with 25006 inside pgshift's transaction
//                         role               fails with 42501 as the low-privilege reader role
//                         protocol           fails with 42601: the extended protocol refuses a
//                                            second statement
//                         transaction-block  fails with 25001: cannot run inside a transaction
//                         rollback           runs, and ROLLBACK undoes it (canary unchanged)
//                         gate               the gate is the only barrier; @why says why
//   @sqlstate CODE      bypass: the SQLSTATE the barrier raises when not its default
//   @as ROLE            bypass: superuser or reader, when not the barrier's default
//   @why TEXT           required for gate and rollback barriers
//   @min_rows N         legit: the result must have at least N rows
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "localpg/cluster.hpp"
#include "pg/connection.hpp"

namespace pgshift::testing {

struct CorpusEntry {
  std::string file;
  int line = 0;  // first line of the entry, for messages
  std::string cls;
  std::string rule;
  std::string barrier;
  std::string sqlstate;
  std::string as;
  std::string why;
  long long min_rows = 0;
  std::string sql;

  std::string where() const { return file + ":" + std::to_string(line); }
};

// Creates the README's recommended low-privilege role for the read-only window: LOGIN with the
// local password, pg_read_all_data, pg_read_all_stats, pg_read_all_settings.
void create_reader_role(pg::Connection& admin, const std::string& name = "reader");

// A cluster with db created, schema run in it by the superuser, and the reader role: what the
// query engine's integration tests start from. user "superuser" in open() is postgres.
class ReaderCluster {
 public:
  ReaderCluster(const std::string& name, const std::map<std::string, std::string>& settings, std::string db,
                std::string_view schema);
  pg::Connection open(const std::string& user) const;
  const localpg::LocalCluster& cluster() const { return *cluster_; }

 private:
  std::unique_ptr<localpg::LocalCluster> cluster_;
  std::string db_;
};

// Reads tests/integration/query_corpus/<name>; throws std::runtime_error on a malformed file.
std::vector<CorpusEntry> load_corpus(const std::string& name);

}  // namespace pgshift::testing
