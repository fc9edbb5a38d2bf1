// Restore drills: prove that a backup restores, how long it takes (RTO) and how recent the
// newest write that came back is (RPO).
//
//   DrillReport r = run_drill(options);   // never throws for a drill that ran; see below
//   r.exit_code();                         // 0 passed, 1 failed (r.reason), 3 could not run
//
// Steps: (1) a marker row on live (pgshift.drill_marker: nonce, time), committed, then
// pg_switch_wal() and a wait until pg_stat_archiver has archived the marker's segment;
// (2) the chosen backup restored into a throwaway PostgreSQL of the backup's major version in a
// labelled temp dir (/tmp/pgshift-drill-<pid>-*) on a free loopback port, isolated by command-line
// settings (archive_mode=off, no logical replication workers, no primary_conninfo, no
// synchronous standbys, pg_cron/pg_net stripped from shared_preload_libraries), recovering to the
// end of the source's archive through a restore_command that only reads it; (3) a wait with a
// deadline for recovery to end; (4) checks: schema fingerprint equal to live's (differences
// named), every table's exact count(*) within tolerance of live's, the marker present, then the
// restored data itself with pg_amcheck (drill_integrity.hpp: heap and B-tree everywhere,
// heapallindexed within heapallindexed_budget; data checksums verified where the cluster has them);
// (5) teardown always (success, failure, timeout, SIGINT/SIGTERM); a directory left by a drill
// killed with -9 is removed by the next one. keep_on_failure stops the server, keeps its files as
// /tmp/pgshift-drill-kept-* and says how to start and connect.
// Throws UsageError for bad options only.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backup/inventory.hpp"
#include "pg/conninfo.hpp"

namespace pgshift::backup {

struct DrillOptions {
  pg::ConnInfo live;
  std::string source;              // dir:, pgbackrest:, barman-cloud:
  std::string backup = "latest";   // a backup id, or latest (newest usable)
  double tolerance = 0.10;         // row counts may differ by this fraction of live's
  util::Millis timeout{30 * 60 * 1000};
  util::Millis heapallindexed_budget{5 * 60 * 1000};  // pg_amcheck --heapallindexed, smallest tables first
  bool keep_on_failure = false;
  std::string notify_command;      // run by /bin/sh on failure, the JSON report on stdin
  InventoryOptions tools;          // how to reach the source's tools (wal_archive, configs)
  std::function<void(const std::string&)> progress;  // one line per step, for stderr
};

struct TableCheck {
  std::string name;
  std::string schema, relname;      // unquoted, to match what pg_amcheck names
  int64_t live = 0;
  std::optional<int64_t> restored;  // nullopt when the table is missing from the restore
  std::string count_error;          // count(*) failed in the restore (a damaged page)
  std::vector<std::string> checked;     // what pg_amcheck checked: "heap", "btree", "heapallindexed"
  std::string not_checked;              // what was left out and why ("" when nothing was)
  std::vector<std::string> corruption;  // pg_amcheck's findings, one line each
  bool ok = false;
};

// What pg_amcheck did on the restored server (drill_integrity.hpp).
struct IntegrityReport {
  bool ran = false;
  std::string tool;                      // the pg_amcheck binary
  std::optional<bool> data_checksums;    // the restored cluster's data_checksums
  double budget_s = 0;                   // the heapallindexed budget
  double heap_btree_s = 0, heapallindexed_s = 0;
  int64_t bytes_checked = 0;             // heap + B-tree bytes of the drilled database's tables
  std::vector<std::string> problems;     // findings outside the compared tables, or why it could not run
  std::vector<std::string> notes;
};

struct DrillReport {
  bool passed = false;
  bool could_not_run = false;
  std::string reason;  // why it failed or could not run; "" when passed
  std::string source, backup_id, backup_method;
  std::optional<int64_t> backup_stop_time;
  std::string pg_major;
  // marker
  bool marker_written = false, marker_found = false;
  std::string marker_nonce, marker_wal;
  std::optional<double> marker_time;  // Unix seconds on live
  // checks
  std::optional<bool> schema_ok;
  std::string live_fingerprint, restored_fingerprint;
  std::vector<std::string> schema_differences;
  std::vector<TableCheck> tables;
  std::vector<std::string> skipped_tables;  // unlogged: empty after any restore by design
  IntegrityReport integrity;
  std::vector<std::string> notes;
  // evidence
  std::optional<double> newest_restored_commit;  // pg_last_xact_replay_timestamp(), Unix seconds
  std::string recovery_end_lsn;
  std::optional<double> rpo_s;
  std::optional<double> rto_s;  // restore + recovery: from an empty directory to a promoted server
  std::string failed_phase;     // marker, restore, recovery or checks; "" when none failed
  double marker_s = 0, restore_s = 0, recovery_s = 0, checks_s = 0, integrity_s = 0, total_s = 0;
  std::string server_dir;  // the throwaway server's directory and port (gone after teardown)
  int server_port = 0;
  std::string kept_dir, connect_hint;

  int exit_code() const { return passed ? 0 : could_not_run ? 3 : 1; }
  nlohmann::json to_json() const;
  std::string render_text() const;
};

DrillReport run_drill(const DrillOptions& options);

// A CloudNativePG drill: the marker on live, then the recovery Cluster (render_cnpg_recovery)
// applied with kubectl, waited for until Ready, checked through `kubectl port-forward` to its -rw
// service with live's credentials (a physical restore keeps live's roles), and deleted always.
// Needs a Kubernetes cluster running CloudNativePG: untested in pgshift's own tests.
struct CnpgDrillOptions {
  pg::ConnInfo live;
  std::string cluster;  // NAMESPACE/CLUSTER
  double tolerance = 0.10;
  util::Millis timeout{30 * 60 * 1000};
  std::string notify_command;
  InventoryOptions tools;  // kubectl, kubeconfig
  std::function<void(const std::string&)> progress;
};
DrillReport run_cnpg_drill(const CnpgDrillOptions& options);

// The recovery Cluster a CNPG drill applies, from the live Cluster's JSON: bootstrap.recovery
// from an externalClusters entry (the live Cluster's barmanObjectStore, or its barman-cloud
// plugin ObjectStore), with the live imageName, storage size, the name <live>-drill-<suffix>
// (cnpg::suffixed_name: the suffix kept whole within 50 characters) and the label
// pgshift.io/drill. Throws UsageError when the Cluster has no object-store backup to recover from.
nlohmann::json render_cnpg_recovery(const nlohmann::json& cluster, const std::string& suffix);

// A fresh suffix for a recovery Cluster's name: 8 random hex digits (two drills a day, or two at
// once, never share a name).
std::string drill_name_suffix();

// A manifest as YAML text (kubectl apply -f - accepts it).
std::string to_yaml(const nlohmann::json& doc);

}  // namespace pgshift::backup
