// Replica identities on both sides: set them before publishing, restore them on stop.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "logical/logical.hpp"
#include "pg/connection.hpp"

namespace pgshift::logical {
namespace {

constexpr std::string_view kTableExistsSql = "SELECT to_regclass($1) IS NOT NULL AS present";
constexpr std::string_view kIndexExistsSql = R"sql(
SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                WHERE i.indrelid = to_regclass($1) AND ic.relname = $2) AS present
)sql";

}  // namespace

void apply_identity_changes(pg::Connection& source, pg::Connection& target, state::Journal& journal,
                            int64_t migration_id, const std::vector<IdentityChange>& changes,
                            std::string_view step) {
  for (const auto& change : changes) {
    pg::Connection& conn = change.side == IdentityChange::Side::source ? source : target;
    // Recorded first: if we die right after the ALTER, stop still knows to restore it.
    journal.compensation(migration_id, step, change.to_json());
    exec_ddl(conn, fmt::format("ALTER TABLE {} REPLICA IDENTITY {}", change.table.quoted(),
                               identity_clause(change.to, change.to_index)));
    spdlog::info("{}", change.describe());
  }
}

std::vector<IdentityChange> restore_identities(pg::Connection& source, pg::Connection& target,
                                               state::Journal& journal, int64_t migration_id,
                                               std::string_view step) {
  std::vector<IdentityChange> restored;
  for (const auto& event : journal.open_compensations(migration_id, step)) {
    IdentityChange change = IdentityChange::from_json(event.detail);
    pg::Connection& conn = change.side == IdentityChange::Side::source ? source : target;
    std::string side = change.database_role();
    if (!conn.exec(kTableExistsSql, {change.table.quoted()}).row(0).boolean("present")) {
      spdlog::warn("{} {}: table no longer exists; nothing to restore", side, change.table.display());
      journal.settle(migration_id, event, {{"skipped", "table no longer exists"}});
      continue;
    }
    catalog::ReplicaIdentity back = change.from;
    if (back == catalog::ReplicaIdentity::index &&
        !conn.exec(kIndexExistsSql, {change.table.quoted(), change.from_index}).row(0).boolean("present")) {
      spdlog::warn("{} {}: index {} of the former replica identity is gone; restoring DEFAULT", side,
                   change.table.display(), change.from_index);
      back = catalog::ReplicaIdentity::default_key;
    }
    exec_ddl(conn, fmt::format("ALTER TABLE {} REPLICA IDENTITY {}", change.table.quoted(),
                               identity_clause(back, change.from_index)));
    spdlog::info("{} {}: REPLICA IDENTITY {} restored", side, change.table.display(),
                 identity_clause(back, change.from_index));
    journal.settle(migration_id, event, {{"restored", catalog::to_string(back)}});
    restored.push_back(change);
  }
  return restored;
}

}  // namespace pgshift::logical
