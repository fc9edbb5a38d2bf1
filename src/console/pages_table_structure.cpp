// render_table_structure: one table's structure (catalog::describe_table's JSON, the same
// document as GET /api/tables/{schema}/{name}/structure and MCP's describe_table), and the
// Rows/Structure switch both table pages carry.
#include <fmt/format.h>

#include <algorithm>

#include "console/html.hpp"
#include "console/page_parts.hpp"

namespace pgshift::console {
namespace {

using nlohmann::json;
using namespace parts;

std::string table_path(const std::string& schema, const std::string& table) {
  return "/tables/" + url_encode(schema) + "/" + url_encode(table);
}

// A link to another table's structure page, shown as schema.table.
std::string structure_link(const PageContext& ctx, const std::string& schema, const std::string& table) {
  return link(href(ctx.base_path, table_path(schema, table) + "/structure"), schema + "." + table, "table-link");
}

std::string code(const std::string& text) { return "<code>" + html_escape(text) + "</code>"; }

std::string names(const json& list) {
  std::string out;
  for (const auto& n : list) out += (out.empty() ? "" : ", ") + plain(n);
  return out;
}

// "<text>" or a dim dash for null/empty.
std::string text_or_dash(const json& object, std::string_view key) {
  const std::string s = text_of(object, key);
  return s.empty() ? typed_value(json(), "text") : html_escape(s);
}

std::string code_or_dash(const json& object, std::string_view key) {
  const std::string s = text_of(object, key);
  return s.empty() ? typed_value(json(), "text") : code(s);
}

// One titled table; cells are HTML already. An empty list says so.
std::string block(std::string_view id, std::string_view title, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows, std::string_view empty, std::string_view note_html = "") {
  std::string out = fmt::format("<section class=\"report-section structure\" id=\"structure-{}\">\n<h2>{} <span "
                                "class=\"count\">{}</span></h2>\n",
                                id, html_escape(title), rows.size());
  out += note_html;
  if (rows.empty()) return out + "<p class=\"empty-state\">" + html_escape(empty) + "</p>\n</section>\n";
  out += "<div class=\"table-wrap\"><table class=\"data report\">\n<thead><tr>";
  for (const auto& h : headers) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& c : row) out += "<td>" + c + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table></div>\n</section>\n";
}

std::string fact_card(std::string_view id, std::string_view label, const std::string& value_html) {
  return fmt::format("<div class=\"fact\" data-fact=\"{}\">\n<div class=\"fact-label\">{}</div>\n<div "
                     "class=\"fact-value\">{}</div>\n</div>\n",
                     id, html_escape(label), value_html);
}

std::string facts(const PageContext& ctx, const json& doc) {
  const json null_value;
  auto member = [&](const char* key) -> const json& { return doc.contains(key) ? doc[key] : null_value; };
  std::string out = "<div class=\"facts\">\n";
  out += fact_card("kind", "Kind", html_escape(text_of(doc, "kind")));
  out += fact_card("row_estimate", "Rows (estimate)", typed_value(member("row_estimate"), "count"));
  out += fact_card("size_bytes", "Total size", typed_value(member("size_bytes"), "bytes"));
  out += fact_card("table_bytes", "Table (with TOAST)", typed_value(member("table_bytes"), "bytes"));
  out += fact_card("index_bytes", "Indexes", typed_value(member("index_bytes"), "bytes"));
  const json& rls = member("row_security");
  std::string rls_text = !bool_of(rls, "enabled") ? "off" : bool_of(rls, "forced") ? "on, forced" : "on";
  out += fact_card("row_security", "Row-level security", html_escape(rls_text));
  if (!text_of(doc, "partition_key").empty()) {
    out += fact_card("partition_key", "Partitioned by", code(text_of(doc, "partition_key")));
  }
  const json& parent = member("partition_of");
  if (parent.is_object()) {
    out += fact_card("partition_of", "Partition of",
                     structure_link(ctx, text_of(parent, "schema"), text_of(parent, "table")) + " " +
                         code(text_of(parent, "bound")));
  }
  return out + "</div>\n";
}

std::string columns_block(const json& doc) {
  std::vector<std::string> key;
  for (const auto& k : array_of(doc, "primary_key")) key.push_back(plain(k));
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : array_of(doc, "columns")) {
    std::string name = text_of(c, "name");
    bool in_key = std::find(key.begin(), key.end(), name) != key.end();
    std::string identity = text_of(c, "identity");
    rows.push_back({code(name) + (in_key ? " <span class=\"badge pk\" title=\"primary key\">PK</span>" : ""),
                    code(text_of(c, "type")), bool_of(c, "nullable") ? "yes" : "<strong>NOT NULL</strong>",
                    code_or_dash(c, "default"),
                    identity.empty() ? typed_value(json(), "text") : html_escape("generated " + identity),
                    code_or_dash(c, "generated"), text_or_dash(c, "comment")});
  }
  std::string note = key.empty() ? "<p class=\"explanation\">No primary key.</p>\n"
                                 : "<p class=\"explanation\">Primary key: " + code(fmt::format("({})", names(doc["primary_key"]))) + "</p>\n";
  return block("columns", "Columns", {"name", "type", "null", "default", "identity", "generated", "comment"}, rows,
               "No columns.", note);
}

