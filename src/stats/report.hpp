// The one shape every diagnostic in src/stats returns, so that the console renders any tab, the
// JSON API serves it, and the MCP server's `health` tool summarises it, without knowing each
// query. A Report is data only: it is built by a diagnostic function (stats/diagnostics.hpp),
// rendered by console, serialised by to_json().
//
//   Report   one tab or tool: a title, key figures (facts), tables (sections), findings.
//   Fact     one key figure: "Cache hit ratio" = 0.994, with an optional hint.
//   Section  one named query's rows: columns with types, rows of JSON values, the one-line
//            explanation of what the query shows, and findings about its rows.
//   Finding  something to act on: severity, the object it is about, what is wrong, what to do.
//
// JSON form (stable: the console's pages, /api/*, MCP `health` and scripts read it):
//   {"id": "overview", "title": "Overview", "server_version_num": 150004,
//    "facts": [{"id": "cache_hit_ratio", "label": "Cache hit ratio", "value": 0.994,
//               "unit": "ratio", "hint": "..."}],
//    "sections": [{"id": "connections", "title": "...", "explanation": "...",
//                  "columns": [{"name": "state", "type": "text"}], "rows": [["active", 3]],
//                  "findings": [...], "total_rows": 485}],   (total_rows: only when rows were cut)
//    "findings": [{"severity": "warning", "code": "unused-index", "object": "public.ix",
//                  "message": "...", "advice": "..."}]}
// Report::findings holds every finding of the report (its sections' included), most severe first.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pgshift::stats {

enum class Severity { info, warning, critical };
const char* severity_name(Severity severity);  // "info", "warning", "critical"

struct Finding {
  Severity severity = Severity::info;
  std::string code;     // stable, kebab-case: "unused-index", "xid-wraparound", ...
  std::string object;   // "public.orders", "slot pgshift", "" for the server as a whole
  std::string message;  // what is wrong, one line, with the figure
  std::string advice;   // what to do about it, one line
};

struct Fact {
  std::string id;     // snake_case key
  std::string label;  // what a person reads
  nlohmann::json value;
  std::string unit;   // "bytes", "seconds", "ratio", "count", "" (text)
  std::string hint;   // optional one-line explanation
};

struct SectionColumn {
  std::string name;
  std::string type;  // "text", "bytes", "count", "id" (pid, oid, key: no separators), "seconds",
                     // "ratio", "timestamp", "lsn", "bool", "json"
};

struct Section {
  std::string id;
  std::string title;
  std::string explanation;  // what the rows show and why they matter, one line
  std::vector<SectionColumn> columns;
  std::vector<std::vector<nlohmann::json>> rows;  // one JSON value per column; null is SQL NULL
  std::vector<Finding> findings;
  // How many rows qualified when the query stopped at a limit (rows holds the first ones);
  // -1 when rows holds them all. In JSON as "total_rows" only when set.
  int64_t total_rows = -1;
};

struct Report {
  std::string id;
  std::string title;
  int server_version_num = 0;
  std::vector<Fact> facts;
  std::vector<Section> sections;
  std::vector<Finding> findings;

  nlohmann::json to_json() const;
};

}  // namespace pgshift::stats
