// Internal to the stats room: how a diagnostic report is built. Not for other rooms.
//
// An Inspector holds one READ ONLY transaction on the inspected connection for the whole report
// (statement_timeout, lock_timeout, TimeZone UTC and DateStyle ISO set LOCAL; rolled back at the
// end, so nothing persists), runs each NamedQuery inside a savepoint, and turns what a restricted
// role may not read, a timeout or another SQL error into a finding about that section instead of
// an exception. Only a broken connection propagates (pg::SqlError).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "pg/transaction.hpp"
#include "stats/diagnostics.hpp"
#include "stats/report.hpp"
#include "state/journal.hpp"

namespace pgshift::stats::detail {

inline constexpr int kMinVersion = 130000;
inline constexpr int kMaxTestedVersion = 179999;

// One diagnostic: fixed SQL, what it shows, what a role needs to read it.
struct NamedQuery {
  std::string_view id;           // section id
  std::string_view title;
  std::string_view explanation;  // one line: what the rows show and why they matter
  std::string_view sql;
  std::string_view needs = "membership in pg_monitor";  // privilege, for the finding when denied
  int min_version = kMinVersion;                         // the query is skipped below this
};

// The savepoint each query runs under; top_queries leaves its statements out, as they are the
// diagnostics' own bookkeeping (LIKE pattern below).
inline constexpr std::string_view kSavepointName = "pgshift_stats";
inline constexpr std::string_view kOwnStatementsPattern = "%SAVEPOINT pgshift_stats";

// Schemas no diagnostic lists (PostgreSQL-internal, pgshift's journal, CloudNativePG and
// TimescaleDB internals), as a PostgreSQL regular expression bound as $1 (`nspname !~ $1`).
inline constexpr std::string_view kInternalSchemas =
    "^(pg_catalog|information_schema|pg_toast.*|pg_temp_.*|pgshift|cnpg.*|_timescaledb_.*|timescaledb_.*)$";
bool is_internal_schema(std::string_view schema);  // the same test in C++

class Inspector {
 public:
  Inspector(pg::Connection& conn, const Options& options, std::string id, std::string title);
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  // False below PostgreSQL 13: the report then carries `unsupported-version` only.
  bool supported() const { return supported_; }
  int version() const { return report_.server_version_num; }
  pg::Connection& conn() { return conn_; }
  const Options& options() const { return options_; }

  // Runs q (nullopt when skipped for this version or when it failed; the failure is a finding
  // on section q.id, or on the report when there is no such section).
  std::optional<pg::Result> query(const NamedQuery& q, const pg::Params& params = {});
  // Runs q and adds its rows as a section (explanation overrides q.explanation when not empty,
  // to state a bound threshold). A failed query still adds the section, empty, with the finding.
  std::optional<pg::Result> section(const NamedQuery& q, const pg::Params& params = {},
                                    std::string explanation = {});
  // Runs fn in a savepoint with the same error handling (for readers of other modules, such
  // as the journal's); returns false when it failed.
  bool guarded(const NamedQuery& q, const std::function<void()>& fn);

  void fact(Fact f) { report_.facts.push_back(std::move(f)); }
  // Attaches to the section with that id, or to the report when section_id is empty/unknown.
  void finding(Finding f, std::string_view section_id = {});
  Section* find_section(std::string_view id);
  Report& report() { return report_; }

  // Rolls back, collects every finding (sections' included) most severe first, returns the report.
  Report finish();

 private:
  void failed(const NamedQuery& q, const pg::SqlError& e);
  pg::Connection& conn_;
  Options options_;
  Report report_;
  std::optional<pg::Transaction> tx_;
  bool supported_ = true;
};

// The soak clock from the journal's soak events (its newest one): "not run", "running" (seconds
// of clean time since the clock last (re)started), "passed" (seconds it required) or "failed".
struct SoakState {
  std::string state = "not run";
  std::string since;  // the newest soak event's time
  std::optional<double> seconds;
};
SoakState soak_state(Inspector& in, const std::vector<state::Event>& events);

// A query that stops at a LIMIT names how many rows qualified in this column
// (`count(*) OVER () AS total_rows`); fill_section takes it as Section::total_rows, not as a column.
inline constexpr std::string_view kTotalRowsColumn = "total_rows";

// Column names and cells of a result as a section's columns and rows.
void fill_section(Section& section, const pg::Result& result);

// Seconds as PostgreSQL's float8 input ("1.5"), for a bound threshold.
std::string seconds_param(double seconds);

}  // namespace pgshift::stats::detail
