#include "backup/drill_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "pg/error.hpp"

namespace pgshift::backup {
namespace {

constexpr std::string_view kMarkerSql = "SELECT extract(epoch FROM created_at)::float8 AS t FROM pgshift.drill_marker WHERE nonce = $1";
constexpr std::string_view kReplaySql =
    "SELECT extract(epoch FROM pg_last_xact_replay_timestamp())::float8 AS t, pg_last_wal_replay_lsn()::text AS lsn";

uint64_t fnv1a(std::string_view text, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string replace_target(std::string text) {
  for (size_t at; (at = text.find("on target")) != std::string::npos;) text.replace(at, 9, "in the restore");
  for (size_t at; (at = text.find("target")) != std::string::npos;) text.replace(at, 6, "restore");
  for (size_t at; (at = text.find("source")) != std::string::npos;) text.replace(at, 6, "live");
  return text;
}

}  // namespace

std::string schema_fingerprint(const catalog::Snapshot& s) {
  std::vector<std::string> parts;
  for (const auto& t : s.tables) parts.push_back("t " + t.ref.display() + " " + catalog::fingerprint(t));
  for (const auto& e : s.enums) {
    std::string p = "e " + e.name;
    for (const auto& l : e.labels) p += " " + l;
    parts.push_back(p);
  }
  for (const auto& q : s.sequences) parts.push_back("s " + q.ref.display() + " " + q.data_type);
  std::sort(parts.begin(), parts.end());
  uint64_t h = fnv1a("");
  for (const auto& p : parts) h = fnv1a(p + "\n", h);
  return fmt::format("{:016x}", h);
}

std::vector<std::string> describe_differences(const catalog::SchemaDiff& d) {
  std::vector<std::string> out;
  for (const auto& t : d.missing_on_target) out.push_back("table " + t.display() + " missing from the restore");
  for (const auto& t : d.extra_on_target) out.push_back("table " + t.display() + " only in the restore (dropped on live since)");
  for (const auto& c : d.columns) out.push_back(replace_target(catalog::describe(c)));
  for (const auto& e : d.enums) {
    if (e.missing_on_target) out.push_back("enum " + e.type + " missing from the restore");
    for (const auto& l : e.missing_labels) out.push_back("enum " + e.type + " lacks label " + l + " in the restore");
  }
  for (const auto& q : d.missing_sequences) out.push_back("sequence " + q.display() + " missing from the restore");
  return out;
}

bool count_within(int64_t live, int64_t restored, double tolerance) {
  double allowed = std::floor(tolerance * static_cast<double>(std::max(live, int64_t{0})));
  return std::abs(static_cast<double>(restored - live)) <= allowed;
}

void run_checks(pg::Connection& live, pg::Connection& restored, double tolerance, DrillReport& r) {
  catalog::Snapshot ls = catalog::read_snapshot(live, catalog::Detail::full);
  catalog::Snapshot rs = catalog::read_snapshot(restored, catalog::Detail::full);
  r.live_fingerprint = schema_fingerprint(ls);
  r.restored_fingerprint = schema_fingerprint(rs);
  r.schema_differences = describe_differences(catalog::diff_schemas(ls, rs));
  r.schema_ok = r.live_fingerprint == r.restored_fingerprint && r.schema_differences.empty();
  if (r.live_fingerprint != r.restored_fingerprint && r.schema_differences.empty()) {
    r.schema_differences.push_back("schema fingerprints differ (sequence types or enum label order)");
  }
  for (const auto& t : ls.tables) {
    if (t.kind == catalog::TableKind::partitioned) continue;  // its partitions are counted
    if (t.persistence != catalog::Persistence::permanent) {
      r.skipped_tables.push_back(t.ref.display() + " (unlogged: empty after any restore)");
      continue;
    }
    TableCheck c;
    c.name = t.ref.display();
    c.schema = t.ref.schema;
    c.relname = t.ref.name;
    std::string sql = "SELECT count(*) FROM " + t.ref.quoted();
    c.live = live.exec(sql).scalar_int64();
    if (rs.table(t.ref)) {
      try {
        c.restored = restored.exec(sql).scalar_int64();
      } catch (const pg::SqlError& e) {
        c.count_error = e.what();  // present, unreadable: a damaged page ("invalid page in block ...")
      }
    }
    c.ok = c.restored && c.count_error.empty() && count_within(c.live, *c.restored, tolerance);
    r.tables.push_back(std::move(c));
  }
  try {
    pg::Result m = restored.exec(kMarkerSql, {r.marker_nonce});
    r.marker_found = !m.empty();
  } catch (const pg::SqlError&) {
    r.marker_found = false;  // the marker table itself is missing: the restore predates every drill
  }
  pg::Result rep = restored.exec(kReplaySql);
  if (!rep.row(0).is_null("t")) r.newest_restored_commit = rep.row(0).float64("t");
  r.recovery_end_lsn = rep.row(0).text("lsn");
  if (r.marker_time && r.newest_restored_commit) r.rpo_s = std::max(0.0, *r.marker_time - *r.newest_restored_commit);
  else if (r.marker_found) r.rpo_s = 0.0;
}

}  // namespace pgshift::backup
