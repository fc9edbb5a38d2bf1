// The schemacopy room: `pgshift schema copy`. Copies the application's schema (not the managed
// provider's) from the source into an empty target, in one transaction:
//
//   pg_dump -Fc --schema-only --no-owner --no-privileges --no-publications --no-subscriptions
//           --no-security-labels --exclude-schema=<each provider schema, pgshift>
//   pg_restore -l            -> the entries; decide() drops event triggers, extensions the target
//                               cannot create and objects that need what the target lacks
//   pg_restore -L kept -f -  -> the script; psql --single-transaction -v ON_ERROR_STOP=1
//
// Contract: on success every kept entry exists on the target; on a failure nothing does (one
// transaction) and a RuntimeError names the object and the statement (exit 3). A target that
// already holds application tables is refused with a UsageError (exit 2) before anything runs,
// unless skip_if_not_empty (then nothing runs and the result says so). The objects left out are
// listed with their statements, so the operator can create what they need and run them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/dependents.hpp"
#include "pg/conninfo.hpp"

namespace pgshift::schemacopy {

struct Options {
  std::vector<std::string> include_schemas;  // provider schemas to copy after all
  std::vector<std::string> exclude_schemas;  // more schemas to leave out (patterns)
  bool dry_run = false;                      // print the script, run nothing
  bool skip_if_not_empty = false;            // a target with tables: do nothing, exit 0
};

struct LeftOutObject {
  std::string what;        // "FK CONSTRAINT public.profiles profiles_id_fkey"
  std::string reason;      // blocked, extension_unavailable, event_trigger
  std::string depends_on;  // "table auth.users", "role anon", "extension postgis"
  std::string statement;   // the SQL it would have run
};

struct Result {
  std::string source_endpoint;
  std::string target_endpoint;
  std::string provider;
  std::vector<std::string> provider_schemas;  // present on the source and left out
  std::vector<std::string> event_triggers;    // left out
  std::vector<std::string> extensions;        // created (or kept) on the target
  std::vector<std::string> unavailable_extensions;
  std::vector<LeftOutObject> left_out;        // application objects not created
  int entries = 0;                            // dump entries restored
  bool copied = false;
  std::string skipped;                        // why nothing ran (target not empty), or ""
  std::string script;                         // dry run: the SQL that would run
  double seconds = 0;
};

Result copy_schema(const pg::ConnInfo& source, const pg::ConnInfo& target, const Options& options);

std::string render_text(const Result& result);
nlohmann::json to_json(const Result& result);

}  // namespace pgshift::schemacopy
