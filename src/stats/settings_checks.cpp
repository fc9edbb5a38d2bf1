// settings_checks(): the Settings tab's flags as pure functions of pg_settings values.
#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "stats/checks.hpp"
#include "stats/settings.hpp"

namespace pgshift::stats {
namespace {

using Values = std::map<std::string, std::string>;

// An archive_timeout above this lets an hour of commits wait for archiving on a quiet server.
constexpr long long kArchiveTimeoutInfoSeconds = 3'600;
// A reader's pool above this share of the connections non-superusers may open crowds the application.
constexpr double kPoolShareWarning = 0.25;

std::optional<std::string> get(const Values& v, const std::string& name) {
  auto it = v.find(name);
  if (it == v.end()) return std::nullopt;
  return it->second;
}

std::optional<long long> number(const Values& v, const std::string& name) {
  auto s = get(v, name);
  if (!s) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
  if (ec != std::errc() || end != s->data() + s->size()) return std::nullopt;
  return n;
}

SettingCheck unreadable(std::string check, const std::string& names) {
  return {std::move(check), "", Severity::info, true,
          names + " not readable by this role (pg_read_all_settings, part of pg_monitor, shows it)", ""};
}

SettingCheck pool_check(const Values& v, const SettingsContext& c) {
  auto max = number(v, "max_connections");
  if (!max) return unreadable("pool-vs-max-connections", "max_connections");
  long long reserved = number(v, "superuser_reserved_connections").value_or(0) + number(v, "reserved_connections").value_or(0);
  long long open = std::max(*max - reserved, 1LL);
  std::string value = fmt::format("max_connections={} reserved={} console pool={}", *max, reserved, c.pool_connections);
  if (c.pool_connections <= 0) {
    return {"pool-vs-max-connections", value, Severity::info, true,
            fmt::format("{} connections for non-superusers; this reader's pool size is not known", open), ""};
  }
  double share = static_cast<double>(c.pool_connections) / static_cast<double>(open);
  if (share > kPoolShareWarning) {
    return {"pool-vs-max-connections", value, Severity::warning, false,
            fmt::format("the console's pool may hold {} of the {} connections non-superusers can open ({:.0f}%, "
                        "threshold {:.0f}%): busy pages could leave the application without connections",
                        c.pool_connections, open, share * 100, kPoolShareWarning * 100),
            "lower the console's --max-connections, or raise max_connections (restart) or put a pooler in front"};
  }
  return {"pool-vs-max-connections", value, Severity::info, true,
          fmt::format("the console's pool holds at most {} of the {} connections non-superusers can open",
                      c.pool_connections, open),
          ""};
}

SettingCheck archive_check(const Values& v) {
  auto mode = get(v, "archive_mode");
  auto timeout = number(v, "archive_timeout");
  if (!mode || !timeout) return unreadable("archive-timeout", "archive_mode/archive_timeout");
  std::string value = fmt::format("archive_mode={} archive_timeout={}s", *mode, *timeout);
  if (*mode == "off") {
    return {"archive-timeout", value, Severity::info, true,
            "archive_mode is off: no WAL archive, so no point-in-time recovery from it (the Backups tab)", ""};
  }
  if (*timeout == 0) {
    return {"archive-timeout", value, Severity::warning, false,
            "archive_timeout is 0: on a quiet database a partly filled WAL segment is archived only when it fills, "
            "so the commits in it can stay unarchived for hours (the RPO of a restore from the archive is unbounded)",
            "set archive_timeout (60s to 5min is usual; each switch archives one 16 MB segment) to bound the RPO"};
  }
  if (*timeout > kArchiveTimeoutInfoSeconds) {
    return {"archive-timeout", value, Severity::info, false,
            fmt::format("archive_timeout is {}: on a quiet database up to that much of committed work may be missing "
                        "from the archive (threshold {})",
                        human_seconds(static_cast<double>(*timeout)),
                        human_seconds(static_cast<double>(kArchiveTimeoutInfoSeconds))),
            "lower archive_timeout to the RPO you promise"};
  }
  return {"archive-timeout", value, Severity::info, true,
          fmt::format("a WAL segment is archived at most {} after its first write", human_seconds(static_cast<double>(*timeout))),
          ""};
}

SettingCheck zero_timeout_check(const Values& v, const std::string& check, const std::string& name,
                                const std::string& off_text, const std::string& advice) {
  auto ms = number(v, name);
  if (!ms) return unreadable(check, name);
  std::string value = fmt::format("{}={}ms", name, *ms);
  if (*ms == 0) return {check, value, Severity::info, false, off_text, advice};
  return {check, value, Severity::info, true,
          fmt::format("{} is {}", name, human_seconds(static_cast<double>(*ms) / 1000)), ""};
}

SettingCheck wal_level_check(const Values& v) {
  auto level = get(v, "wal_level");
  if (!level) return unreadable("wal-level-not-logical", "wal_level");
  if (*level == "logical") {
    return {"wal-level-not-logical", "wal_level=logical", Severity::info, true,
            "wal_level is logical: a logical-replication migration can start from this database", ""};
  }
  return {"wal-level-not-logical", "wal_level=" + *level, Severity::info, false,
          "wal_level is " + *level + ": moving this database with logical replication (pgshift sync) needs wal_level = "
              "logical, which takes a restart",
          "plan a restart with wal_level = logical before a migration from this server (pgshift check says so too)"};
}

SettingCheck switch_check(const Values& v, const std::string& check, const std::string& name, Severity severity,
                          const std::string& off_text, const std::string& advice) {
  auto value = get(v, name);
  if (!value) return unreadable(check, name);
  if (*value == "off") return {check, name + "=off", severity, false, off_text, advice};
  return {check, name + "=" + *value, Severity::info, true, name + " is on", ""};
}

SettingCheck pending_check(const std::vector<std::string>& pending) {
  if (pending.empty()) {
    return {"pending-restart", "", Severity::info, true, "no changed setting waits for a restart", ""};
  }
  std::string names;
  for (const auto& n : pending) names += (names.empty() ? "" : ", ") + n;
  return {"pending-restart", names, Severity::warning, false,
          fmt::format("{} changed setting(s) wait for a server restart to take effect: {}", pending.size(), names),
          "restart the server when convenient, or revert the change; until then the running value applies"};
}

}  // namespace

const std::vector<std::string>& checked_settings() {
  static const std::vector<std::string> kNames = {
      "max_connections", "superuser_reserved_connections", "reserved_connections", "archive_mode", "archive_timeout",
      "statement_timeout", "idle_in_transaction_session_timeout", "wal_level", "fsync", "full_page_writes"};
  return kNames;
}

std::vector<SettingCheck> settings_checks(const Values& values, const std::vector<std::string>& pending_restart,
                                          const SettingsContext& context) {
  return {
      pool_check(values, context),
      archive_check(values),
      zero_timeout_check(values, "statement-timeout-off", "statement_timeout",
                         "statement_timeout is 0 for new sessions: a runaway query runs until someone cancels it",
                         "set a statement_timeout per role or database for applications (ALTER ROLE app SET "
                         "statement_timeout = '30s'), keeping it off for migrations and maintenance"),
      zero_timeout_check(values, "idle-in-transaction-timeout-off", "idle_in_transaction_session_timeout",
                         "idle_in_transaction_session_timeout is 0: a session left idle in a transaction holds its "
                         "locks and the xmin horizon (vacuum stops cleaning) until it is closed",
                         "set idle_in_transaction_session_timeout (e.g. 10min) so abandoned transactions end"),
      wal_level_check(values),
      switch_check(values, "fsync-off", "fsync", Severity::critical,
                   "fsync is off: a crash of the server or its machine can corrupt the database",
                   "turn fsync on (only a throw-away database may run without it)"),
      switch_check(values, "full-page-writes-off", "full_page_writes", Severity::warning,
                   "full_page_writes is off: a crash during a partial page write can leave pages torn",
                   "turn full_page_writes on unless the storage guarantees atomic 8 kB writes"),
      pending_check(pending_restart),
  };
}

}  // namespace pgshift::stats