std::string constraints_block(const json& doc) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : array_of(doc, "constraints")) {
    rows.push_back({code(text_of(c, "name")), html_escape(text_of(c, "type")), code(text_of(c, "definition")),
                    bool_of(c, "validated", true) ? "yes" : "<strong>not validated</strong>"});
  }
  return block("constraints", "Unique and check constraints", {"name", "type", "definition", "validated"}, rows,
               "No unique, check or exclusion constraints.");
}

std::string foreign_keys_block(const PageContext& ctx, const json& doc) {
  std::vector<std::vector<std::string>> out_rows, in_rows;
  for (const auto& f : array_of(doc, "foreign_keys")) {
    const json& ref = f.contains("references") ? f["references"] : json::object();
    out_rows.push_back({code(text_of(f, "name")), code(names(array_of(f, "columns"))),
                        structure_link(ctx, text_of(ref, "schema"), text_of(ref, "table")) + " " +
                            code("(" + names(array_of(ref, "columns")) + ")"),
                        code(text_of(f, "definition"))});
  }
  for (const auto& f : array_of(doc, "referenced_by")) {
    in_rows.push_back({structure_link(ctx, text_of(f, "schema"), text_of(f, "table")), code(text_of(f, "name")),
                       code(names(array_of(f, "columns"))), code(names(array_of(f, "referenced_columns")))});
  }
  return block("foreign_keys", "Foreign keys (this table references)", {"name", "columns", "references", "definition"},
               out_rows, "This table references no other table.") +
         block("referenced_by", "Referenced by (other tables' foreign keys)",
               {"table", "constraint", "their columns", "columns here"}, in_rows, "No table references this one.");
}

std::string indexes_block(const json& doc) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : array_of(doc, "indexes")) {
    std::string kind = bool_of(i, "primary") ? "primary key" : bool_of(i, "unique") ? "unique" : "";
    const json scans = i.contains("scans") ? i["scans"] : json();
    rows.push_back({code(text_of(i, "name")), html_escape(kind), code(text_of(i, "definition")),
                    "<span class=\"num\">" + typed_value(i.contains("size_bytes") ? i["size_bytes"] : json(), "bytes") + "</span>",
                    "<span class=\"num\">" + typed_value(scans, "count") + "</span>",
                    bool_of(i, "valid", true) ? "yes" : "<span class=\"badge sev-critical\">invalid</span>"});
  }
  return block("indexes", "Indexes", {"name", "kind", "definition", "size", "scans", "valid"}, rows, "No indexes.");
}

