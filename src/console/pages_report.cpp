// render_report_page: a stats::Report (stats/report.hpp JSON form) as a tab.
//   findings first (most severe first, as the report orders them), as callouts with advice;
//   facts as cards; each section as a table with typed cells, or an empty state.
// The Tables tab links each table's name to its browser page; any section with schema and
// table columns does the same.
#include <fmt/format.h>

#include <optional>

#include "console/html.hpp"
#include "console/page_parts.hpp"

namespace pgshift::console {
namespace {

using nlohmann::json;
using namespace parts;

std::string server_version(long long num) {
  if (num <= 0) return "";
  if (num >= 100000) return fmt::format("PostgreSQL {}.{}", num / 10000, num % 10000);
  return fmt::format("PostgreSQL {}.{}.{}", num / 10000, (num / 100) % 100, num % 100);
}

std::string finding_callout(const json& f) {
  std::string severity = text_of(f, "severity", "info");
  std::string out = "<div class=\"callout sev-" + html_escape(severity == "critical" || severity == "warning" ? severity : "info") +
                    "\" data-code=\"" + html_escape(text_of(f, "code")) + "\">\n<div class=\"callout-head\">" +
                    severity_badge(severity);
  std::string object = text_of(f, "object");
  if (!object.empty()) out += " <code class=\"object\">" + html_escape(object) + "</code>";
  out += " <span class=\"code\">" + html_escape(text_of(f, "code")) + "</span></div>\n";
  out += "<p class=\"message\">" + html_escape(text_of(f, "message")) + "</p>\n";
  std::string advice = text_of(f, "advice");
  if (!advice.empty()) out += "<p class=\"advice\">" + html_escape(advice) + "</p>\n";
  return out + "</div>\n";
}

std::string findings_block(const json& report) {
  // Report::findings holds every finding; a producer that left it empty still has its
  // sections' findings shown.
  json all = array_of(report, "findings");
  if (all.empty()) {
    for (const auto& s : array_of(report, "sections")) {
      for (const auto& f : array_of(s, "findings")) all.push_back(f);
    }
  }
  if (all.empty()) return "<p class=\"all-clear\">Nothing to act on.</p>\n";
  std::string out = "<div class=\"findings\">\n";
  for (const auto& f : all) out += finding_callout(f);
  return out + "</div>\n";
}

std::string facts_block(const json& report) {
  const json& facts = array_of(report, "facts");
  if (facts.empty()) return "";
  std::string out = "<div class=\"facts\">\n";
  for (const auto& fact : facts) {
    std::string id = text_of(fact, "id");
    std::string hint = text_of(fact, "hint");
    out += "<div class=\"fact\" data-fact=\"" + html_escape(id) + "\"";
    if (!hint.empty()) out += " title=\"" + html_escape(hint) + "\"";
    out += ">\n<div class=\"fact-label\">" + html_escape(text_of(fact, "label", id)) + "</div>\n";
    const json null_value;
    const json& value = fact.is_object() && fact.contains("value") ? fact["value"] : null_value;
    std::string unit = text_of(fact, "unit");
    bool long_text = unit.empty() && value.is_string() && value.get_ref<const std::string&>().size() > 14;
    out += std::string("<div class=\"fact-value") + (long_text ? " long" : "") + "\">" + typed_value(value, unit) +
           "</div>\n";
    if (!hint.empty()) out += "<div class=\"fact-hint\">" + html_escape(hint) + "</div>\n";
    out += "</div>\n";
  }
  return out + "</div>\n";
}

std::optional<size_t> column_named(const json& columns, std::initializer_list<std::string_view> names) {
  for (size_t i = 0; i < columns.size(); ++i) {
    std::string name = text_of(columns[i], "name");
    for (auto n : names) {
      if (name == n) return i;
    }
  }
  return std::nullopt;
}

// Which cells link to the table browser: (schema column, table column), when the section has both.
struct TableLink {
  size_t schema;
  size_t table;
};

std::optional<TableLink> table_link_columns(const json& report, const json& columns) {
  auto schema = column_named(columns, {"schema", "schemaname", "table_schema"});
  std::optional<size_t> table = text_of(report, "id") == "tables"
                                    ? column_named(columns, {"name", "table", "relname", "table_name"})
                                    : column_named(columns, {"table", "relname", "table_name"});
  if (!schema || !table) return std::nullopt;
  return TableLink{*schema, *table};
}

// One cell's content: a table-browser link, a UTC timestamp, or a typed value.
std::string cell(const PageContext& ctx, const std::optional<TableLink>& links, const json& row, size_t i,
                 const std::string& type) {
  const json null_value;
  const json& v = row.is_array() && i < row.size() ? row[i] : null_value;
  if (links && i == links->table && row.is_array() && links->schema < row.size() && row[links->schema].is_string() &&
      v.is_string()) {
    std::string path = "/tables/" + url_encode(row[links->schema].get<std::string>()) + "/" + url_encode(v.get<std::string>());
    return link(href(ctx.base_path, path), v.get<std::string>(), "table-link");
  }
  if (type == "timestamp" && v.is_string()) {
    // ISO-8601 UTC from stats: shown without the T and the fraction; whole in the title.
    std::string ts = v.get<std::string>();
    std::string shown = ts;
    if (shown.size() >= 19 && shown[10] == 'T') shown = shown.substr(0, 10) + " " + shown.substr(11, 8) + " UTC";
    return "<time datetime=\"" + html_escape(ts) + "\" title=\"" + html_escape(ts) + "\">" + html_escape(shown) + "</time>";
  }
  // Process ids and other identifiers read as names: no separators.
  if (type == "id") return html_escape(plain(v));
  return typed_value(v, type);
}

// "12 rows", or "200 of 485 rows shown" when the query stopped at its limit (total_rows).
std::string row_count(const json& section, size_t shown) {
  long long total = section.is_object() && section.contains("total_rows") && section["total_rows"].is_number_integer()
                        ? section["total_rows"].get<long long>()
                        : -1;
  if (total > static_cast<long long>(shown)) {
    return group_thousands(static_cast<long long>(shown)) + " of " + group_thousands(total) + " rows shown";
  }
  return group_thousands(static_cast<long long>(shown)) + (shown == 1 ? " row" : " rows");
}

// A column header: its name, or a sort link when the report's "sort" names it (the current
// sort marked with an arrow and aria-sort; its link reverses the direction, others sort descending).
std::string sort_header(const PageContext& ctx, const json& sort, const std::string& name) {
  if (!sort.contains("columns") || !sort["columns"].is_object()) return html_escape(name);
  const json& columns = sort["columns"];
  if (!columns.contains(name) || !columns[name].is_string()) return html_escape(name);
  const std::string key = columns[name].get<std::string>();
  const bool current = text_of(sort, "key") == key;
  const bool descending = text_of(sort, "dir", "desc") == "desc";
  Query q;
  q.add("sort", key).add("dir", current && descending ? "asc" : "desc");
  std::string label = name;
  if (current) label += descending ? " \u25BC" : " \u25B2";
  std::string url = href(ctx.base_path, text_of(sort, "path", "/"), q);
  return "<a class=\"sort-link" + std::string(current ? " current" : "") + "\" href=\"" + html_escape(url) +
         "\" data-sort=\"" + html_escape(key) + "\"" +
         (current ? std::string(" aria-sort=\"") + (descending ? "descending" : "ascending") + "\"" : "") + ">" +
         html_escape(label) + "</a>";
}

// A section with a single row and many columns reads better as name/value pairs.
constexpr size_t kRecordMinColumns = 7;

std::string section_block(const PageContext& ctx, const json& report, const json& section) {
  std::string id = text_of(section, "id");
  const json& columns = array_of(section, "columns");
  const json& rows = array_of(section, "rows");
  std::string out = "<section class=\"report-section\" id=\"section-" + html_escape(id) + "\">\n";
  out += "<h2>" + html_escape(text_of(section, "title", id)) + " <span class=\"count\">" + row_count(section, rows.size()) +
         "</span></h2>\n";
  std::string explanation = text_of(section, "explanation");
  if (!explanation.empty()) out += "<p class=\"explanation\">" + html_escape(explanation) + "</p>\n";
  if (rows.empty()) return out + "<p class=\"empty-state\">No rows.</p>\n</section>\n";

  std::optional<TableLink> links = table_link_columns(report, columns);
  const bool sortable = report.contains("sort") && report["sort"].is_object() && text_of(report["sort"], "section") == id;
  if (rows.size() == 1 && columns.size() >= kRecordMinColumns && !sortable) {
    out += "<div class=\"table-wrap\"><table class=\"data report record\">\n<tbody>\n";
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string type = text_of(columns[i], "type", "text");
      out += "<tr><th>" + html_escape(text_of(columns[i], "name")) + "</th><td>" + cell(ctx, links, rows[0], i, type) +
             "</td></tr>\n";
    }
    return out + "</tbody>\n</table></div>\n</section>\n";
  }
  out += "<div class=\"table-wrap\"><table class=\"data report\">\n<thead><tr>";
  const json sort = sortable ? report["sort"] : json::object();
  for (const auto& c : columns) {
    std::string type = text_of(c, "type", "text");
    out += "<th class=\"t-" + html_escape(type) + (is_numeric_type(type) ? " num" : "") + "\">" +
           sort_header(ctx, sort, text_of(c, "name")) + "</th>";
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string type = text_of(columns[i], "type", "text");
      // Statement text (Queries, Activity) and explanations (Settings' checks) wrap in a
      // bounded box instead of widening the table.
      const std::string name = type == "text" ? text_of(columns[i], "name") : "";
      const char* box = name == "query" ? "sql-text" : name == "explanation" ? "prose" : nullptr;
      out += std::string("<td") + (is_numeric_type(type) ? " class=\"num\"" : "") + ">" +
             (box ? std::string("<div class=\"") + box + "\">" : "") + cell(ctx, links, row, i, type) +
             (box ? "</div>" : "") + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table></div>\n</section>\n";
}

// The Tables tab's finder: hidden until app.js loads {base}/api/table-list and filters it as
// one types (every table, not only the largest the report lists), with an exact count on request.
std::string table_finder(const PageContext& ctx) {
  return "<section class=\"finder\" id=\"table-finder\" hidden data-source=\"" +
         html_escape(href(ctx.base_path, "/api/table-list")) +
         "\">\n<h2>Find a table</h2>\n"
         "<input type=\"search\" id=\"table-find\" placeholder=\"schema or table name\" autocomplete=\"off\" "
         "spellcheck=\"false\" aria-label=\"Find a table\">\n"
         "<span class=\"finder-status\" id=\"table-find-status\" aria-live=\"polite\"></span>\n"
         "<div class=\"table-wrap\"><table class=\"data finder-results\" id=\"table-find-results\" hidden>\n"
         "<thead><tr><th>table</th><th>kind</th><th class=\"num\">rows (estimate)</th><th class=\"num\">size</th>"
         "<th class=\"num\">exact rows</th></tr></thead>\n<tbody></tbody>\n</table></div>\n</section>\n";
}

bool has_section(const json& report, std::initializer_list<std::string_view> ids) {
  for (const auto& s : array_of(report, "sections")) {
    std::string id = text_of(s, "id");
    for (auto want : ids) {
      if (id == want) return true;
    }
  }
  return false;
}

std::string report_body(const PageContext& ctx, const json& report) {
  std::string title = text_of(report, "title", "Report");
  std::string out = "<section class=\"report\" id=\"report-" + html_escape(text_of(report, "id")) + "\">\n";
  out += "<div class=\"page-head\"><h1>" + html_escape(title) + "</h1>";
  std::string version = server_version(int_of(report, "server_version_num"));
  if (!version.empty()) out += "<span class=\"server-version\">" + html_escape(version) + "</span>";
  out += "</div>\n";
  out += findings_block(report);
  out += facts_block(report);
  if (text_of(report, "id") == "tables") out += table_finder(ctx);
  for (const auto& section : array_of(report, "sections")) out += section_block(ctx, report, section);
  if (ctx.active_tab == "backups" && !has_section(report, {"base_backups", "inventory", "backups"})) {
    out += "<section class=\"report-section\" id=\"section-base_backups\">\n<h2>Base backups</h2>\n"
           "<p class=\"empty-state\">No backup source configured: the base-backup inventory (pgBackRest, "
           "barman-cloud) shows here when the console is given one.</p>\n</section>\n";
  }
  return out + "</section>\n";
}

}  // namespace

std::string render_report_page(const PageContext& ctx, const nlohmann::json& report) {
  return document_page(
      ctx, report, "report", "Report", [](const json& r) { return text_of(r, "title", "Report"); },
      [&ctx](const json& r) { return report_body(ctx, r); });
}

}  // namespace pgshift::console
