// render_history_page: the History tab, from the JSON of GET /api/history (history_routes.hpp).
// The "Clear my history" button's POST lives in assets/app.js (it finds #history-clear).
#include <fmt/format.h>

#include "console/history_routes.hpp"
#include "console/html.hpp"
#include "console/page_parts.hpp"

namespace pgshift::console {
namespace {

using json = nlohmann::json;
using parts::text_of;

// "2026-12-01T19:41:39.123Z" → "2026-12-01 19:41:39" (UTC, as every console timestamp).
std::string shown_time(const std::string& iso) {
  if (iso.size() < 19 || iso[10] != 'T') return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 8);
}

std::string outcome_cell(const json& e) {
  const std::string outcome = text_of(e, "outcome", "?");
  std::string out;
  if (outcome == "ok") {
    out = "<span class=\"badge outcome-ok\">ok</span>";
  } else if (outcome == "rejected") {
    out = "<span class=\"badge sev-warning\">refused by the gate</span> <code class=\"rule\">" +
          html_escape(text_of(e, "rule")) + "</code>";
  } else if (outcome == "error") {
    out = "<span class=\"badge sev-critical\">error</span> <code class=\"sqlstate\">" + html_escape(text_of(e, "sqlstate")) +
          "</code>";
  } else if (outcome == "timeout") {
    out = "<span class=\"badge sev-warning\">timeout</span>";
  } else {
    out = "<span class=\"badge sev-info\">" + html_escape(outcome) + "</span>";
  }
  if (outcome != "ok" && !text_of(e, "message").empty()) {
    out += "<div class=\"history-message\">" + html_escape(text_of(e, "message")) + "</div>";
  }
  return out;
}

std::string entry_row(const PageContext& ctx, const json& e) {
  const std::string id = text_of(e, "id");
  std::string row = "<tr data-id=\"" + html_escape(id) + "\" data-outcome=\"" + html_escape(text_of(e, "outcome")) + "\">";
  row += "<td class=\"mono\"><time datetime=\"" + html_escape(text_of(e, "time")) + "\">" +
         html_escape(shown_time(text_of(e, "time"))) + "</time></td>";
  row += "<td><pre class=\"history-statement\">" + html_escape(text_of(e, "statement")) + "</pre>";
  if (parts::bool_of(e, "cut")) {
    row += fmt::format("<span class=\"cut-marker\">… cut: {} bytes in all (the audit log has it whole)</span>",
                       parts::group_thousands(parts::int_of(e, "statement_bytes")));
  }
  if (text_of(e, "route") == "api_table_count") row += "<span class=\"history-route\">exact count</span>";
  row += "</td><td>" + outcome_cell(e) + "</td>";
  double ms = 0;
  row += "<td class=\"num\">" +
         (e.contains("duration_ms") && parts::number_of(e["duration_ms"], ms) ? fmt::format("{:.1f} ms", ms) : std::string("–")) +
         "</td>";
  row += "<td class=\"num\">" + (text_of(e, "outcome") == "ok" ? parts::group_thousands(parts::int_of(e, "rows")) +
                                                                    (parts::bool_of(e, "truncated") ? "+" : "")
                                                              : std::string("–")) +
         "</td>";
  row += "<td>";
  if (!parts::bool_of(e, "cut")) {
    row += link(href(ctx.base_path, "/sql", Query().add("from", id)), "Open in SQL", "rerun");
  }
  row += "</td></tr>\n";
  return row;
}

std::string filter_links(const PageContext& ctx, const json& doc) {
  const std::string current = text_of(doc, "outcome");
  std::string out = "<nav class=\"history-filter\" aria-label=\"outcome\">Show: ";
  const std::pair<const char*, const char*> kChoices[] = {
      {"", "all"}, {"ok", "ok"}, {"rejected", "refused"}, {"error", "errors"}, {"timeout", "timeouts"}};
  bool first = true;
  for (const auto& [value, label] : kChoices) {
    if (!first) out += " · ";
    first = false;
    if (current == value) {
      out += "<span aria-current=\"true\">" + std::string(label) + "</span>";
    } else {
      Query q;
      if (*value) q.add("outcome", value);
      out += link(href(ctx.base_path, "/history", q), label);
    }
  }
  return out + "</nav>\n";
}

}  // namespace

std::string render_history_page(const PageContext& ctx, const json& doc) {
  return parts::document_page(
      ctx, doc, "history", "History", [](const json&) { return std::string("History"); },
      [&ctx](const json& d) {
        std::string out = "<section class=\"history\">\n<div class=\"page-head\"><h1>History</h1><span class=\"hint\">";
        out += fmt::format("the last {} statements you ran (SQL tab, exact counts), newest first · kept by the server ",
                           parts::int_of(d, "limit", 100));
        out += parts::bool_of(d, "persisted") ? "in its history file" : "in memory (cleared when it restarts)";
        out += " · the audit log is the record</span></div>\n";
        out += "<div class=\"history-actions\">" + filter_links(ctx, d) +
               "<button type=\"button\" id=\"history-clear\">Clear my history</button>"
               "<span id=\"history-status\" class=\"status\" role=\"status\" aria-live=\"polite\"></span></div>\n";
        const json& entries = parts::array_of(d, "entries");
        if (entries.empty()) {
          out += "<p class=\"empty-state\" id=\"history-empty\">No statements yet: what you run in the SQL tab appears here.</p>\n";
        } else {
          out += "<div class=\"table-wrap\"><table class=\"data history-table\" id=\"history-table\"><thead><tr>"
                 "<th>Time (UTC)</th><th>Statement</th><th>Outcome</th><th class=\"num\">Duration</th>"
                 "<th class=\"num\">Rows</th><th></th></tr></thead>\n<tbody>\n";
          for (const json& e : entries) out += entry_row(ctx, e);
          out += "</tbody></table></div>\n";
        }
        return out + "</section>\n";
      });
}

}  // namespace pgshift::console
