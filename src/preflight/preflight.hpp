// The preflight: every hazard that would break a logical-replication migration, found before it
// bites. `pgshift check` prints it; `pgshift sync start` refuses to start on an error.
//
// A Hazard has a severity, a stable code (for scripts and tests), the side it concerns, the
// objects involved, a message and the fix. assess() is pure (snapshots in, hazards out) so each
// rule is unit-testable; run_preflight() reads both databases and calls it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/catalog.hpp"
#include "catalog/dependents.hpp"
#include "pg/connection.hpp"

namespace pgshift::preflight {

enum class Severity { error, warning, info };
std::string to_string(Severity severity);

struct Hazard {
  Severity severity = Severity::info;
  std::string code;                  // e.g. "wal-level", "target-not-empty"
  std::string side;                  // "source", "target" or "both"
  std::string message;               // what is wrong, one sentence
  std::vector<std::string> objects;  // tables, columns, settings concerned
  std::string fix;                   // what to do
};

struct Options {
  std::vector<catalog::TablePattern> excludes;
  std::string publication = "pgshift";
  std::string subscription = "pgshift";
  // Tables on the source only are an error (the application would be switched to a database
  // that lacks them) unless the operator says they may stay behind.
  bool allow_missing_tables = false;
};

// A materialized view: logical replication does not carry its contents, so on the target it
// stays as the schema copy left it (usually not populated) until refreshed.
struct MaterializedView {
  catalog::TableRef ref;
  int64_t size_bytes = 0;
  bool populated = false;  // on the source
  bool on_target = false;
  bool populated_on_target = false;
};

// Everything assess() looks at.
struct Inputs {
  catalog::Snapshot source;
  catalog::Snapshot target;
  catalog::TableSelection selection;
  catalog::SchemaDiff diff;
  // Replicated tables the target role can read; a table absent here could not be probed.
  std::map<catalog::TableRef, bool> target_has_rows;
  std::vector<MaterializedView> materialized_views;  // the source's
  // The separate source role cutover creates the subscription back as (--source-subscriber).
  std::optional<catalog::ServerInfo> source_subscriber;
  std::string source_provider = "postgres";  // logical::read_provider of the source
  std::vector<std::string> source_event_triggers;  // names; no copy carries them
  // Application objects on the source that need a provider schema, an extension the target
  // cannot install or a role the target lacks (catalog::read_provider_dependents).
  std::vector<catalog::ProviderDependent> provider_dependents;
};

struct Report {
  std::string source_endpoint;
  std::string target_endpoint;
  Inputs inputs;
  std::vector<Hazard> hazards;  // errors first, then warnings, then info
  int count(Severity severity) const;
  bool ok() const { return count(Severity::error) == 0; }
};

// Pure: the hazards of a source/target pair.
std::vector<Hazard> assess(const Inputs& inputs, const Options& options);

// Reads both sides (snapshots, target row presence) and assesses them.
// source_subscriber: the --source-subscriber connection, when given.
Report run_preflight(pg::Connection& source, pg::Connection& target, const Options& options,
                     pg::Connection* source_subscriber = nullptr);

// Output: a human report (severity, code, message, objects, fix, summary) and JSON.
std::string render_text(const Report& report);
nlohmann::json to_json(const Report& report);

}  // namespace pgshift::preflight
