// The History page and API; see console/history_routes.hpp.
#include "console/history_routes.hpp"

#include <fmt/format.h>

#include "util/utf8.hpp"

namespace pgshift::console {
namespace {

using json = nlohmann::json;

constexpr const char* kHtml = "text/html; charset=utf-8";

// ?outcome=: nullopt (all) or one of the outcomes.
std::optional<std::string> outcome_filter(const http::Request& req) {
  if (!req.has_param("outcome") || req.param("outcome").empty()) return std::nullopt;
  std::string o = req.param("outcome");
  if (!is_history_outcome(o)) {
    throw BadParameter("outcome", fmt::format("'{}' is not one of ok, rejected, error, timeout, cancelled",
                                              util::sanitize_utf8(o.substr(0, 64))));
  }
  return o;
}

json history_doc(const History& history, const http::Request& req) {
  std::optional<std::string> outcome = outcome_filter(req);
  json entries = history.entries(req.identity, outcome);
  const size_t count = entries.size();
  return {{"identity", req.identity},
          {"entries", std::move(entries)},
          {"count", count},
          {"limit", history.limits().per_identity},
          {"persisted", history.persisted()},
          {"outcome", outcome ? json(*outcome) : json()}};
}

json error_body(const UsageError& e) {
  if (const auto* p = dynamic_cast<const BadParameter*>(&e)) {
    return {{"error", {{"parameter", p->parameter()}, {"message", p->what()}}}};
  }
  return {{"error", {{"message", e.what()}}}};
}

int status_of(const UsageError& e) { return dynamic_cast<const UnknownTable*>(&e) ? 404 : 400; }

bool is_entry_id(const std::string& s) {
  return s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

bool is_history_statement(const audit::Record& record) {
  if (record.surface != "console" || !record.extra.is_object()) return false;
  const std::string route = record.extra.value("route", "");
  return route == "api_sql" || route == "api_table_count";
}

std::string rerun_statement(const History& history, const http::Request& req) {
  if (!req.has_param("from")) return "";
  const std::string id = req.param("from");
  if (!is_entry_id(id)) throw BadParameter("from", "a history entry's id (16 hexadecimal digits, as /api/history gives)");
  std::optional<json> e = history.find(req.identity, id);
  if (!e) throw UnknownHistoryEntry(fmt::format("no statement {} in your history (it may have been cleared)", id));
  if (e->value("cut", false)) {
    throw BadParameter("from", fmt::format("statement {} was kept cut ({} bytes); find it whole in the audit log by "
                                           "its correlation id",
                                           id, e->value("statement_bytes", 0LL)));
  }
  return e->value("statement", "");
}

void install_history_routes(http::Server& server, History& history, PageContextOf context) {
  server.route(http::Method::get, "/api/history", "api_history", [&history](const http::Request& req, httplib::Response& res) {
    try {
      http::send_json(res, 200, history_doc(history, req));
    } catch (const UsageError& e) {
      http::send_json(res, status_of(e), error_body(e));
    }
  });
  server.route(http::Method::get, "/history", "page_history",
               [&history, context](const http::Request& req, httplib::Response& res) {
                 PageContext ctx = context(req);
                 ctx.active_tab = "history";
                 try {
                   res.set_content(render_history_page(ctx, history_doc(history, req)), kHtml);
                 } catch (const UsageError& e) {
                   res.status = status_of(e);
                   res.set_content(render_error_page(ctx, res.status, e.what()), kHtml);
                 }
               });
  server.route(http::Method::post, "/api/history/clear", "api_history_clear",
               [&history](const http::Request& req, httplib::Response& res) {
                 http::send_json(res, 200, {{"cleared", history.clear(req.identity)}});
               });
}

}  // namespace pgshift::console
