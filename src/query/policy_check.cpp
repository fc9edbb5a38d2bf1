// check_policy(): one catalog lookup for everything a statement references, then the policy.
#include "query/policy_check.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "query/snapshot_cache.hpp"
#include "sqlgate/function_policy.hpp"

namespace pgshift::query {
namespace {

using sqlgate::Reference;
using RefKind = sqlgate::Reference::Kind;

// Every function reachable from the names given, one row per (what was named, function):
//   kind 'f'  functions by name ($1)
//   kind 'o'  operators by name ($2): the operator's function and the planner's estimators
//   kind 't'  types by name ($3): the input function (literals, record columns) and casts into it
//   kind 'r'  relations by name ($4), with their relkind and the foreign tables they reach (a
//             JSON array of [schema, name] in the fn_schema column, NULL when none; no function)
// For operators and types, the functions created by initdb (oid below 16384) that are neither
// VOLATILE nor SECURITY DEFINER are left out (the policy allows them: initdb creates no
// extension member but plpgsql's handlers, which are VOLATILE; and '=' alone has hundreds of
// operators); functions by name are all kept, since the denied families and the argument counts
// matter there. path_rank is the schema's
// place in current_schemas(true) (NULL when not searched). Names arrive as JSON arrays, bound.
constexpr std::string_view kLookupName = "pgshift_policy_lookup";
constexpr std::string_view kLookup = R"sql(
WITH path AS (SELECT pg_catalog.current_schemas(true) AS schemas),
found AS (
  SELECT 'f'::text AS kind, p.proname::text AS key, p.pronamespace AS ns, NULL::text AS detail, p.oid, p.proname,
         p.pronamespace, p.pronargs, p.pronargdefaults, p.provariadic, p.provolatile, p.prosecdef, p.prolang,
         p.proargtypes, p.proowner,
         EXISTS (SELECT FROM pg_catalog.pg_proc q, path
                 WHERE q.proname = p.proname AND q.proargtypes = p.proargtypes AND q.oid <> p.oid
                   AND q.pronamespace::pg_catalog.regnamespace::text NOT LIKE 'pg\_temp\_%'
                   AND pg_catalog.array_position(path.schemas, q.pronamespace::pg_catalog.regnamespace::text)
                     < pg_catalog.array_position(path.schemas, p.pronamespace::pg_catalog.regnamespace::text))
           AS hidden,
         NULL::text AS what
  FROM pg_catalog.pg_proc p
  WHERE p.proname = ANY (ARRAY(SELECT pg_catalog.jsonb_array_elements_text($1::jsonb)))
  UNION ALL
  SELECT 'o', o.oprname::text, o.oprnamespace, CASE WHEN o.oprleft = 0 THEN '1' ELSE '2' END, p.oid, p.proname,
         p.pronamespace, p.pronargs, p.pronargdefaults, p.provariadic, p.provolatile, p.prosecdef, p.prolang,
         p.proargtypes, p.proowner,
         EXISTS (SELECT FROM pg_catalog.pg_operator q, path
                 WHERE q.oprname = o.oprname AND q.oprleft = o.oprleft AND q.oprright = o.oprright AND q.oid <> o.oid
                   AND q.oprnamespace::pg_catalog.regnamespace::text NOT LIKE 'pg\_temp\_%'
                   AND pg_catalog.array_position(path.schemas, q.oprnamespace::pg_catalog.regnamespace::text)
                     < pg_catalog.array_position(path.schemas, o.oprnamespace::pg_catalog.regnamespace::text)),
         CASE WHEN o.oprleft = 0 THEN o.oprname || ' ' || o.oprright::pg_catalog.regtype::text
              ELSE o.oprleft::pg_catalog.regtype::text || ' ' || o.oprname || ' '
                   || o.oprright::pg_catalog.regtype::text END
  FROM pg_catalog.pg_operator o,
       LATERAL (VALUES (o.oprcode::oid), (o.oprrest::oid), (o.oprjoin::oid)) AS f(fn),
       LATERAL (SELECT * FROM pg_catalog.pg_proc p WHERE p.oid = f.fn) p
  WHERE o.oprname = ANY (ARRAY(SELECT pg_catalog.jsonb_array_elements_text($2::jsonb)))
    AND (p.oid >= 16384 OR p.provolatile = 'v' OR p.prosecdef)
  UNION ALL
  -- detail: 'i' the input function, 'b' a cast from a built-in type, 'u' a cast from another type
  SELECT 't', t.typname::text, t.typnamespace, f.how, p.oid, p.proname, p.pronamespace, p.pronargs,
         p.pronargdefaults, p.provariadic, p.provolatile, p.prosecdef, p.prolang, p.proargtypes, p.proowner, false,
         f.source
  FROM pg_catalog.pg_type t,
       LATERAL (SELECT t.typinput::oid, 'i', NULL::text
                UNION ALL
                SELECT c.castfunc, CASE WHEN c.castsource < 16384 THEN 'b' ELSE 'u' END,
                       c.castsource::pg_catalog.regtype::text
                FROM pg_catalog.pg_cast c WHERE c.casttarget = t.oid AND c.castfunc <> 0) AS f(fn, how, source),
       LATERAL (SELECT * FROM pg_catalog.pg_proc p WHERE p.oid = f.fn) p
  WHERE t.typname = ANY (ARRAY(SELECT pg_catalog.jsonb_array_elements_text($3::jsonb)))
    AND (p.oid >= 16384 OR p.provolatile = 'v' OR p.prosecdef)
), facts AS (
  SELECT x.*,
         (SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
          WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = x.oid AND d.objsubid = 0
            AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
          LIMIT 1) AS extname
  FROM found x
), judged AS (
  SELECT f.*, (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = f.ns) AS schema,
         (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = f.pronamespace) AS fn_schema,
         f.oid < 16384 AND f.extname IS NULL
           AND f.pronamespace IN ('pg_catalog'::pg_catalog.regnamespace,
                                  'information_schema'::pg_catalog.regnamespace) AS built_in
  FROM facts f
)
SELECT kind, key, schema, pg_catalog.array_position(pg_catalog.current_schemas(true), schema), detail,
       fn_schema, proname::text,
       fn_schema || '.' || proname || '(' || pg_catalog.pg_get_function_identity_arguments(oid) || ')',
       pronargs, pronargdefaults, provariadic <> 0, provolatile, prosecdef,
       (SELECT lanname FROM pg_catalog.pg_language WHERE oid = prolang), coalesce(extname, ''),
       pronargs > 0 AND EXISTS (SELECT FROM pg_catalog.pg_type a WHERE a.oid = proargtypes[0] AND a.typrelid <> 0),
       built_in, hidden, what,
       coalesce((SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = proowner), false)
FROM judged
UNION ALL
SELECT 'r', c.relname::text, n.nspname, pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname),
       c.relkind::text, f.tables::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  -- The foreign tables reading c reaches, as [[schema, name], ...]: c itself, its partitions and
  -- inheritance children, the relations a view's rule reads (recursively).
  WITH RECURSIVE reach(oid) AS (
    SELECT c.oid
    UNION
    SELECT next.oid FROM reach r,
      LATERAL (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = r.oid
               UNION ALL
               SELECT d.refobjid FROM pg_catalog.pg_rewrite w
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                 AND d.objid = w.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
               WHERE w.ev_class = r.oid) AS next(oid)
  )
  SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(fn.nspname, fc.relname)) AS tables FROM reach
  JOIN pg_catalog.pg_class fc ON fc.oid = reach.oid AND fc.relkind = 'f'
  JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace) AS f ON true
