// The console's routes on an http::Server: the pages and their JSON under /api/, wired to the
// shared rooms. install() registers, under the server's base path:
//
//   pages  GET /  /tables  /tables/{schema}/{name}  /tables/{schema}/{name}/structure  /indexes  /queries  /activity  /replication
//              /backups  /settings  /sql  /migration  /assets/{file}
//   API    GET /api/overview  /api/tables  /api/tables/{schema}/{name}
//              /api/tables/{schema}/{name}/structure (catalog::describe_table)  /api/indexes
//              /api/queries  /api/activity  /api/replication  /api/backups  /api/settings
//              /api/migration
//              /api/table-list (catalog::list_tables: the Tables tab's finder, at most 10,000)
//              /api/tables/{schema}/{name}/export?format=csv|json|markdown (the browser's rows
//              with its f=/fc=, sort=, dir=, every page, up to export_row_limit rows: a streamed
//              download, console/export_stream.hpp and console/table_export.hpp)
//              /api/tables/{schema}/{name}/count (SELECT count(*) through the gate, audited,
//              with the statement timeout: {"count", "elapsed_ms"}; 422 timed_out when it is not
//              done in time)
//   /queries and /api/queries take ?sort= (a stats::QueryOrder name) and ?dir=asc|desc.
//          POST /api/sql  {"sql": "...", "limit": n}  (?format=csv|json|markdown: a download,
//                 console/export_stream.hpp); an EXPLAIN runs as EXPLAIN (FORMAT JSON)
//                 (console/explain_json.hpp) and its answer says "plan_format": "json"
//   /sql?from=ID puts a statement of the caller's history into the editor (runs nothing);
//   /history, /api/history, POST /api/history/clear: console/history_routes.hpp.
//
// Every tab's data is a stats diagnostic run on a pooled connection; every statement a user
// writes or the table browser builds goes through query::run_audited (gate, READ ONLY engine,
// audit line, application_name = pgshift/console/<correlation id>). Status codes: 400 gate
// rejection ({"error": {rule, message, position}}) or bad parameter (naming it), 404 unknown
// table, 422 SQL error (sqlstate) and timeout or cancel (sqlstate 57014, "timed_out" or
// "cancelled": true; never 408, which browsers resend on their own), 503 + Retry-After when the pool is busy or the
// database is unreachable. A client that disconnects cancels its running statement.
// Metrics added: pgshift_statements_total{outcome,rule}, pgshift_pool_connections_{in_use,open},
// pgshift_pool_waiting, and the database gauges of stats::gauges() at scrape time.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "audit/audit.hpp"
#include "http/server.hpp"
#include "query/pool.hpp"
#include "query/query.hpp"
#include "stats/diagnostics.hpp"
#include "util/duration.hpp"

namespace pgshift::console {

class History;

// The Backups tab's base-backup inventory, injected by cli (the backup room's inventory): a
// stats::Report section in its JSON form (id "base_backups"). Unset: "no backup source
// configured".
using BackupInventory = std::function<nlohmann::json()>;

struct ConsoleOptions {
  long long row_limit = 1000;            // SQL tab: most rows a statement returns (limit is capped)
  util::Millis timeout{5'000};           // statement timeout
  long long page_size = 50;              // table browser rows per page
  long long export_row_limit = 100'000;  // a table export's rows at most (--export-row-limit)
  std::string database_label;            // redacted endpoint shown in the page header
  BackupInventory backup_inventory;      // the Backups tab's base backups (a stats::Report JSON)
  query::Options statement_defaults;      // allow-lists of the gate's catalog policy; the console
                                          // sets limit and timeout per statement
  query::Pool* journal_pool = nullptr;   // --journal: the migration's target; null: the main pool
  stats::Options stats;
  // A tab's report is reused for this long (many people on one dashboard run its diagnostics once
  // per interval, not once per page view); a table's catalog shape likewise. 0: always fresh.
  util::Millis report_cache{1'000};
  util::Millis shape_cache{5'000};
  // The query history (--history-file); null: one in memory, owned by the routes. Fed from the
  // audit log's records of the statements people run themselves.
  History* history = nullptr;
};

// Registers the routes. Keep the returned handle (the routes' state) while the server runs;
// pool, log and options must outlive it too.
[[nodiscard]] std::shared_ptr<void> install(http::Server& server, query::Pool& pool, audit::Log& log,
                                            const ConsoleOptions& options);

}  // namespace pgshift::console
