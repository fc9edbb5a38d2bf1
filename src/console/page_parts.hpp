// Pieces the console's page renderers share (internal to console; the public contract is
// pages.hpp). Everything returned here is HTML that is already escaped; every argument is
// plain text (escaped here) unless its name ends in _html.
//
//   layout        the whole document: head (one CSS, one deferred JS from {base}/assets), a
//                 header with the database, the identity and a read-only badge, the tabs (the
//                 active one marked aria-current), main, a footer. No inline script or style.
//   error_box     a callout for a renderer that met a shape it does not know.
//   table_views   the links between a table's rows and its structure.
//   Json access   tolerant readers: a missing or mistyped member gives the fallback, never throws.
//   Typed values  how a report's value of a given unit/type is shown (bytes human-readable with
//                 the exact count in a title, seconds as a duration, ratio as a percentage,
//                 counts with thousands separators, bool as yes/no, NULL as a dim dash).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>

#include <string>
#include <string_view>

#include "console/pages.hpp"

namespace pgshift::console::parts {

std::string layout(const PageContext& ctx, std::string_view title, std::string_view main_html);

std::string error_box(std::string_view message);

// A page rendered from a JSON document: the layout around body(doc), titled title(doc). A
// document that is not an object, or a shape body() does not expect (it throws), gives an error
// box naming `what` instead; never a crash.
std::string document_page(const PageContext& ctx, const nlohmann::json& doc, std::string_view what,
                          std::string_view fallback_title, const std::function<std::string(const nlohmann::json&)>& title,
                          const std::function<std::string(const nlohmann::json&)>& body);

// The Rows / Structure switch of a table's two pages (the current one marked aria-current).
std::string table_views(const PageContext& ctx, const std::string& schema, const std::string& table, bool structure);

// <span class="badge sev-{severity}">severity</span>, severity one of info|warning|critical
// (anything else shown as info).
std::string severity_badge(std::string_view severity);

std::string text_of(const nlohmann::json& object, std::string_view key, std::string_view fallback = "");
long long int_of(const nlohmann::json& object, std::string_view key, long long fallback = 0);
bool bool_of(const nlohmann::json& object, std::string_view key, bool fallback = false);
// The member when it is an array, else an empty array.
const nlohmann::json& array_of(const nlohmann::json& object, std::string_view key);

// A JSON scalar as plain text: strings as they are, numbers as JSON writes them, null as "".
std::string plain(const nlohmann::json& value);

// A number from a JSON number or a numeric string; false when it is neither.
bool number_of(const nlohmann::json& value, double& out);

// "1,234,567"; group_digits leaves anything but an optionally signed digit string unchanged.
std::string group_thousands(long long n);
std::string group_digits(std::string_view number);
// seconds → "350ms", "4.2s", "4m05s", "2h03m", "3d 04h"
std::string human_seconds(double seconds);

// Is a value of this report unit/type right-aligned in a table?
bool is_numeric_type(std::string_view type);

// A report value (fact or section cell) of unit/type `type`, as HTML.
std::string typed_value(const nlohmann::json& value, std::string_view type);

}  // namespace pgshift::console::parts
