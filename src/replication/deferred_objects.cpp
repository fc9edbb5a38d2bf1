#include "replication/deferred_objects.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>

#include "access/text_array.hpp"
#include "logical/logical.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "util/duration.hpp"
#include "util/work_queue.hpp"

namespace pgshift::replication {
namespace {

using nlohmann::json;

// $1: the tables (quoted names). `pinned` holds the indexes and constraints that other objects
// depend on, which are kept (never dropped for the copy): a foreign key from a table outside the
// set (it relies on the unique index it references), and anything else that depends on one of
// them in pg_depend — a view, materialized view or rule (the rewrite rule of a view that GROUPs
// BY a primary key depends on it: functional dependency) or any object not a constraint. Dropping
// such an index or constraint would fail ("other objects depend on it") or take them with it.
// Foreign keys inside the set are deferred themselves (dropped first, rebuilt after).
constexpr std::string_view kRelations = R"sql(
WITH named AS (SELECT unnest($1::text[])::regclass::oid AS oid),
rel AS (SELECT oid FROM named
        UNION SELECT i.inhrelid FROM pg_inherits i JOIN named ON named.oid = i.inhparent
        UNION SELECT i2.inhrelid FROM pg_inherits i1 JOIN named ON named.oid = i1.inhparent
                                 JOIN pg_inherits i2 ON i2.inhparent = i1.inhrelid),
depended AS (
  SELECT f.conindid AS oid FROM pg_constraint f WHERE f.contype = 'f' AND f.conrelid NOT IN (SELECT oid FROM rel)
  UNION
  SELECT d.refobjid FROM pg_depend d
   WHERE d.deptype = 'n' AND d.refclassid IN ('pg_constraint'::regclass, 'pg_class'::regclass)
     AND d.classid <> 'pg_constraint'::regclass
     AND (d.refclassid <> 'pg_class'::regclass
          OR d.refobjid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM rel)))
),
parents AS (  -- a partition's constraint goes with its parent's: keep the parent's too
  SELECT oid FROM depended
  UNION SELECT c.conparentid FROM pg_constraint c JOIN depended ON depended.oid = c.oid WHERE c.conparentid <> 0
  UNION SELECT h.inhparent FROM pg_inherits h JOIN depended ON depended.oid = h.inhrelid
),
pinned AS (  -- an index with the constraint that owns it, and the other way round
  SELECT oid AS conindid FROM parents
  UNION SELECT c.conindid FROM pg_constraint c JOIN parents ON parents.oid = c.oid WHERE c.conindid <> 0
  UNION SELECT c.oid FROM pg_constraint c JOIN parents ON parents.oid = c.conindid
)
)sql";

constexpr std::string_view kIndexes = R"sql(
SELECT n.nspname AS schema, t.relname AS table_name, i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,
       t.relkind = 'p' AS partitioned
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE x.indrelid IN (SELECT oid FROM rel)
   AND NOT x.indisprimary AND NOT x.indisreplident AND x.indisvalid
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                                                   AND c.contype IN ('p', 'u', 'x'))
   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = x.indexrelid)
   AND x.indexrelid NOT IN (SELECT conindid FROM pinned)
 ORDER BY 1, 2, 3
)sql";

constexpr std::string_view kConstraints = R"sql(
SELECT n.nspname AS schema, t.relname AS table_name, c.conname AS name, c.contype::text AS type,
       pg_get_constraintdef(c.oid) AS definition, t.relkind = 'p' AS partitioned, c.convalidated AS validated
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE c.conrelid IN (SELECT oid FROM rel)
   AND c.contype IN ('f', 'c', 'u', 'x', 'p') AND c.conislocal AND c.conparentid = 0
   AND NOT (c.contype IN ('u', 'x', 'p') AND (c.conindid IN (SELECT indexrelid FROM pg_index WHERE indisreplident)
                                              OR c.conindid IN (SELECT conindid FROM pinned)))
   AND c.oid NOT IN (SELECT conindid FROM pinned)
 ORDER BY 1, 2, 3
)sql";

std::string qualified(const std::string& schema, const std::string& name) {
  return pg::quote_ident(schema) + "." + pg::quote_ident(name);
}

// Foreign keys and checks go first (a key may depend on a unique index of the set), then unique
// constraints, then plain indexes.
int drop_rank(const DeferredObject& o) {
  if (o.kind == DeferredObject::Kind::index) return 2;
  return (o.constraint_type == 'f' || o.constraint_type == 'c') ? 0 : 1;  // p, u, x after the keys on them
}

std::string drop_sql(const DeferredObject& o) {
  if (o.kind == DeferredObject::Kind::index) return "DROP INDEX " + qualified(o.table.schema, o.name);
  return fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", o.table.quoted(), pg::quote_ident(o.name));
}