WHERE c.relname = ANY (ARRAY(SELECT pg_catalog.jsonb_array_elements_text($4::jsonb)))
)sql";

}  // namespace

KeptStatement policy_lookup_statement() { return {kLookupName, kLookup}; }

namespace {

struct Found {
  char kind = 'f';
  std::string key;
  std::string schema;            // of what was named (the function, operator, type or relation)
  std::optional<int> path_rank;  // its schema's place in the search path
  std::string detail;            // operator: "1" prefix, "2" infix; type: "i" input, "b"/"u" cast from a
                                 // built-in / other type; relation: relkind
  bool hidden = false;           // function, operator: one with the same arguments comes earlier in the path
  std::string what;              // operator: "hstore - text"; type: a cast's source type
  sqlgate::FunctionFacts facts;  // functions only
  std::vector<std::pair<std::string, std::string>> foreign;  // relations: the foreign tables reading it reaches

  int defaults = 0;
  bool variadic = false;
  bool row_arg = false;
};

using Answer = std::vector<Found>;

// The lookup's answers, reused while the catalog provably did not change (query/snapshot_cache.hpp).
SnapshotCache<Answer>& answers() {
  static SnapshotCache<Answer> cache;
  return cache;
}

std::shared_ptr<const Answer> lookup(pg::Connection& conn, const CatalogState& state,
                                     const std::vector<Reference>& refs) {
  nlohmann::json names[4] = {nlohmann::json::array(), nlohmann::json::array(), nlohmann::json::array(),
                             nlohmann::json::array()};
  for (const Reference& r : refs) {
    int slot = r.kind == RefKind::operator_ ? 1 : r.kind == RefKind::type ? 2 : r.kind == RefKind::relation ? 3 : 0;
    names[slot].push_back(r.name);
  }
  const pg::Params params = {names[0].dump(), names[1].dump(), names[2].dump(), names[3].dump()};
  const std::string key = nlohmann::json::array({names[0], names[1], names[2], names[3]}).dump();
  if (auto cached = answers().find(state, key)) return cached;
  pg::Result r = conn.exec_prepared(std::string(kLookupName), kLookup, params);
  auto out = std::make_shared<Answer>();
  for (int i = 0; i < r.rows(); ++i) {
    Found f;
    f.kind = r.view(i, 0).empty() ? '?' : r.view(i, 0)[0];
    f.key = r.view(i, 1);
    f.schema = r.view(i, 2);
    if (!r.is_null(i, 3)) f.path_rank = std::stoi(std::string(r.view(i, 3)));
    f.detail = r.view(i, 4);
    if (f.kind == 'r' && !r.is_null(i, 5)) {
      for (const auto& pair : nlohmann::json::parse(r.view(i, 5))) {
        f.foreign.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
      }
    } else if (f.kind != 'r') {
      f.facts.schema = r.view(i, 5);
      f.facts.name = r.view(i, 6);
      f.facts.signature = r.view(i, 7);
      f.facts.nargs = std::stoi(std::string(r.view(i, 8)));
      f.defaults = std::stoi(std::string(r.view(i, 9)));
      f.variadic = r.view(i, 10) == "t";
      f.facts.volatility = r.view(i, 11).empty() ? 'v' : r.view(i, 11)[0];
      f.facts.security_definer = r.view(i, 12) == "t";
      f.facts.language = r.view(i, 13);
      f.facts.extension = r.view(i, 14);
      f.row_arg = r.view(i, 15) == "t";
      f.facts.built_in = r.view(i, 16) == "t";
      f.hidden = r.view(i, 17) == "t";
      f.what = r.view(i, 18);
      f.facts.owner_superuser = r.view(i, 19) == "t";
    }
    out->push_back(std::move(f));
  }
  answers().store(state, key, out);
  return out;
}

// Whether a function taking nargs (of which `defaults` have defaults, the last VARIADIC when
// variadic) can be called with n arguments.
bool fits(const Found& f, int n) {
  if (n < 0) return true;
  int max = f.facts.nargs;
  return n == max || (n < max && n >= max - f.defaults) || (f.variadic && n >= max - 1);
}

bool named_by(const Found& f, const Reference& r) {
  if (f.key != r.name) return false;
  if (r.schema.empty()) return f.path_rank.has_value();
  // pg_temp names this session's temporary schema, pg_temp_N.
  if (r.schema == "pg_temp") return f.schema.starts_with("pg_temp_");
  return f.schema == r.schema;
}

// The functions a reference may reach, conservatively. As PostgreSQL resolves names: an
// unqualified function or operator with the same argument types as one in a schema earlier in
// the search path (pg_catalog first unless the path says otherwise) is never called, so
// public.gen_random_uuid() (pgcrypto) does not stand in for pg_catalog's. A cast of a constant
// converts from a built-in type (unknown, integer, numeric, boolean): casts into the type from
// other types are not candidates.
std::vector<const Found*> candidates(const std::vector<Found>& found, const Reference& r) {
  char kind = r.kind == RefKind::operator_ ? 'o' : r.kind == RefKind::type ? 't' : 'f';
  std::vector<const Found*> named, fitting;
  for (const Found& f : found) {
    if (f.kind != kind || !named_by(f, r)) continue;
    if (f.hidden && r.schema.empty()) continue;
    if (kind == 't' && r.constant && f.detail == "u") continue;
    if (r.kind == RefKind::operator_) {
      if (f.detail == std::to_string(r.nargs)) fitting.push_back(&f);
      continue;
    }
    named.push_back(&f);
    if (r.kind == RefKind::row_attribute && !f.row_arg) continue;
    if (fits(f, r.nargs)) fitting.push_back(&f);
  }
  // A miscounted call (named arguments, an unusual aggregate) must not escape the check.
  if (fitting.empty() && r.kind == RefKind::function) return named;
  return fitting;
}

std::string context(const Reference& r, const Found& f) {
  switch (r.kind) {
    case RefKind::function: return r.in_from ? "in FROM, " : "";
    case RefKind::attribute: return fmt::format("(...).{} calls a function: ", r.name);
    case RefKind::row_attribute: return fmt::format("{} on a row calls a function: ", r.name);
    case RefKind::tablesample: return fmt::format("TABLESAMPLE {} calls its handler: ", r.name);
    case RefKind::operator_:
      return fmt::format("the operator {} written here may resolve to {}.{} ({}; pgshift cannot know the argument "
                         "types before running the statement), which calls a function: ",
                         r.name, f.schema, r.name, f.what);
    case RefKind::type:
      return f.detail == "i" ? fmt::format("the type {} written here reads values with its input function: ", r.name)
                             : fmt::format("the type {} written here converts from {} with a cast function: ",
                                           r.name, f.what);
    case RefKind::relation: return "";
  }
  return "";
}

// The relation an unqualified name means: the first schema of the search path that has it.
const Found* relation(const std::vector<Found>& found, const Reference& r) {
  const Found* best = nullptr;
  for (const Found& f : found) {
    if (f.kind != 'r' || !named_by(f, r)) continue;
    if (!r.schema.empty()) return &f;
    if (!best || *f.path_rank < *best->path_rank) best = &f;
  }
  return best;
}

[[noreturn]] void refuse(const sqlgate::Verdict& accepted, sqlgate::Rule rule, std::string reason, int position) {
  sqlgate::Verdict v;
  v.rule = rule;
  v.reason = std::move(reason);
  v.position = position;
  v.fingerprint = accepted.fingerprint;
  v.normalized = accepted.normalized;
  throw Rejected(std::move(v));
}

}  // namespace

