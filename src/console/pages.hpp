// The console's HTML: every page is rendered on the server from the same JSON the /api/
// endpoints serve, into one layout (tabs, identity, a footer), with one CSS and one JS file
// (assets, embedded in the binary at build time; the pages carry no inline script or style, so
// the Content-Security-Policy can forbid both). Every value put into HTML goes through
// html_escape() (console/html.hpp); nothing else writes request or database text into a page.
//
// The routes (console/server) call these functions; they do no I/O and never throw for any
// JSON of the documented shapes (an unexpected shape renders as an error box, not a crash).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pgshift::console {

// What every page needs to know about the request and the console.
struct PageContext {
  std::string base_path;   // "" or "/ops/db": prefix of every link, form and asset URL
  std::string identity;    // who is looking ("local", "alice@example.com")
  std::string active_tab;  // "overview", "tables", "indexes", "queries", "activity",
                           // "replication", "backups", "settings", "sql", "migration"
  std::string database;    // redacted endpoint shown in the header: "reader@127.0.0.1:5432/app"
};

// A tab whose data is a stats::Report (stats/report.hpp JSON form): overview, tables, indexes,
// queries, activity, replication, backups, settings, migration. Facts as cards, sections as
// tables (the Tables tab links each table to its browser page), findings as callouts with their
// advice. A report with a "sort" member ({"section", "path", "key", "dir", "columns": {column:
// key}}, the Queries tab) gets that section's headers as sort links (path?sort=key&dir=...; the
// current one marked and its link reversing the direction).
std::string render_report_page(const PageContext& ctx, const nlohmann::json& report);

// The table browser, /tables/{schema}/{name}, from the JSON of GET /api/tables/{schema}/{name}:
//   {"schema": s, "table": t,
//    "columns": [{"name": c, "type": "integer", "primary_key": bool}],
//    "rows": [[value-or-null, ...]],      // values as PostgreSQL's text output; null is NULL
//    "page": N, "page_size": n, "has_next": bool, "keyset": bool,
//    "next_after": the last primary key of a keyset page with a next one (its Next link's
//                  after=), else null,
//    "sort": {"column": c, "dir": "asc"|"desc"} or null,
//    "filters": [{"column": c, "op": "=", "value": v}],   // op: = <> < > contains "is null" "is not null"
//    "elapsed_ms": x}
// Renders sort links, filter chips and a filter form (GET, in the URL), pager links; 16-byte
// bytea that looks like a UUID as a UUID, other bytea as \x hex shortened with its full length,
// NULL visibly distinct from '', long text cut with its length.
std::string render_table_browser(const PageContext& ctx, const nlohmann::json& page);

// A table's structure, /tables/{schema}/{name}/structure, from catalog::describe_table's JSON
// (catalog/describe.hpp; GET /api/tables/{schema}/{name}/structure): facts (kind, row estimate,
// sizes, row-level security, partitioning), then columns (primary key marked), unique/check
// constraints, foreign keys both ways (each other table linked to its structure page), indexes
// (definition, size, scans, invalid marked), triggers, policies, partitions; a Rows/Structure
// switch links it with the table browser.
std::string render_table_structure(const PageContext& ctx, const nlohmann::json& doc);

// The SQL tab: editor (Ctrl+Enter / Cmd+Enter runs), results, exports; all behaviour is in the
// JS asset, which POSTs to {base}/api/sql with the X-Pgshift-Request header. statement: the
// editor's text (a statement opened from the History tab; it is not run until the person runs it).
std::string render_sql_page(const PageContext& ctx, std::string_view statement = "");

// An error page in the layout (400 bad parameter, 404 unknown table, 503 busy, ...).
std::string render_error_page(const PageContext& ctx, int status, std::string_view message);

// The embedded static files, served under {base}/assets/<name>.
struct Asset {
  std::string_view name;          // "app.js", "app.css"
  std::string_view content_type;  // "text/javascript; charset=utf-8", "text/css; charset=utf-8"
  std::string_view body;
};
const Asset* find_asset(std::string_view name);  // nullptr when unknown

}  // namespace pgshift::console
