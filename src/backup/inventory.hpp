// Backup health: WAL archiving (pg_stat_archiver) and the base backups of one or more sources,
// each read into one model, with a recoverability window and a verdict per source.
//
//   InventoryOptions o;  o.db = ...;  o.sources = {"dir:/backups", "pgbackrest:main"};
//   Inventory inv = collect_inventory(o);   // never throws for a source: it becomes "unreadable"
//   inv.exit_code();                        // 0 healthy, 1 a problem, 3 a source cannot be read
//   inv.to_json();                          // `pgshift backups --json`
//   inventory_report(o);                    // the same as a stats::Report JSON (console Backups tab)
//
// Sources (SOURCE text as on the command line):
//   dir:PATH              pg_basebackup backups (plain or tar, with backup_manifest) in PATH (or PATH
//                         itself is one), WAL archive from InventoryOptions::wal_archive
//   pgbackrest:STANZA     pgbackrest info --output=json, pgbackrest verify (judged from its output),
//                         pgbackrest repo-ls of the archive for WAL continuity
//   barman-cloud:URL      URL's last path element is the server name: barman-cloud:s3://bucket/path/srv
//   cnpg:NAMESPACE/NAME   Backup resources and the Cluster (kubectl get -o json)
// Times are Unix seconds (UTC). A verdict is "healthy", "problem" or "unreadable".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pg/conninfo.hpp"
#include "util/duration.hpp"

namespace pgshift::backup {

// One base backup, whatever tool made it. status is normalised: "completed", "running",
// "failed", "invalid" (made, but verification found damage); phase is the tool's own word.
struct BackupEntry {
  std::string id;
  std::string source;  // the SOURCE text it was read from
  std::string method;  // "pg_basebackup plain", "pgbackrest full", "barman-cloud", "barmanObjectStore", ...
  std::string status;
  std::string phase;
  std::optional<int64_t> start_time;
  std::optional<int64_t> stop_time;
  std::optional<int64_t> size_bytes;
  std::string begin_wal, end_wal, begin_lsn, end_lsn;
  std::optional<int64_t> timeline;
  std::string error;
  std::string location;  // where it lives (directory, repository label), for restores

  bool usable() const { return status == "completed"; }
  nlohmann::json to_json() const;
};

// The first and last point in time a source can restore to, and what the last one rests on.
struct RecoveryWindow {
  std::optional<int64_t> first;
  std::optional<int64_t> last;
  std::string basis;  // "archived WAL", "newest backup end (WAL coverage unknown)", "cluster status"
  nlohmann::json to_json() const;
};

struct SourceInventory {
  std::string source;  // as given
  std::string kind;    // dir, pgbackrest, barman-cloud, cnpg
  std::vector<BackupEntry> backups;  // oldest first
  RecoveryWindow window;
  std::string last_wal;  // newest WAL segment the source holds, "" when unknown
  std::string verdict = "healthy";
  std::vector<std::string> problems;  // each one line
  std::vector<std::string> notes;     // facts that are not problems
  nlohmann::json details = nlohmann::json::object();  // tool-specific evidence (conditions, verify)

  const BackupEntry* newest_usable() const;
  void problem(std::string text);
  nlohmann::json to_json() const;
};

// pg_stat_archiver and archive_mode of the live server.
struct ArchiverStatus {
  std::string archive_mode;  // on, always, off
  int64_t archived_count = 0;
  int64_t failed_count = 0;
  std::string last_archived_wal, last_failed_wal;
  std::optional<int64_t> last_archived_time, last_failed_time;
  std::optional<int64_t> seconds_since_last_archive;
  int64_t wal_segment_size = 16 * 1024 * 1024;
  std::string verdict = "healthy";
  std::vector<std::string> problems;
  nlohmann::json to_json() const;
};

struct InventoryOptions {
  std::optional<pg::ConnInfo> db;  // the live server: archiver health, continuity end
  std::vector<std::string> sources;
  std::string wal_archive;         // dir: sources' WAL archive directory
  util::Millis max_archive_age{10 * 60 * 1000};
  util::Millis max_backup_age{26 * 3600 * 1000};
  std::string pgbackrest_config;   // --config for pgbackrest ("" = its default / PGBACKREST_CONFIG)
  std::string s3_endpoint_url;     // barman-cloud --endpoint-url ("" = AWS_ENDPOINT_URL or none)
  std::string aws_profile;         // barman-cloud -P
  std::string kubectl = "kubectl";
  std::string kubeconfig;
  bool verify = true;              // run pg_verifybackup / pgbackrest verify
};

struct Inventory {
  std::optional<ArchiverStatus> archiver;
  std::string archiver_error;  // why the live server could not be read ("" when read or not asked)
  std::vector<SourceInventory> sources;
  int64_t generated_at = 0;

  std::string verdict() const;  // healthy, problem, unreadable
  int exit_code() const;        // 0, 1, 3
  nlohmann::json to_json() const;
  std::string render_text() const;
};

Inventory collect_inventory(const InventoryOptions& options);

// `pgshift backups --json` document for these options (the console can show it as is).
nlohmann::json inventory_json(const InventoryOptions& options);

// The same inventory in the stats::Report JSON form, which the console's Backups tab shows after
// the archiver's report: facts (backup_verdict; the archiver's counts when options.db is set),
// sections windows and backups, findings. Never throws for a source; throws only for an options
// error (an unknown source kind).
nlohmann::json inventory_report(const InventoryOptions& options);

// ---- pieces the drill and the tests use -------------------------------------------------------

// Reads one source (no archiver): the same as collect_inventory does per source.
SourceInventory read_source(const std::string& source, const InventoryOptions& options,
                            const std::optional<ArchiverStatus>& archiver);

// Parses a CloudNativePG Cluster, its Backup list (kubectl get backups -o json: {"items": [...]})
// and an optional plugin ObjectStore into an inventory (no I/O).
SourceInventory parse_cnpg(const std::string& source, const nlohmann::json& cluster,
                           const nlohmann::json& backups, const nlohmann::json& object_store);

// Parses `pgbackrest info --output=json` for one stanza (no I/O).
SourceInventory parse_pgbackrest_info(const std::string& source, const std::string& stanza,
                                      const std::string& json_text);

// Parses `barman-cloud-backup-list --format json` (no I/O).
SourceInventory parse_barman_list(const std::string& source, const std::string& json_text);

// Judges `pgbackrest verify --log-level-console=info` output: the problems it reports.
std::vector<std::string> judge_pgbackrest_verify(const std::string& output);

}  // namespace pgshift::backup