void check_policy(pg::Connection& conn, const sqlgate::Verdict& verdict, const Options& options,
                  const CatalogState& state) {
  if (verdict.references.empty()) return;
  const std::shared_ptr<const Answer> answer = lookup(conn, state, verdict.references);
  const Answer& found = *answer;
  for (const Reference& r : verdict.references) {
    if (r.kind == RefKind::relation) {
      const Found* rel = relation(found, r);
      if (!rel) continue;
      for (const auto& [schema, table] : rel->foreign) {
        if (sqlgate::allow_listed(schema, table, options.allow_foreign_tables, false)) continue;
        std::string what = schema == rel->schema && table == r.name
                               ? fmt::format("{}.{} is a foreign table", schema, table)
                               : fmt::format("{}.{} reads the foreign table {}.{} (a partition, an inheritance "
                                             "child or through a view)",
                                             rel->schema, r.name, schema, table);
        refuse(verdict, sqlgate::Rule::foreign_table,
               fmt::format("{}: reading it runs its foreign-data wrapper, which can run a program or read files "
                           "on the server (file_fdw) or reach another server (postgres_fdw); refused unless "
                           "allowed by name (--allow-foreign-table {}.{})",
                           what, schema, table),
               r.position);
      }
      continue;
    }
    for (const Found* f : candidates(found, r)) {
      sqlgate::FunctionDecision d = sqlgate::judge_function(f->facts, options.allow_functions);
      if (!d.allowed) refuse(verdict, d.rule, context(r, *f) + d.reason, r.position);
    }
  }
}

}  // namespace pgshift::query
