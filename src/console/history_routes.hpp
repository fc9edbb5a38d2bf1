// The console's History page and its API, on top of console::History (history.hpp):
//
//   GET  /history        the identity's own statements, newest first (?outcome= one of ok,
//                        rejected, error, timeout, cancelled: only those), each with a link
//                        that opens it in the SQL tab's editor (/sql?from=ID)
//   GET  /api/history    {"identity", "entries": [entry...], "count", "limit", "persisted",
//                        "outcome": the filter or null}
//   POST /api/history/clear   forgets the caller's own history: {"cleared": n}; a POST, so the
//                        server's Origin + X-Pgshift-Request rule applies (403 cross-origin)
//
// Nothing here runs a statement: /sql?from=ID only puts the statement back into the editor (the
// person then runs it, through the gate and the engine like any other). Every lookup is by the
// request's identity, so no identity ever reads or clears another's. A bad ?outcome= or ?from=
// is 400 naming it; an id not in the caller's history is 404.
#pragma once

#include <functional>
#include <string>

#include "audit/audit.hpp"
#include "console/history.hpp"
#include "console/pages.hpp"
#include "console/table_browser.hpp"
#include "http/server.hpp"

namespace pgshift::console {

// No such entry in the caller's history: 404, like an unknown table.
class UnknownHistoryEntry : public UnknownTable {
 public:
  using UnknownTable::UnknownTable;
};

// Is this audit record a statement a person ran themselves in the console (the SQL tab and its
// exports, a table's exact count)? The table browser's own queries are not.
bool is_history_statement(const audit::Record& record);

// /sql?from=ID: the statement to put into the editor, "" without from. Throws BadParameter
// ("from": not an id, or an entry kept cut) or UnknownHistoryEntry.
std::string rerun_statement(const History& history, const http::Request& req);

using PageContextOf = std::function<PageContext(const http::Request&)>;

// Registers the three routes above.
void install_history_routes(http::Server& server, History& history, PageContextOf context);

// The History page from the JSON of GET /api/history.
std::string render_history_page(const PageContext& ctx, const nlohmann::json& doc);

}  // namespace pgshift::console
