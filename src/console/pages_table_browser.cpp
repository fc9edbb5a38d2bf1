// render_table_browser: one page of a table's rows (pages.hpp documents the JSON).
// Every link keeps the browser's state in the URL (?sort=col&dir=desc&f=col:op:value&page=N, and
// the Next link of a keyset page &after=KEY):
// a column header sorts by it (again: the other direction), a chip's × removes its filter, the
// form adds one (app.js turns its fields into an f= parameter; without script the fields go as
// fc/fo/fv), the pager moves one page. Changing sort or filters goes back to page 1.
#include <fmt/format.h>

#include <array>

#include "console/cell_value.hpp"
#include "console/html.hpp"
#include "console/page_parts.hpp"

namespace pgshift::console {
namespace {

using nlohmann::json;
using namespace parts;

constexpr std::array<std::string_view, 7> kOperators{"=", "<>", "<", ">", "contains", "is null", "is not null"};

struct Filter {
  std::string column, op, value;
  std::string param() const {
    bool unary = op == "is null" || op == "is not null";
    return column + ":" + op + ":" + (unary ? "" : value);
  }
};

struct State {
  std::string schema, table;
  std::string sort_column, sort_dir;  // sort_column "" when unsorted
  std::vector<Filter> filters;
  long long page = 1;
  std::string next_after;  // "" unless the Next link pages by key
};

std::string url(const PageContext& ctx, const State& s, long long page, const std::vector<Filter>& filters,
                const std::string& sort, const std::string& dir, const std::string& after = "") {
  Query q;
  if (!sort.empty()) q.add("sort", sort).add("dir", dir);
  for (const auto& f : filters) q.add("f", f.param());
  if (page > 1) q.add("page", std::to_string(page));
  if (!after.empty()) q.add("after", after);
  return href(ctx.base_path, "/tables/" + url_encode(s.schema) + "/" + url_encode(s.table), q);
}

// The download links of the rows the page shows: its filters and order, every page of them.
std::string export_links(const PageContext& ctx, const State& s, long long limit) {
  std::string out = "<p class=\"exports\">Export these rows";
  if (limit > 0) out += fmt::format(" (up to {} rows)", group_thousands(limit));
  out += ":";
  const std::array<std::pair<const char*, const char*>, 3> formats{{{"csv", "CSV"}, {"json", "JSON"}, {"markdown", "Markdown"}}};
  for (const auto& [format, label] : formats) {
    Query q;
    q.add("format", format);
    if (!s.sort_column.empty()) q.add("sort", s.sort_column).add("dir", s.sort_dir);
    for (const auto& f : s.filters) q.add("f", f.param());
    out += fmt::format(" <a class=\"export\" data-format=\"{}\" download href=\"{}\">{}</a>", format,
                       html_escape(href(ctx.base_path, "/api/tables/" + url_encode(s.schema) + "/" + url_encode(s.table) + "/export", q)),
                       label);
  }
  return out + "</p>\n";
}

State read_state(const json& page) {
  State s;
  s.schema = text_of(page, "schema");
  s.table = text_of(page, "table");
  const json sort = page.is_object() && page.contains("sort") ? page["sort"] : json();
  if (sort.is_object()) {
    s.sort_column = text_of(sort, "column");
    s.sort_dir = text_of(sort, "dir", "asc") == "desc" ? "desc" : "asc";
  }
  for (const auto& f : array_of(page, "filters")) {
    s.filters.push_back({text_of(f, "column"), text_of(f, "op"), text_of(f, "value")});
  }
  s.page = std::max(1LL, int_of(page, "page", 1));
  s.next_after = text_of(page, "next_after");
  return s;
}

std::string chips(const PageContext& ctx, const State& s) {
  if (s.filters.empty()) return "";
  std::string out = "<ul class=\"chips\" aria-label=\"filters\">\n";
  for (size_t i = 0; i < s.filters.size(); ++i) {
    const Filter& f = s.filters[i];
    std::vector<Filter> rest = s.filters;
    rest.erase(rest.begin() + static_cast<long>(i));
    bool unary = f.op == "is null" || f.op == "is not null";
    out += "<li class=\"chip\"><code>" + html_escape(f.column) + "</code> <span class=\"op\">" + html_escape(f.op) +
           "</span>";
    if (!unary) out += " <code class=\"value\">" + html_escape(f.value) + "</code>";
    out += " <a class=\"remove\" href=\"" + html_escape(url(ctx, s, 1, rest, s.sort_column, s.sort_dir)) +
           "\" title=\"remove this filter\" aria-label=\"remove filter on " + html_escape(f.column) + "\">×</a></li>\n";
  }
  if (s.filters.size() > 1) {
    out += "<li class=\"chip clear\">" + link(url(ctx, s, 1, {}, s.sort_column, s.sort_dir), "clear all") + "</li>\n";
  }
  return out + "</ul>\n";
}

std::string filter_form(const PageContext& ctx, const State& s, const json& columns) {
  std::string action = href(ctx.base_path, "/tables/" + url_encode(s.schema) + "/" + url_encode(s.table));
  std::string out = "<form class=\"filter-form\" method=\"get\" action=\"" + html_escape(action) + "\">\n";
  if (!s.sort_column.empty()) {
    out += "<input type=\"hidden\" name=\"sort\" value=\"" + html_escape(s.sort_column) + "\">";
    out += "<input type=\"hidden\" name=\"dir\" value=\"" + html_escape(s.sort_dir) + "\">";
  }
  for (const auto& f : s.filters) out += "<input type=\"hidden\" name=\"f\" value=\"" + html_escape(f.param()) + "\">";
  out += "\n<label>Filter <select name=\"fc\" aria-label=\"column\">";
  for (const auto& c : columns) {
    std::string name = text_of(c, "name");
    out += "<option value=\"" + html_escape(name) + "\">" + html_escape(name) + "</option>";
  }
  out += "</select></label>\n<select name=\"fo\" aria-label=\"operator\">";
  for (auto op : kOperators) out += "<option value=\"" + html_escape(op) + "\">" + html_escape(op) + "</option>";
  out += "</select>\n<input type=\"text\" name=\"fv\" aria-label=\"value\" placeholder=\"value\" autocomplete=\"off\">\n";
  out += "<button type=\"submit\">Add filter</button>\n</form>\n";
  return out;
}

std::string header_row(const PageContext& ctx, const State& s, const json& columns) {
  std::string out = "<thead><tr>";
  for (const auto& c : columns) {
    std::string name = text_of(c, "name");
    std::string type = text_of(c, "type");
    bool sorted = name == s.sort_column;
    std::string next_dir = sorted && s.sort_dir == "asc" ? "desc" : "asc";
    std::string cls = is_numeric_column(type) ? "num" : "";
    if (sorted) cls += cls.empty() ? "sorted" : " sorted";
    out += "<th" + (cls.empty() ? std::string() : " class=\"" + cls + "\"") +
           (sorted ? std::string(" aria-sort=\"") + (s.sort_dir == "asc" ? "ascending" : "descending") + "\"" : "") + ">";
    std::string arrow = sorted ? (s.sort_dir == "asc" ? " ▲" : " ▼") : "";
    out += "<a class=\"sort\" href=\"" + html_escape(url(ctx, s, 1, s.filters, name, next_dir)) + "\" title=\"sort by " +
           html_escape(name) + " " + (next_dir == "asc" ? "ascending" : "descending") + "\">" + html_escape(name) + arrow +
           "</a>";
    if (bool_of(c, "primary_key")) out += " <span class=\"pk\" title=\"primary key\">PK</span>";
    out += "<span class=\"type\">" + html_escape(type) + "</span></th>";
  }
  return out + "</tr></thead>\n";
}

std::string pager(const PageContext& ctx, const State& s, bool has_next) {
  std::string out = "<nav class=\"pager\" aria-label=\"pages\">";
  if (s.page > 1) {
    if (s.page > 2) out += link(url(ctx, s, 1, s.filters, s.sort_column, s.sort_dir), "« First", "first") + " ";
    out += link(url(ctx, s, s.page - 1, s.filters, s.sort_column, s.sort_dir), "‹ Previous", "prev") + " ";
  }
  out += fmt::format("<span class=\"current\">Page {}</span>", group_thousands(s.page));
  if (has_next) {
    out += " " + link(url(ctx, s, s.page + 1, s.filters, s.sort_column, s.sort_dir, s.next_after), "Next ›", "next");
  }
  return out + "</nav>\n";
}

std::string browser_body(const PageContext& ctx, const json& page) {
  State s = read_state(page);
  const json& columns = array_of(page, "columns");
  const json& rows = array_of(page, "rows");
  bool has_next = bool_of(page, "has_next");
  long long page_size = int_of(page, "page_size", static_cast<long long>(rows.size()));

  std::string out = "<section class=\"browser\">\n<div class=\"page-head\"><h1>" +
                    link(href(ctx.base_path, "/tables"), "Tables", "up") + " / <code>" + html_escape(s.schema) + "." +
                    html_escape(s.table) + "</code></h1>" + table_views(ctx, s.schema, s.table, false) + "</div>\n";
  out += "<p class=\"status\">";
  long long first = (s.page - 1) * page_size + 1;
  if (rows.empty()) {
    out += "No rows on this page";
  } else if (page_size <= 0) {
    out += fmt::format("{} rows", group_thousands(static_cast<long long>(rows.size())));
  } else {
    out += fmt::format("rows {}–{}", group_thousands(first), group_thousands(first + static_cast<long long>(rows.size()) - 1));
  }
  if (!s.sort_column.empty()) {
    out += " · sorted by <code>" + html_escape(s.sort_column) + "</code> " + (s.sort_dir == "asc" ? "ascending" : "descending");
  }
  if (bool_of(page, "keyset")) out += " · <span class=\"keyset\" title=\"pages by the primary key\">keyset paging</span>";
  double elapsed = 0;
  if (page.contains("elapsed_ms") && number_of(page["elapsed_ms"], elapsed)) out += fmt::format(" · {:.1f} ms", elapsed);
  out += "</p>\n";
  out += chips(ctx, s);
  out += filter_form(ctx, s, columns);
  out += export_links(ctx, s, int_of(page, "export_limit", 0));
  out += pager(ctx, s, has_next);
  out += "<div class=\"table-wrap\"><table class=\"data browser-rows\">\n" + header_row(ctx, s, columns) + "<tbody>\n";
  std::vector<bool> uuids;  // bytea shown as UUIDs: decided per column, never mixed
  for (size_t i = 0; i < columns.size(); ++i) uuids.push_back(uuid_column(rows, i, text_of(columns[i], "type")));
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string type = text_of(columns[i], "type");
      const json null_value;
      const json& v = row.is_array() && i < row.size() ? row[i] : null_value;
      out += std::string(is_numeric_column(type) ? "<td class=\"num\">" : "<td>") + cell_html(v, type, uuids[i]) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table></div>\n";
  if (rows.empty()) out += "<p class=\"empty-state\">No rows match.</p>\n";
  out += pager(ctx, s, has_next);
  return out + "</section>\n";
}

}  // namespace

std::string render_table_browser(const PageContext& ctx, const nlohmann::json& page) {
  return document_page(
      ctx, page, "table page", "Table", [](const json& p) { return text_of(p, "schema") + "." + text_of(p, "table"); },
      [&ctx](const json& p) { return browser_body(ctx, p); });
}

}  // namespace pgshift::console