pg::Connection open_builder(const pg::ConnInfo& info, const RestoreOptions& options) {
  pg::ConnectOptions co = pg::default_connect_options();
  co.application_name = "pgshift index build";
  co.role = "target";
  pg::Connection conn = pg::Connection::open(info, co);
  conn.exec("SET lock_timeout = '30s'");
  conn.exec("SET statement_timeout = 0");
  if (!options.maintenance_work_mem.empty()) {
    conn.exec("SELECT set_config('maintenance_work_mem', $1, false)", {options.maintenance_work_mem});
  }
  return conn;
}

}  // namespace

std::string DeferredObject::describe() const {
  if (kind == Kind::index) return fmt::format("index {} on {}", name, table.display());
  return fmt::format("constraint {} on {}", name, table.display());
}

json DeferredObject::to_json() const {
  return {{"kind", kind == Kind::index ? "index" : "constraint"},
          {"schema", table.schema},
          {"table", table.name},
          {"name", name},
          {"definition", definition},
          {"type", constraint_type ? std::string(1, constraint_type) : std::string()},
          {"partitioned", partitioned},
          {"validated", validated}};
}

DeferredObject DeferredObject::from_json(const json& doc) {
  DeferredObject o;
  o.kind = doc.at("kind") == "index" ? Kind::index : Kind::constraint;
  o.table = {doc.at("schema"), doc.at("table")};
  o.name = doc.at("name");
  o.definition = doc.at("definition");
  std::string type = doc.value("type", "");
  o.constraint_type = type.empty() ? 0 : type[0];
  o.partitioned = doc.value("partitioned", false);
  o.validated = doc.value("validated", true);
  return o;
}

std::vector<DeferredObject> read_deferrable(pg::Connection& target, const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t.quoted());
  const std::string array = access::text_array_literal(names);
  std::vector<DeferredObject> out;
  auto read = [&](std::string_view query, DeferredObject::Kind kind) {
    pg::Result rows = target.exec(std::string(kRelations) + std::string(query), {array});
    for (int r = 0; r < rows.rows(); ++r) {
      auto row = rows.row(r);
      DeferredObject o;
      o.kind = kind;
      o.table = {row.text("schema"), row.text("table_name")};
      o.name = row.text("name");
      o.definition = row.text("definition");
      o.partitioned = row.boolean("partitioned");
      if (kind == DeferredObject::Kind::constraint) {
        o.constraint_type = row.text("type")[0];
        o.validated = row.boolean("validated");
      } else if (o.partitioned) {
        // pg_get_indexdef says ON ONLY for a partitioned index (it prints the parent alone);
        // built again without ONLY it is built on every partition too, as the dropped one was.
        size_t at = o.definition.find(" ON ONLY ");
        if (at != std::string::npos) o.definition.replace(at, 9, " ON ");
      }
      out.push_back(std::move(o));
    }
  };
  read(kIndexes, DeferredObject::Kind::index);
  read(kConstraints, DeferredObject::Kind::constraint);
  return out;
}

std::string PendingObject::key() const {
  return fmt::format("{}:{}:{}", object.kind == DeferredObject::Kind::index ? "index" : "constraint",
                     object.table.display(), object.name);
}

std::vector<PendingObject> pending_objects(state::Journal& journal, int64_t migration_id) {
  std::vector<PendingObject> out;
  std::map<std::string, size_t> at;
  for (auto& e : journal.open_compensations(migration_id, kStepDeferred)) {
    PendingObject p{{}, DeferredObject::from_json(e.detail)};
    auto [it, fresh] = at.emplace(p.key(), out.size());
    if (fresh) {
      p.compensations.push_back(std::move(e));
      out.push_back(std::move(p));
    } else {
      // Older than the one kept (most recent first): its definition is the original.
      out[it->second].object = std::move(p.object);
      out[it->second].compensations.push_back(std::move(e));
    }
  }
  return out;
}

void settle_pending(state::Journal& journal, int64_t migration_id, const PendingObject& pending, const json& detail) {
  for (const auto& c : pending.compensations) journal.settle(migration_id, c, detail);
}

void drop_deferred(pg::Connection& target, state::Journal& journal, int64_t migration_id,
                   const std::vector<DeferredObject>& objects) {
  std::set<std::string> journaled;
  for (const auto& p : pending_objects(journal, migration_id)) journaled.insert(p.key());
  std::vector<DeferredObject> ordered = objects;
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const DeferredObject& a, const DeferredObject& b) { return drop_rank(a) < drop_rank(b); });
  for (const auto& o : ordered) {
    if (!journaled.count(PendingObject{{}, o}.key())) journal.compensation(migration_id, kStepDeferred, o.to_json());
    logical::exec_ddl(target, drop_sql(o));
    spdlog::debug("target: dropped {} until the copy is done", o.describe());
  }
}

size_t open_deferred(state::Journal& journal, int64_t migration_id) {
  return pending_objects(journal, migration_id).size();
}