std::string triggers_block(const json& doc) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : array_of(doc, "triggers")) {
    rows.push_back({code(text_of(t, "name")), html_escape(text_of(t, "enabled")), code(text_of(t, "definition"))});
  }
  return block("triggers", "Triggers", {"name", "enabled", "definition"}, rows, "No triggers.");
}

std::string policies_block(const json& doc) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : array_of(doc, "policies")) {
    rows.push_back({code(text_of(p, "name")), html_escape(text_of(p, "command")),
                    bool_of(p, "permissive", true) ? "permissive" : "restrictive", html_escape(names(array_of(p, "roles"))),
                    code_or_dash(p, "using"), code_or_dash(p, "with_check")});
  }
  const json& rls = doc.contains("row_security") ? doc["row_security"] : json::object();
  std::string note = bool_of(rls, "enabled")
                         ? "<p class=\"explanation\">Row-level security is on" +
                               std::string(bool_of(rls, "forced") ? ", forced for the owner too" : "") +
                               ": rows a policy does not allow are invisible.</p>\n"
                         : "<p class=\"explanation\">Row-level security is off: policies, if any, do not apply.</p>\n";
  return block("policies", "Row-level security policies", {"name", "command", "kind", "roles", "using", "with check"},
               rows, "No policies.", note);
}

std::string partitions_block(const PageContext& ctx, const json& doc) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : array_of(doc, "partitions")) {
    rows.push_back({structure_link(ctx, text_of(p, "schema"), text_of(p, "table")), code_or_dash(p, "bound"),
                    "<span class=\"num\">" + typed_value(p.contains("size_bytes") ? p["size_bytes"] : json(), "bytes") +
                        "</span>"});
  }
  if (rows.empty() && text_of(doc, "partition_key").empty()) return "";
  return block("partitions", "Partitions", {"partition", "bound", "size"}, rows, "No partitions yet.");
}

std::string structure_body(const PageContext& ctx, const json& doc) {
  const std::string schema = text_of(doc, "schema");
  const std::string table = text_of(doc, "name");
  std::string out = "<section class=\"structure\">\n<div class=\"page-head\"><h1>" +
                    link(href(ctx.base_path, "/tables"), "Tables", "up") + " / <code>" + html_escape(schema) + "." +
                    html_escape(table) + "</code></h1>" + table_views(ctx, schema, table, true) + "</div>\n";
  if (!text_of(doc, "comment").empty()) out += "<p class=\"explanation\">" + html_escape(text_of(doc, "comment")) + "</p>\n";
  out += facts(ctx, doc);
  out += columns_block(doc);
  out += constraints_block(doc);
  out += foreign_keys_block(ctx, doc);
  out += indexes_block(doc);
  out += triggers_block(doc);
  out += policies_block(doc);
  out += partitions_block(ctx, doc);
  return out + "</section>\n";
}

}  // namespace

namespace parts {

std::string table_views(const PageContext& ctx, const std::string& schema, const std::string& table, bool structure) {
  const std::string rows_url = href(ctx.base_path, table_path(schema, table));
  const std::string structure_url = href(ctx.base_path, table_path(schema, table) + "/structure");
  auto view = [](const std::string& url, std::string_view label, bool current) {
    return "<a href=\"" + html_escape(url) + "\" class=\"view" + (current ? " current\" aria-current=\"page\"" : "\"") +
           ">" + html_escape(label) + "</a>";
  };
  return "<nav class=\"views\" aria-label=\"table views\">" + view(rows_url, "Rows", !structure) +
         view(structure_url, "Structure", structure) + "</nav>";
}

}  // namespace parts

std::string render_table_structure(const PageContext& ctx, const nlohmann::json& doc) {
  return document_page(
      ctx, doc, "table structure", "Table structure",
      [](const json& d) { return text_of(d, "schema") + "." + text_of(d, "name") + " structure"; },
      [&ctx](const json& d) { return structure_body(ctx, d); });
}

}  // namespace pgshift::console
