// Objects blocked by provider schemas, missing extensions and absent roles (see dependents.hpp).
#include "catalog/dependents.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <set>

namespace pgshift::catalog {
namespace {

// Fixed catalog oids (the same on every PostgreSQL version).
constexpr uint32_t kPgAttrdef = 2604;
constexpr uint32_t kPgRewrite = 2618;
constexpr uint32_t kPgNamespace = 2615;
constexpr uint32_t kPgExtension = 3079;

// Built-in objects (below FirstNormalObjectId) are never blocked and never block: leaving them
// out keeps the read small.
constexpr std::string_view kEdgesSql = R"sql(
SELECT classid::int8 AS c, objid::int8 AS o, refclassid::int8 AS rc, refobjid::int8 AS ro, deptype
  FROM pg_depend
 WHERE deptype IN ('n', 'a', 'i', 'e') AND objid >= 16384 AND refobjid >= 16384
)sql";

constexpr std::string_view kNamespacesSql = "SELECT oid::int8 AS oid, nspname AS name FROM pg_namespace";
constexpr std::string_view kExtensionsSql = "SELECT oid::int8 AS oid, extname AS name FROM pg_extension";

// Policies for roles the target lacks (CREATE POLICY ... TO anon fails there). Roles live in
// pg_shdepend, not pg_depend, so they are read here; 0 in polroles is PUBLIC.
constexpr std::string_view kPolicyRolesSql = R"sql(
SELECT p.oid::int8 AS policy, r.oid::int8 AS role
  FROM pg_policy p
  CROSS JOIN LATERAL unnest(p.polroles) AS pr(oid)
  JOIN pg_roles r ON r.oid = pr.oid
 WHERE r.rolname NOT IN (SELECT jsonb_array_elements_text($1::jsonb))
)sql";

// pg_identify_object qualifies every name, whatever the search_path.
constexpr std::string_view kDescribeSql = R"sql(
SELECT x.c AS c, x.o AS o, i.type || ' ' || i.identity AS text
  FROM jsonb_to_recordset($1::jsonb) AS x(c int8, o int8)
  CROSS JOIN LATERAL pg_identify_object(x.c::oid, x.o::oid, 0) i
)sql";

std::vector<std::string> read_names(pg::Connection& conn, std::string_view sql) {
  std::vector<std::string> out;
  pg::Result r = conn.exec(sql);
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.row(i).text("name"));
  return out;
}

ObjectId id_of(const pg::Row& row, const char* classid, const char* objid) {
  return {static_cast<uint32_t>(row.int64(classid)), static_cast<uint32_t>(row.int64(objid))};
}

}  // namespace

std::vector<Blocked> blocked_objects(const std::vector<DependEdge>& edges, const BlockedSeeds& seeds,
                                     const std::function<bool(ObjectId)>& stands_alone) {
  std::multimap<ObjectId, const DependEdge*> by_referenced, by_dependent;
  for (const auto& e : edges) {
    if (e.dependent == e.referenced) continue;
    by_referenced.emplace(e.referenced, &e);
    by_dependent.emplace(e.dependent, &e);
  }
  auto closure = [&](std::set<ObjectId>& set, std::deque<ObjectId> queue, auto&& follows) {
    while (!queue.empty()) {
      ObjectId at = queue.front();
      queue.pop_front();
      auto [b, e] = by_referenced.equal_range(at);
      for (auto it = b; it != e; ++it) {
        if (follows(*it->second) && set.insert(it->second->dependent).second) queue.push_back(it->second->dependent);
      }
    }
  };
  // The provider's own objects: in its schemas, and their parts (columns' defaults, triggers,
  // constraints, rules of its tables).
  std::set<ObjectId> internal(seeds.provider_namespaces.begin(), seeds.provider_namespaces.end());
  {
    std::deque<ObjectId> queue(seeds.provider_namespaces.begin(), seeds.provider_namespaces.end());
    closure(internal, queue, [&](const DependEdge& e) {
      return e.referenced.classid == kPgNamespace ? e.deptype == 'n' : (e.deptype == 'a' || e.deptype == 'i');
    });
  }
  // Extensions the target creates keep themselves and their members, wherever they live.
  std::set<ObjectId> kept(seeds.kept_extensions.begin(), seeds.kept_extensions.end());
  for (const auto& e : edges) {
    if (e.deptype == 'e' && kept.count(e.referenced)) kept.insert(e.dependent);
  }
  std::map<ObjectId, ObjectId> blocked;  // object -> cause
  std::deque<ObjectId> queue;
  auto block = [&](ObjectId object, ObjectId cause) {
    if (kept.count(object) || !blocked.emplace(object, cause).second) return;
    queue.push_back(object);
  };
  for (ObjectId o : internal) block(o, o);
  for (ObjectId ext : seeds.missing_extensions) {
    internal.insert(ext);
    block(ext, ext);
    auto [b, e] = by_referenced.equal_range(ext);
    for (auto it = b; it != e; ++it) {
      if (it->second->deptype != 'e') continue;
      internal.insert(it->second->dependent);
      block(it->second->dependent, ext);
    }
  }
  for (const auto& [object, cause] : seeds.other) block(object, cause);
  while (!queue.empty()) {
    ObjectId at = queue.front();
    queue.pop_front();
    ObjectId cause = blocked.at(at);
    if (!internal.count(at) && !stands_alone(at)) {
      // Written inside another object's statement: that object cannot be created either.
      auto [b, e] = by_dependent.equal_range(at);
      for (auto it = b; it != e; ++it) {
        if (it->second->deptype == 'a' || it->second->deptype == 'i') block(it->second->referenced, cause);
      }
    }
    auto [b, e] = by_referenced.equal_range(at);
    for (auto it = b; it != e; ++it) {
      if (it->second->deptype == 'n' || it->second->deptype == 'a') block(it->second->dependent, at);
    }
  }
  std::vector<Blocked> out;
  for (const auto& [object, cause] : blocked) {
    if (internal.count(object) || !stands_alone(object)) continue;
    out.push_back({object, cause});
  }
  return out;
}

