// settings(): the server's settings a read-only reader should know (the console's Settings tab).
//
// Report id "settings". Sections:
//   checks    one row per flag below: check, value (the settings it read), status
//             (ok/info/warning/critical) and the one-line explanation; each non-ok row is also a
//             finding with its advice.
//   settings  every setting not at its built-in default: name, setting, unit, source (the
//             configuration file, ALTER SYSTEM, ALTER DATABASE/ROLE, a command line, ...),
//             source_file (file:line, needs pg_read_all_settings), default_value, category,
//             pending_restart. Sources 'default' and 'override' (initdb's computed values) are left
//             out, and so are 'client' and 'session': those are the console's own connection
//             (application_name, the diagnostics' SET LOCAL timeouts), not the server. The
//             settings the diagnostics set on their transaction are RESET first, so what shows is
//             what a new session of this role gets, with its real source.
// Facts: non_default (count), pending_restart (count).
// Findings (codes): pool-vs-max-connections, archive-timeout, statement-timeout-off,
// idle-in-transaction-timeout-off, wal-level-not-logical, fsync-off, full-page-writes-off,
// pending-restart. Same contract as stats/diagnostics.hpp otherwise (read-only, restricted
// roles get findings, not exceptions).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "stats/diagnostics.hpp"

namespace pgshift::stats {

// What the reading tool knows about itself.
struct SettingsContext {
  int pool_connections = 0;  // connections the reader's own pool may open (--max-connections); 0 unknown
};

Report settings(pg::Connection& conn, const Options& options = {}, const SettingsContext& context = {});

// One flag's verdict, as the checks section shows it.
struct SettingCheck {
  std::string check;     // "archive-timeout", ...
  std::string value;     // "archive_mode=on archive_timeout=0"
  Severity severity = Severity::info;
  bool ok = true;
  std::string explanation;  // one line
  std::string advice;       // what to do (for a finding), empty when ok
};

// The flags, as pure functions of the settings' values (name -> pg_settings.setting, in the
// setting's base unit: archive_timeout in s, statement_timeout in ms, ...) and names of the
// settings waiting for a restart. A setting missing from the map (not readable, or absent on this
// version) makes its check "ok" with an explanation saying it was not readable.
std::vector<SettingCheck> settings_checks(const std::map<std::string, std::string>& values,
                                          const std::vector<std::string>& pending_restart,
                                          const SettingsContext& context);

// The names settings_checks() reads.
const std::vector<std::string>& checked_settings();

}  // namespace pgshift::stats
