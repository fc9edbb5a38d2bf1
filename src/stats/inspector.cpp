#include "stats/inspector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "pg/error.hpp"
#include "stats/values.hpp"

namespace pgshift::stats::detail {
namespace {

// LOCAL settings: gone at ROLLBACK. lock_timeout keeps a size function (which takes an
// AccessShareLock) from waiting behind an ACCESS EXCLUSIVE lock for the whole timeout.
constexpr std::string_view kSettingsSql = R"sql(
SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true),
       set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
       set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '1', true)
)sql";
constexpr std::string_view kSavepoint = "SAVEPOINT pgshift_stats";
constexpr std::string_view kRelease = "RELEASE SAVEPOINT pgshift_stats";
constexpr std::string_view kRollbackTo = "ROLLBACK TO SAVEPOINT pgshift_stats";
static_assert(kSavepoint.ends_with(kSavepointName) && kRelease.ends_with(kSavepointName) &&
              kRollbackTo.ends_with(kSavepointName) && kOwnStatementsPattern.ends_with(kSavepointName));

constexpr std::string_view kInsufficientPrivilege = "42501";
constexpr std::string_view kQueryCanceled = "57014";
constexpr std::string_view kLockNotAvailable = "55P03";

int rank(Severity s) { return s == Severity::critical ? 2 : s == Severity::warning ? 1 : 0; }

}  // namespace

bool is_internal_schema(std::string_view schema) {
  static const std::regex re{std::string(kInternalSchemas)};
  return std::regex_match(schema.begin(), schema.end(), re);
}

std::string seconds_param(double seconds) { return fmt::format("{}", seconds); }

void fill_section(Section& section, const pg::Result& result) {
  std::vector<Oid> types;
  int total_column = -1;
  for (int c = 0; c < result.columns(); ++c) {
    std::string name = result.column_name(c);
    types.push_back(result.column_type(c));
    if (name == kTotalRowsColumn) {
      total_column = c;
      continue;
    }
    section.columns.push_back({name, column_type(name, types.back())});
  }
  if (total_column >= 0) {
    int64_t total = result.rows() > 0 ? result.row(0).int64(kTotalRowsColumn) : 0;
    if (total > result.rows()) section.total_rows = total;
  }
  for (int r = 0; r < result.rows(); ++r) {
    std::vector<nlohmann::json> row;
    row.reserve(types.size());
    for (int c = 0; c < result.columns(); ++c) {
      if (c == total_column) continue;
      std::optional<std::string_view> cell;
      if (!result.is_null(r, c)) cell = result.view(r, c);
      row.push_back(cell_json(cell, types[c]));
    }
    section.rows.push_back(std::move(row));
  }
}

Inspector::Inspector(pg::Connection& conn, const Options& options, std::string id, std::string title)
    : conn_(conn), options_(options) {
  report_.id = std::move(id);
  report_.title = std::move(title);
  report_.server_version_num = conn.server_version();
  if (version() < kMinVersion) {
    supported_ = false;
    report_.findings.push_back({Severity::critical, "unsupported-version", "",
                                fmt::format("PostgreSQL {} is older than 13, which pgshift's diagnostics need", version()),
                                "upgrade the server (13 reached end of life in November 2025)"});
    return;
  }
  if (version() > kMaxTestedVersion) {
    report_.findings.push_back({Severity::info, "untested-version", "",
                                fmt::format("server_version_num {} is newer than 17: the PostgreSQL 17 queries ran", version()),
                                "report a diagnostic that looks wrong"});
  }
  tx_.emplace(conn_, "BEGIN READ ONLY");
  auto timeout = options_.statement_timeout.count();
  conn_.exec(kSettingsSql, {fmt::format("{}ms", timeout), fmt::format("{}ms", std::max<int64_t>(timeout / 3, 1))});
}

void Inspector::failed(const NamedQuery& q, const pg::SqlError& e) {
  Finding f;
  f.object = std::string(q.id);
  if (e.sqlstate() == kInsufficientPrivilege) {
    f = {Severity::warning, "insufficient-privilege", std::string(q.id),
         fmt::format("{}: not readable by this role ({})", q.title, e.server_message()),
         fmt::format("grant the role {}", q.needs)};
  } else if (e.sqlstate() == kQueryCanceled || e.sqlstate() == kLockNotAvailable) {
    f = {Severity::warning, "query-timeout", std::string(q.id),
         fmt::format("{}: no answer within {} ({})", q.title, util::format_duration(options_.statement_timeout),
                     e.server_message()),
         "retry later: the server is busy or a lock on a table blocked the query"};
  } else {
    f = {Severity::warning, "query-failed", std::string(q.id),
         fmt::format("{}: {} (SQLSTATE {})", q.title, e.server_message(), e.sqlstate()), "report this diagnostic's failure"};
  }
  finding(std::move(f), q.id);
}

bool Inspector::guarded(const NamedQuery& q, const std::function<void()>& fn) {
  conn_.exec(kSavepoint);
  try {
    fn();
  } catch (const pg::SqlError& e) {
    if (!conn_.is_ok()) throw;
    conn_.exec(kRollbackTo);
    failed(q, e);
    return false;
  } catch (const Error& e) {
    // Not the server's: a reader met data it cannot read (a journal from a newer pgshift).
    conn_.exec(kRollbackTo);
    finding({Severity::warning, "query-failed", std::string(q.id), fmt::format("{}: {}", q.title, e.what()),
             "report this diagnostic's failure"},
            q.id);
    return false;
  }
  conn_.exec(kRelease);
  return true;
}

std::optional<pg::Result> Inspector::query(const NamedQuery& q, const pg::Params& params) {
  if (!supported_ || version() < q.min_version) return std::nullopt;
  std::optional<pg::Result> out;
  guarded(q, [&] { out.emplace(conn_.exec(q.sql, params)); });
  return out;
}

std::optional<pg::Result> Inspector::section(const NamedQuery& q, const pg::Params& params, std::string explanation) {
  if (!supported_ || version() < q.min_version) return std::nullopt;
  Section s;
  s.id = std::string(q.id);
  s.title = std::string(q.title);
  s.explanation = explanation.empty() ? std::string(q.explanation) : std::move(explanation);
  report_.sections.push_back(std::move(s));
  std::optional<pg::Result> r = query(q, params);
  if (r) fill_section(report_.sections.back(), *r);
  return r;
}

Section* Inspector::find_section(std::string_view id) {
  for (auto& s : report_.sections) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

void Inspector::finding(Finding f, std::string_view section_id) {
  Section* s = section_id.empty() ? nullptr : find_section(section_id);
  (s ? s->findings : report_.findings).push_back(std::move(f));
}

Report Inspector::finish() {
  if (tx_) {
    tx_->rollback();
    tx_.reset();
  }
  std::vector<Finding> all = std::move(report_.findings);
  for (const auto& s : report_.sections) all.insert(all.end(), s.findings.begin(), s.findings.end());
  std::stable_sort(all.begin(), all.end(), [](const Finding& a, const Finding& b) { return rank(a.severity) > rank(b.severity); });
  report_.findings = std::move(all);
  return std::move(report_);
}

}  // namespace pgshift::stats::detail
