#include "stats/locked_tables.hpp"

#include <fmt/format.h>

namespace pgshift::stats::detail {
namespace {

// Other sessions' ACCESS EXCLUSIVE locks on relations of this database, granted or waiting.
constexpr NamedQuery kLocked{"locked", "Locked tables", "", R"sql(
SELECT l.relation::bigint AS oid, n.nspname AS schema, c.relname AS name,
       string_agg(format('%s by pid %s', CASE WHEN l.granted THEN 'held' ELSE 'requested' END, l.pid), ', '
                  ORDER BY l.granted DESC, l.pid) AS how
  FROM pg_locks l
  JOIN pg_class c ON c.oid = l.relation
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.pid IS DISTINCT FROM pg_backend_pid()
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 GROUP BY 1, 2, 3
 ORDER BY 2, 3
)sql"};

}  // namespace

LockedRelations locked_relations(Inspector& in) {
  LockedRelations out;
  auto r = in.query(kLocked);
  if (!r || r->rows() == 0) return out;
  std::string oids;
  for (int i = 0; i < r->rows(); ++i) {
    auto row = r->row(i);
    // A TOAST table or a journal table is locked with its table, or is not listed anyway: its
    // oid still counts, its name is not worth a finding.
    if (!is_internal_schema(row.view("schema"))) out.relations.push_back({row.text("schema"), row.text("name"), row.text("how")});
    oids += (oids.empty() ? "" : ",") + row.text("oid");
  }
  out.oids = "{" + oids + "}";
  return out;
}

void add_locked_finding(Inspector& in, const LockedRelations& locked, std::string_view consequence,
                        std::string_view section_id) {
  if (locked.relations.empty()) return;
  std::string names, objects;
  for (const auto& r : locked.relations) {
    std::string name = r.schema + "." + r.name;
    names += fmt::format("{}{} ({})", names.empty() ? "" : "; ", name, r.how);
    objects += (objects.empty() ? "" : ", ") + name;
  }
  in.finding({Severity::warning, "table-locked", objects,
              fmt::format("locked ACCESS EXCLUSIVE by another session: {}; {}", names, consequence),
              "reading their sizes or definitions would wait for the lock; pg_stat_activity shows what those pids "
              "run, and the Activity tab which sessions they block"},
             section_id);
}

}  // namespace pgshift::stats::detail
