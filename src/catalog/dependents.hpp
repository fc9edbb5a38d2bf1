// Which objects of the application cannot exist without something another server will not
// have: a provider schema's objects (a foreign key into auth.users, a policy calling auth.uid(),
// a view over storage.objects), an extension the target cannot install, a role the target
// lacks (a policy TO anon). Read from pg_depend (and pg_policy.polroles, which pg_depend does not
// hold: roles are in pg_shdepend), so no SQL text is searched. Used by `check` and by
// `schema copy`, which leaves these objects out and lists them.
//
// Not seen: references inside PL/pgSQL bodies (PostgreSQL records none); such functions are
// created anyway (a dump turns check_function_bodies off) and fail only when called.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "catalog/providers.hpp"
#include "pg/connection.hpp"

namespace pgshift::catalog {

// A catalog object: the catalog's oid (pg_class, pg_constraint, ...) and the object's oid.
struct ObjectId {
  uint32_t classid = 0;
  uint32_t objid = 0;
  auto operator<=>(const ObjectId&) const = default;
};

// One pg_depend row, column numbers dropped (a column's dependency is its table's).
struct DependEdge {
  ObjectId dependent;
  ObjectId referenced;
  char deptype = 'n';  // n normal, a auto, i internal, e extension member
};

struct BlockedSeeds {
  std::vector<ObjectId> provider_namespaces;  // pg_namespace objects of the provider schemas
  std::vector<ObjectId> missing_extensions;   // pg_extension objects the target cannot create
  std::vector<ObjectId> kept_extensions;      // extensions the target creates: they and their members stay
  std::map<ObjectId, ObjectId> other;         // object -> what it needs (a policy -> an absent role)
};

// An object the application has that depends on a blocked one.
struct Blocked {
  ObjectId object;
  ObjectId cause;  // the object it depends on (a provider object, an extension, a role, a blocked object)
};

// Pure. Everything blocked outside the provider schemas: dependents (normal and automatic
// dependencies, transitively) of the provider schemas' objects, of missing extensions and of
// the other seeds. stands_alone(x) says whether x is created by a statement of its own; when it
// is not (a view's rewrite rule, a column default written inside CREATE TABLE), the object it
// is part of is blocked instead.
std::vector<Blocked> blocked_objects(const std::vector<DependEdge>& edges, const BlockedSeeds& seeds,
                                     const std::function<bool(ObjectId)>& stands_alone);

// The source's extensions (plpgsql aside) that the target neither has nor can create (absent
// from its pg_available_extensions). Pure.
std::vector<std::string> unavailable_extensions(const Snapshot& source, const Snapshot& target);

// Names, sorted: the database's event triggers, the server's roles, the database's schemas.
std::vector<std::string> read_event_triggers(pg::Connection& conn);
std::vector<std::string> read_role_names(pg::Connection& conn);
std::vector<std::string> read_schema_names(pg::Connection& conn);

// A blocked object as people read it.
struct ProviderDependent {
  ObjectId object;
  std::string what;        // "table constraint profiles_id_fkey on public.profiles"
  std::string depends_on;  // "table auth.users", "role anon", "extension postgis"
};

struct DependentsQuery {
  ProviderSchemas schemas;
  std::vector<std::string> missing_extensions;  // by name
  std::vector<std::string> target_roles;        // roles the target has; empty: do not check roles
  // nullptr: rewrite rules and column defaults are parts of their relation, the rest stands alone.
  std::function<bool(ObjectId)> stands_alone;
};

// Reads the dependencies of the database conn is connected to and resolves blocked_objects().
// Sorted by `what`. Event triggers are not listed (no copy carries them anyway).
std::vector<ProviderDependent> read_provider_dependents(pg::Connection& conn, const DependentsQuery& query);

}  // namespace pgshift::catalog