namespace {

bool object_exists(pg::Connection& conn, const DeferredObject& o) {
  if (o.kind == DeferredObject::Kind::index) {
    return !conn.exec("SELECT 1 FROM pg_class WHERE oid = to_regclass($1)", {qualified(o.table.schema, o.name)}).empty();
  }
  return !conn.exec("SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2", {o.table.quoted(), o.name})
              .empty();
}

bool validates_later(const DeferredObject& o) { return !o.builds_index() && o.validated && !o.partitioned; }

}  // namespace

void rebuild(pg::Connection& conn, const DeferredObject& o, bool not_valid_first) {
  if (object_exists(conn, o)) return;
  if (o.kind == DeferredObject::Kind::index) {
    conn.exec(o.definition);
    return;
  }
  conn.exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}{}", o.table.quoted(), pg::quote_ident(o.name), o.definition,
                        not_valid_first && validates_later(o) ? " NOT VALID" : ""));
}

RestoreResult restore_deferred(const pg::ConnInfo& info, state::Journal& journal, int64_t migration_id,
                               const RestoreOptions& options) {
  RestoreResult result;
  std::vector<PendingObject> builds, keys;
  for (auto& p : pending_objects(journal, migration_id)) (p.object.builds_index() ? builds : keys).push_back(std::move(p));
  if (!options.keys_too) keys.clear();
  if (builds.empty() && keys.empty()) return result;
  std::mutex done_mutex;
  auto done = [&](const PendingObject& p) {
    std::lock_guard<std::mutex> lock(done_mutex);
    if (options.on_done) options.on_done(p.object.describe());
  };
  const int jobs = std::max(1, options.jobs);
  struct Builder {
    std::optional<pg::Connection> conn;
    std::optional<state::Journal> journal;
  };
  std::vector<Builder> builders(static_cast<size_t>(jobs));
  auto builder_of = [&](int worker) -> Builder& {
    Builder& b = builders[static_cast<size_t>(worker)];
    if (!b.conn || !b.conn->is_ok()) {
      b.journal.reset();
      b.conn = open_builder(info, options);
      b.journal.emplace(*b.conn, journal.command());
    }
    return b;
  };
  // The object's change and its settle commit together: a kill leaves the object dropped and
  // journaled, or back and settled, never back and still journaled (which a later run would
  // drop and journal again, and two builders would then build twice).
  auto in_transaction = [&](Builder& b, const PendingObject& p, const std::function<void()>& change, const json& detail) {
    pg::Transaction tx(*b.conn);
    change();
    settle_pending(*b.journal, migration_id, p, detail);
    tx.commit();
  };

  auto started = std::chrono::steady_clock::now();
  util::run_work_queue(jobs, builds.size(), [&](int worker, size_t i) {
    Builder& b = builder_of(worker);
    in_transaction(b, builds[i], [&] { rebuild(*b.conn, builds[i].object); }, {{"restored", true}});
    done(builds[i]);
  });
  result.indexes = static_cast<int>(builds.size());
  result.index_ms = util::ms_since(started);

  started = std::chrono::steady_clock::now();
  // NOT VALID first, one after the other (each takes a short lock), then the scans in parallel,
  // each VALIDATE committed with its settle. One added before a crash is validated again when it
  // should be valid (VALIDATE is a no-op on a valid constraint).
  std::vector<const PendingObject*> to_validate;
  for (const auto& p : keys) {
    Builder& b = builder_of(0);
    if (validates_later(p.object)) {
      rebuild(*b.conn, p.object, true);
      to_validate.push_back(&p);
    } else {
      in_transaction(b, p, [&] { rebuild(*b.conn, p.object, true); }, {{"restored", true}});
      done(p);
    }
  }
  std::mutex failed_mutex;
  util::run_work_queue(jobs, to_validate.size(), [&](int worker, size_t n) {
    const PendingObject& p = *to_validate[n];
    const DeferredObject& o = p.object;
    Builder& b = builder_of(worker);
    try {
      in_transaction(b, p, [&] {
        b.conn->exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", o.table.quoted(), pg::quote_ident(o.name)));
      }, {{"restored", true}});
    } catch (const pg::SqlError& e) {
      if (e.sqlstate().substr(0, 2) != "23") throw;  // only a violation is left NOT VALID
      settle_pending(*b.journal, migration_id, p, {{"restored", true}, {"not_validated", pg::one_line(e.server_message())}});
      std::lock_guard<std::mutex> lock(failed_mutex);
      result.not_validated.push_back(fmt::format("{}: {}", o.describe(), pg::one_line(e.server_message())));
    }
    done(p);
  });
  result.constraints = static_cast<int>(keys.size());
  result.constraint_ms = util::ms_since(started);
  return result;
}

}  // namespace pgshift::replication
