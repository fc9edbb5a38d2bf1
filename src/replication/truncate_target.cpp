#include "replication/truncate_target.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "logical/logical.hpp"
#include "util/error.hpp"

namespace pgshift::replication::detail {
namespace {

// Foreign keys into the set from outside it; the set includes every partition of its roots
// (a partitioned table's key is cloned onto each partition).
constexpr std::string_view kOutsideReferencesSql = R"sql(
WITH named AS (SELECT unnest($1::oid[]) AS oid),
members AS (  -- pg_partition_tree lists nothing for a table that is not partitioned
  SELECT oid AS relid FROM named
  UNION SELECT t.relid FROM named CROSS JOIN LATERAL pg_partition_tree(named.oid::regclass) AS t
)
SELECT DISTINCT format('%s -> %s (%s)', c.conrelid::regclass, c.confrelid::regclass, c.conname) AS fk
  FROM pg_constraint c
 WHERE c.contype = 'f' AND c.confrelid IN (SELECT relid FROM members)
   AND c.conrelid NOT IN (SELECT relid FROM members)
 ORDER BY 1
)sql";

}  // namespace

void refuse_outside_references(pg::Connection& target, const catalog::Snapshot& target_snapshot,
                               const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> oids;
  for (const auto& ref : tables) {
    if (const catalog::Table* t = target_snapshot.table(ref)) oids.push_back(std::to_string(t->oid));
  }
  pg::Result r = target.exec(kOutsideReferencesSql, {fmt::format("{{{}}}", fmt::join(oids, ","))});
  if (r.empty()) return;
  std::vector<std::string> keys;
  for (int i = 0; i < r.rows(); ++i) keys.push_back(r.row(i).text("fk"));
  throw ProblemsFound(fmt::format(
      "--truncate-target on {}: {} foreign key(s) from target tables outside the replicated set reference it: {}; "
      "TRUNCATE would refuse (pgshift never empties tables it does not replicate): empty or drop those tables, "
      "or drop those foreign keys, then run sync start again",
      target.endpoint(), keys.size(), fmt::join(keys, ", ")));
}

void truncate_all(pg::Connection& target, const std::vector<catalog::TableRef>& tables) {
  if (tables.empty()) return;
  std::vector<std::string> quoted;
  for (const auto& t : tables) quoted.push_back(t.quoted());
  logical::exec_ddl(target, fmt::format("TRUNCATE {}", fmt::join(quoted, ", ")));
}

}  // namespace pgshift::replication::detail