std::vector<std::string> read_event_triggers(pg::Connection& conn) {
  return read_names(conn, "SELECT evtname AS name FROM pg_event_trigger ORDER BY 1");
}

std::vector<std::string> read_role_names(pg::Connection& conn) {
  return read_names(conn, "SELECT rolname AS name FROM pg_roles ORDER BY 1");
}

std::vector<std::string> read_schema_names(pg::Connection& conn) {
  return read_names(conn, "SELECT nspname AS name FROM pg_namespace ORDER BY 1");
}

std::vector<std::string> unavailable_extensions(const Snapshot& source, const Snapshot& target) {
  std::vector<std::string> out;
  const auto& avail = target.available_extensions;
  for (const auto& e : source.extensions) {
    if (e.name == "plpgsql" || target.extension(e.name)) continue;
    if (std::find(avail.begin(), avail.end(), e.name) == avail.end()) out.push_back(e.name);
  }
  return out;
}

std::vector<ProviderDependent> read_provider_dependents(pg::Connection& conn, const DependentsQuery& query) {
  std::vector<DependEdge> edges;
  pg::Result r = conn.exec(kEdgesSql);
  edges.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    edges.push_back({id_of(row, "c", "o"), id_of(row, "rc", "ro"), row.text("deptype").at(0)});
  }
  BlockedSeeds seeds;
  pg::Result ns = conn.exec(kNamespacesSql);
  for (int i = 0; i < ns.rows(); ++i) {
    if (query.schemas.contains(ns.row(i).text("name"))) {
      seeds.provider_namespaces.push_back({kPgNamespace, static_cast<uint32_t>(ns.row(i).int64("oid"))});
    }
  }
  pg::Result ext = conn.exec(kExtensionsSql);
  for (int i = 0; i < ext.rows(); ++i) {
    ObjectId id{kPgExtension, static_cast<uint32_t>(ext.row(i).int64("oid"))};
    const auto& missing = query.missing_extensions;
    bool is_missing = std::find(missing.begin(), missing.end(), ext.row(i).text("name")) != missing.end();
    (is_missing ? seeds.missing_extensions : seeds.kept_extensions).push_back(id);
  }
  if (!query.target_roles.empty()) {
    pg::Result p = conn.exec(kPolicyRolesSql, {nlohmann::json(query.target_roles).dump()});
    constexpr uint32_t kPgPolicy = 3256, kPgAuthid = 1260;
    for (int i = 0; i < p.rows(); ++i) {
      seeds.other.emplace(ObjectId{kPgPolicy, static_cast<uint32_t>(p.row(i).int64("policy"))},
                          ObjectId{kPgAuthid, static_cast<uint32_t>(p.row(i).int64("role"))});
    }
  }
  auto default_alone = [](ObjectId o) { return o.classid != kPgRewrite && o.classid != kPgAttrdef; };
  std::vector<Blocked> blocked =
      blocked_objects(edges, seeds, query.stands_alone ? query.stands_alone : std::function<bool(ObjectId)>(default_alone));
  if (blocked.empty()) return {};

  nlohmann::json ids = nlohmann::json::array();
  for (const auto& b : blocked) {
    ids.push_back({{"c", b.object.classid}, {"o", b.object.objid}});
    ids.push_back({{"c", b.cause.classid}, {"o", b.cause.objid}});
  }
  std::map<ObjectId, std::string> text;
  pg::Result d = conn.exec(kDescribeSql, {ids.dump()});
  for (int i = 0; i < d.rows(); ++i) text[id_of(d.row(i), "c", "o")] = d.row(i).text("text");
  std::vector<ProviderDependent> out;
  constexpr uint32_t kPgEventTrigger = 3466;  // no copy carries them; `check` names them by themselves
  for (const auto& b : blocked) {
    if (b.object.classid != kPgEventTrigger) out.push_back({b.object, text[b.object], text[b.cause]});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.what < b.what; });
  return out;
}

}  // namespace pgshift::catalog
