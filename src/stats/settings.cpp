// settings(): non-default settings with their source, and the flags of settings_checks().
#include "stats/settings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stats/inspector.hpp"

namespace pgshift::stats {
namespace {

using detail::NamedQuery;

// The settings the Inspector sets LOCAL on its transaction (stats/inspector.cpp): RESET inside
// the same transaction (undone by its ROLLBACK), so pg_settings shows the value and source a new
// session gets. pg_settings is read from memory: no lock, nothing a timeout must guard.
constexpr std::string_view kResetSql[] = {"RESET statement_timeout", "RESET lock_timeout",   "RESET TimeZone",
                                          "RESET DateStyle",         "RESET IntervalStyle", "RESET extra_float_digits"};
constexpr NamedQuery kReset{"settings", "Settings", "", ""};

constexpr NamedQuery kNonDefault{"settings", "Non-default settings",
                                 "Every setting changed from PostgreSQL's built-in default, and where it was set "
                                 "(configuration file, ALTER SYSTEM, ALTER DATABASE/ROLE, command line).",
                                 R"sql(
SELECT name, setting, unit, source,
       CASE WHEN sourcefile IS NOT NULL THEN sourcefile || ':' || sourceline END AS source_file,
       boot_val AS default_value, category, pending_restart
  FROM pg_settings
 WHERE source NOT IN ('default', 'override', 'client', 'session')
 ORDER BY category, name
)sql",
                                 "membership in pg_read_all_settings (part of pg_monitor) to see every setting"};

constexpr NamedQuery kChecked{"checks", "Checks", "", R"sql(
SELECT name, setting, pending_restart FROM pg_settings WHERE name = ANY($1::text[]) OR pending_restart
)sql"};

std::string text_array(const std::vector<std::string>& names) {
  std::string out = "{";
  for (const auto& n : names) out += (out.size() > 1 ? "," : "") + n;
  return out + "}";
}

}  // namespace

Report settings(pg::Connection& conn, const Options& options, const SettingsContext& context) {
  detail::Inspector in(conn, options, "settings", "Settings");
  if (!in.supported()) return in.finish();
  in.guarded(kReset, [&] {
    for (auto sql : kResetSql) conn.exec(sql);
  });
  std::map<std::string, std::string> values;
  std::vector<std::string> pending;
  if (auto r = in.query(kChecked, {text_array(checked_settings())})) {
    for (int i = 0; i < r->rows(); ++i) {
      auto row = r->row(i);
      values[row.text("name")] = row.text("setting");
      if (row.boolean("pending_restart")) pending.push_back(row.text("name"));
    }
  }
  Section checks;
  checks.id = "checks";
  checks.title = "Checks";
  checks.explanation = "What a reader of this server should know about its settings; ok means nothing to act on.";
  checks.columns = {{"check", "text"}, {"value", "text"}, {"status", "text"}, {"explanation", "text"}};
  for (const auto& c : settings_checks(values, pending, context)) {
    checks.rows.push_back({c.check, c.value, c.ok ? "ok" : severity_name(c.severity), c.explanation});
    if (!c.ok) checks.findings.push_back({c.severity, c.check, "", c.explanation, c.advice});
  }
  in.report().sections.push_back(std::move(checks));
  if (auto r = in.section(kNonDefault)) {
    in.fact({"non_default", "Non-default settings", r->rows(), "count", ""});
  }
  in.fact({"pending_restart", "Waiting for a restart", static_cast<int64_t>(pending.size()), "count",
           pending.empty() ? "" : fmt::format("{}", fmt::join(pending, ", "))});
  return in.finish();
}

}  // namespace pgshift::stats
