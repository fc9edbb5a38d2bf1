// The layout every console page shares, and the error page.
#include <fmt/format.h>

#include <array>

#include "console/html.hpp"
#include "console/page_parts.hpp"
#include "util/redact.hpp"

namespace pgshift::console {
namespace {

struct Tab {
  std::string_view id;
  std::string_view label;
  std::string_view path;
};

constexpr std::array<Tab, 11> kTabs{{
    {"overview", "Overview", "/"},
    {"tables", "Tables", "/tables"},
    {"indexes", "Indexes", "/indexes"},
    {"queries", "Queries", "/queries"},
    {"activity", "Activity", "/activity"},
    {"replication", "Replication", "/replication"},
    {"backups", "Backups", "/backups"},
    {"settings", "Settings", "/settings"},
    {"sql", "SQL", "/sql"},
    {"history", "History", "/history"},
    {"migration", "Migration", "/migration"},
}};

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad request";
    case 401: return "Not signed in";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 408: return "Timed out";
    case 413: return "Request too large";
    case 414: return "URL too long";
    case 421: return "Misdirected request";
    case 422: return "SQL error";
    case 500: return "Internal error";
    case 503: return "Busy";
    default: return status >= 500 ? "Server error" : "Error";
  }
}

}  // namespace

namespace parts {

std::string layout(const PageContext& ctx, std::string_view title, std::string_view main_html) {
  const std::string base = html_escape(ctx.base_path);
  std::string out;
  out.reserve(main_html.size() + 2048);
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"referrer\" content=\"no-referrer\">\n";
  out += "<title>" + html_escape(title) + " · pgshift console</title>\n";
  out += "<link rel=\"icon\" href=\"" + base + "/assets/favicon.svg\" type=\"image/svg+xml\">\n";
  out += "<link rel=\"stylesheet\" href=\"" + base + "/assets/app.css\">\n";
  out += "<script src=\"" + base + "/assets/app.js\" defer></script>\n";
  out += "</head>\n";
  out += "<body data-base-path=\"" + base + "\" data-tab=\"" + html_escape(ctx.active_tab) + "\">\n";
  out += "<header class=\"top\">\n";
  out += "<a class=\"brand\" href=\"" + base + "/\">pgshift <span>console</span></a>\n";
  out += "<span class=\"database\" title=\"database\">" + html_escape(util::redact(ctx.database)) + "</span>\n";
  out += "<span class=\"badge read-only\" title=\"every statement runs in a READ ONLY transaction, through the "
         "gate\">read-only</span>\n";
  out += "<span class=\"identity\" title=\"signed in as\">" + html_escape(ctx.identity) + "</span>\n";
  out += "</header>\n<nav class=\"tabs\" aria-label=\"tabs\">\n";
  for (const Tab& tab : kTabs) {
    bool active = tab.id == ctx.active_tab;
    out += "<a href=\"" + html_escape(href(ctx.base_path, tab.path)) + "\"";
    out += active ? " class=\"tab active\" aria-current=\"page\"" : " class=\"tab\"";
    out += " data-tab=\"" + std::string(tab.id) + "\">" + std::string(tab.label) + "</a>\n";
  }
  out += "</nav>\n<main>\n";
  out += main_html;
  out += "</main>\n<footer>pgshift " PGSHIFT_VERSION
         " · read-only window: statements pass the gate, run READ ONLY with timeouts, and are audited</footer>\n";
  out += "</body>\n</html>\n";
  return out;
}

std::string document_page(const PageContext& ctx, const nlohmann::json& doc, std::string_view what,
                          std::string_view fallback_title, const std::function<std::string(const nlohmann::json&)>& title,
                          const std::function<std::string(const nlohmann::json&)>& body) {
  std::string page_title(fallback_title);
  std::string html;
  try {
    if (!doc.is_object()) {
      html = error_box(fmt::format("the {} is not a JSON object", what));
    } else {
      page_title = title(doc);
      html = body(doc);
    }
  } catch (const std::exception& e) {
    html = error_box(fmt::format("unexpected {} shape: {}", what, e.what()));
  }
  return layout(ctx, page_title, html);
}

std::string error_box(std::string_view message) {
  return "<div class=\"callout sev-critical error-box\" role=\"alert\"><strong>Cannot show this page</strong> " +
         html_escape(message) + "</div>\n";
}

std::string severity_badge(std::string_view severity) {
  std::string_view s = severity == "critical" || severity == "warning" ? severity : "info";
  return fmt::format("<span class=\"badge sev-{0}\">{0}</span>", s);
}

}  // namespace parts

std::string render_error_page(const PageContext& ctx, int status, std::string_view message) {
  std::string phrase(reason_phrase(status));
  std::string body = "<section class=\"error-page\">\n";
  body += fmt::format("<h1><span class=\"status\">{}</span> {}</h1>\n", status, html_escape(phrase));
  body += "<p class=\"message\">" + html_escape(util::redact(message)) + "</p>\n";
  body += "<p>" + link(href(ctx.base_path, "/"), "Back to the overview") + "</p>\n</section>\n";
  return parts::layout(ctx, fmt::format("{} {}", status, phrase), body);
}

}  // namespace pgshift::console
