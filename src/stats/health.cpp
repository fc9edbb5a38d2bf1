// health(): the most important checks of every report, in one report (MCP `health`).
#include "stats/health_checks.hpp"

#include <algorithm>

#include "stats/diagnostics.hpp"

namespace pgshift::stats {
namespace {

int rank(Severity s) { return s == Severity::critical ? 2 : s == Severity::warning ? 1 : 0; }

bool is_diagnostic_failure(const std::string& code) {
  return code == "insufficient-privilege" || code == "query-timeout" || code == "query-failed" ||
         code == "unsupported-version" || code == "untested-version";
}

// Which report a check's codes come from, to tell "unknown" from "ok".
std::string_view check_report(std::string_view check) {
  static const std::vector<std::pair<std::string_view, std::string_view>> kReports = {
      {"cache-hit", "overview"},          {"connections", "overview"},       {"wraparound", "overview"},
      {"sequences", "overview"},          {"long-transactions", "overview"}, {"bloat", "tables"},
      {"unused-indexes", "indexes"},      {"duplicate-indexes", "indexes"},  {"invalid-indexes", "indexes"},
      {"long-running-queries", "activity"}, {"blocked-queries", "activity"}, {"idle-in-transaction", "activity"},
      {"replication", "replication"},     {"archiver", "archiver"}};
  for (const auto& [c, r] : kReports) {
    if (c == check) return r;
  }
  return "";
}

}  // namespace

const std::vector<HealthCheck>& health_checks() {
  static const std::vector<HealthCheck> kChecks = {
      {"cache-hit", "Cache hit ratio", {"cache-hit-ratio"}},
      {"connections", "Connections", {"connections-near-max"}},
      {"wraparound", "Transaction ID wraparound", {"xid-wraparound"}},
      {"sequences", "Sequences near exhaustion", {"sequence-exhaustion"}},
      {"long-transactions", "Long transactions", {"long-transaction"}},
      {"bloat", "Bloat and dead tuples", {"table-bloat", "dead-tuples"}},
      {"unused-indexes", "Unused indexes", {"unused-index", "stats-too-young"}},
      {"duplicate-indexes", "Duplicate indexes", {"duplicate-index"}},
      {"invalid-indexes", "Invalid indexes", {"invalid-index"}},
      {"long-running-queries", "Long-running queries", {"long-running-query"}},
      {"blocked-queries", "Blocked queries", {"blocked-query"}},
      {"idle-in-transaction", "Idle in transaction", {"idle-in-transaction"}},
      {"replication", "Replication lag and slots",
       {"replication-lag", "slot-wal-lost", "slot-wal-unreserved", "slot-inactive", "slot-retained-wal",
        "subscription-disabled", "subscription-worker-down", "subscription-errors"}},
      {"archiver", "WAL archiving", {"archiver-failing", "archiver-stale", "archive-mode-off"}},
  };
  return kChecks;
}

Report combine_health(const std::vector<Report>& parts) {
  Report out;
  out.id = "health";
  out.title = "Health";
  Section checks{"checks", "Checks", "Each health check with its worst finding; ok means it ran and found nothing.",
                 {{"check", "text"}, {"label", "text"}, {"status", "text"}, {"findings", "count"}}, {}, {}};
  for (const auto& p : parts) {
    if (out.server_version_num == 0) out.server_version_num = p.server_version_num;
  }
  for (const auto& check : health_checks()) {
    int worst = -1;
    int64_t count = 0;
    bool failed = false;
    for (const auto& p : parts) {
      for (const auto& f : p.findings) {
        if (std::find(check.codes.begin(), check.codes.end(), f.code) != check.codes.end()) {
          worst = std::max(worst, rank(f.severity));
          ++count;
          out.findings.push_back(f);
        } else if (p.id == check_report(check.id) && is_diagnostic_failure(f.code)) {
          failed = true;
        }
      }
    }
    std::string status = worst >= 0 ? severity_name(worst == 2 ? Severity::critical : worst == 1 ? Severity::warning : Severity::info)
                         : failed    ? "unknown"
                                     : "ok";
    checks.rows.push_back({std::string(check.id), std::string(check.label), status, count});
  }
  // Diagnostic failures once each (the same privilege may be missing in several reports).
  for (const auto& p : parts) {
    for (const auto& f : p.findings) {
      if (!is_diagnostic_failure(f.code)) continue;
      bool dup = std::any_of(out.findings.begin(), out.findings.end(), [&](const Finding& g) {
        return g.code == f.code && g.object == f.object && g.message == f.message;
      });
      if (!dup) out.findings.push_back(f);
    }
  }
  std::stable_sort(out.findings.begin(), out.findings.end(),
                   [](const Finding& a, const Finding& b) { return rank(a.severity) > rank(b.severity); });
  int64_t n[3] = {0, 0, 0};
  for (const auto& f : out.findings) ++n[rank(f.severity)];
  out.facts.push_back({"critical", "Critical", n[2], "count", ""});
  out.facts.push_back({"warning", "Warnings", n[1], "count", ""});
  out.facts.push_back({"info", "Notes", n[0], "count", ""});
  out.facts.push_back({"status", "Status", n[2] ? "critical" : n[1] ? "warning" : "ok", "", "the worst finding"});
  out.sections.push_back(std::move(checks));
  return out;
}

Report health(pg::Connection& conn, const Options& options) {
  return combine_health({overview(conn, options), tables(conn, options), indexes(conn, options), activity(conn, options),
                         replication(conn, options), archiver(conn, options)});
}

}  // namespace pgshift::stats
