// A migration plan: which two databases, which tables are left out, and the names of the
// replication objects. It comes from flags, a YAML plan file (-c pgshift.yaml) and the
// environment, in that order of precedence:
//
//   source: ${SUPABASE_DB_URL}          # ${VAR} is expanded from the environment
//   target: postgresql://app@pg-rw:5432/app
//   exclude: [oban_jobs, "audit.*"]     # table patterns: name, schema.name, shell wildcards
//   publication: pgshift_app            # default: default_object_name(source, target)
//   subscription: pgshift_app           # the same default; also the replication slot's name
//
// The plan is recorded in the target's journal so every later command (and every operator)
// works on the same migration. Unknown keys are errors (a typo must not silently do nothing).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/catalog.hpp"
#include "pg/conninfo.hpp"

namespace pgshift::state {

struct Plan {
  pg::ConnInfo source;
  pg::ConnInfo target;
  std::vector<std::string> excludes;
  std::string publication = "pgshift";
  std::string subscription = "pgshift";  // also the name of the replication slot on the source
  // Set by resolve_plan when neither flag nor file named the objects: the names are derived from
  // the endpoints, and a migration already recorded with other names keeps its own.
  bool default_names = false;
  // A separate role on the source for the subscription back (--source-subscriber): same server
  // and database as `source`, a role that may CREATE SUBSCRIPTION there (see
  // logical::subscribe_capability) while the sync role need not. Never in to_json().
  std::optional<pg::ConnInfo> source_subscriber;

  std::vector<catalog::TablePattern> exclude_patterns() const;
  // Names of the reverse replication cutover sets up (target publishes, source subscribes).
  std::string reverse_publication() const { return publication + "_reverse"; }
  std::string reverse_subscription() const { return subscription + "_reverse"; }
  // The plan without secrets, for the journal and for comparing two plans: endpoints are
  // redacted "user@host:port/db".
  nlohmann::json to_json() const;
};

// What the user typed; empty strings mean "not given".
struct PlanInputs {
  std::string config_file;
  std::string source;
  std::string target;
  std::vector<std::string> excludes;
  std::string publication;
  std::string subscription;
  std::string source_subscriber;
};

enum class Need { source_and_target, source_only, target_only };

// Builds the plan from flags, the plan file and PGSHIFT_SOURCE_URL / PGSHIFT_TARGET_URL.
// Throws UsageError naming the missing flag, the file and line of a bad key, or an unset
// ${VAR}.
Plan resolve_plan(const PlanInputs& inputs, Need need = Need::source_and_target);

// The default publication/subscription name of a migration: "pgshift_<target db>_<6 hex digits
// of a hash of both endpoints>". Replication slots (the subscription's name on the source, its
// "_reverse" twin on the target) are server-wide, so two migrations between the same pair of
// servers must not share them; the hash keeps two migrations of one database apart too.
std::string default_object_name(const pg::ConnInfo& source, const pg::ConnInfo& target);

// Expands ${VAR} (and $$ to $) in text. what names the origin for the error message.
std::string expand_env(std::string_view text, std::string_view what);

// Checks an object name (publication, subscription): lowercase letters, digits and _,
// at most 55 bytes (cutover adds "_reverse"), so it can be used unquoted by operators too.
void validate_object_name(const std::string& name, std::string_view what);

}  // namespace pgshift::state
