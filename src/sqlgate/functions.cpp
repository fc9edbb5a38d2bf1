// The gate's function policy, in one place.
//
// Why a deny-list of families plus a FROM allow-list, and not an allow-list of every function:
//
// - pgshift never relies on this list alone. Every accepted statement runs in a transaction
//   that is READ ONLY and always rolled back, with timeouts, usually as a read-only role
//   (README, "Defence layers"). READ ONLY stops any write that goes through the executor or a
//   utility command, whatever function asks for it (a PL/pgSQL function doing INSERT fails with
//   SQLSTATE 25006). What READ ONLY and ROLLBACK cannot stop is what this list is for: effects
//   outside the transaction (signals, files, other sessions, the network, WAL, replication
//   slots, statistics, sequences, session locks, transaction ids, time) and the few built-ins
//   that write catalogs or indexes without asking whether the transaction is read-only
//   (lo_create, pg_import_system_collations, pg_logical_emit_message,
//   brin_summarize_new_values). Each family below says which.
// - An allow-list of the ~3,000 functions of PostgreSQL 13-17 plus every extension people
//   query with (PostGIS, pg_trgm, citext, TimescaleDB's time_bucket, ...) would reject ordinary
//   analytical SQL and rot with each release; the dangerous families are few, well known, and
//   documented by PostgreSQL itself ("System Administration Functions").
// - The one place where an allow-list is cheap and closes a whole class is FROM: a function
//   called as a table source must be one of the set-returning functions in kFromFunctions.
//   Public read-only tools were bypassed there (`SELECT * FROM pg_read_file(...)` slipped past
//   an allow-list that only looked at FuncCall nodes in expressions; `FROM dblink(...)`), and
//   user-defined or extension SRFs are where "run this for me" helpers live. Analysts use a
//   short, stable list of SRFs in FROM; anything else can go in the select list, where the
//   deny-list still applies.
//
// How names are matched: on the last part of the name only, ASCII-folded to lower case, so
// `pg_catalog.pg_sleep`, `"pg_sleep"`, `PG_SLEEP` and `"PG_SLEEP"` are all pg_sleep (the
// quoted upper-case spelling names a different function in PostgreSQL; refusing it too is the
// safe side). The walker applies this to every FuncCall anywhere in the tree, to TABLESAMPLE
// method names (they name a handler function), and to names in attribute notation on an
// expression, which calls a one-argument function without a FuncCall node: `SELECT
// (0.5).pg_sleep` and `SELECT (pg_backend_pid()).pg_cancel_backend` run on PostgreSQL 15.
// Qualified column references (`t.schedule`, `r.http_status`) are not treated as calls: the
// notation only calls a function whose one argument takes the table's row type, which no
// function here does, and such column names are common. A name ending in '*' is a prefix.
// The FROM allow-list is the other way round: it matches exactly, unqualified or in pg_catalog
// only, since a folded or schema-qualified match would let `evil.generate_series` through.
//
// What is deliberately not here: functions that only read inside the database (catalog and
// statistics functions, pg_stat_get_*, pg_get_*def, has_*_privilege, current_setting), volatile
// but harmless functions (random, now, gen_random_uuid, clock_timestamp), casts such as
// ::regclass, txid_current_if_assigned / pg_current_xact_id_if_assigned (they never assign),
// and pg_advisory_*'s read counterpart pg_locks. Functions reached without any call in the text
// (a view's definition, an operator's or a cast's implementing function, a column default) are
// outside what a parser can see: READ ONLY, ROLLBACK and the role are the barriers for them.
#include "sqlgate/functions.hpp"

#include <algorithm>
#include <array>

namespace pgshift::sqlgate {
namespace {

using Names = std::string_view;

constexpr std::array<Names, 8> kSignalling = {
    "pg_cancel_backend", "pg_terminate_backend", "pg_signal_backend", "pg_reload_conf",
    "pg_rotate_logfile", "pg_rotate_logfile_old", "pg_log_backend_memory_contexts", "pg_promote"};

constexpr std::array<Names, 1> kSettings = {"set_config"};

constexpr std::array<Names, 4> kSequences = {"nextval", "setval", "currval", "lastval"};

constexpr std::array<Names, 18> kLargeObjects = {
    "lo_close",      "lo_creat",      "lo_create", "lo_export", "lo_from_bytea", "lo_get",
    "lo_import",     "lo_lseek",      "lo_lseek64", "lo_open",  "lo_put",        "lo_tell",
    "lo_tell64",     "lo_truncate",   "lo_truncate64", "lo_unlink", "loread",    "lowrite"};

constexpr std::array<Names, 2> kOtherSessions = {"dblink*", "pg_background*"};

constexpr std::array<Names, 9> kSqlText = {"query_to_xml*",   "cursor_to_xml*", "table_to_xml*",
                                           "schema_to_xml*",  "database_to_xml*", "ts_stat",
                                           "ts_rewrite",      "xpath_table",     "query_export_to_s3"};

constexpr std::array<Names, 18> kServerFiles = {
    "pg_read_file",     "pg_read_binary_file",        "pg_ls_*",
    "pg_stat_file",     "pg_file_*",                  "pg_logdir_ls",
    "pg_current_logfile", "pg_show_all_file_settings", "pg_hba_file_rules",
    "pg_ident_file_mappings", "xslt_process",          "table_import_from_s3",
    "pg_get_wal_records_info", "pg_get_wal_record_info", "pg_get_wal_stats",
    "pg_get_wal_block_info", "pg_get_wal_records_info_till_end_of_wal",
    "pg_get_wal_stats_till_end_of_wal"};

constexpr std::array<Names, 7> kDirectWrites = {
    "pg_import_system_collations", "pg_nextoid",        "binary_upgrade_*", "pg_truncate_visibility_map",
    "heap_force_kill",             "heap_force_freeze", "pg_buffercache_evict*"};

constexpr std::array<Names, 4> kIndexMaintenance = {"brin_summarize_new_values", "brin_summarize_range",
                                                    "brin_desummarize_range", "gin_clean_pending_list"};

constexpr std::array<Names, 2> kAdvisoryLocks = {"pg_advisory_*", "pg_try_advisory_*"};

constexpr std::array<Names, 24> kWalBackupReplication = {
    "pg_switch_wal",
    "pg_switch_xlog",
    "pg_create_restore_point",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_wal_replay_pause",
    "pg_wal_replay_resume",
    "pg_xlog_replay_pause",
    "pg_xlog_replay_resume",
    "pg_create_physical_replication_slot",
    "pg_create_logical_replication_slot",
    "pg_drop_replication_slot",
    "pg_copy_physical_replication_slot",
    "pg_copy_logical_replication_slot",
    "pg_replication_slot_advance",
    "pg_logical_slot_get_changes",
    "pg_logical_slot_get_binary_changes",
    "pg_logical_slot_peek_changes",
    "pg_logical_slot_peek_binary_changes",
    "pg_logical_emit_message",
    "pg_replication_origin_*",
    "pg_sync_replication_slots"};

constexpr std::array<Names, 7> kStatsResets = {"pg_stat_reset*",          "pg_stat_statements_reset",
                                               "pg_stat_monitor_reset",   "pg_qualstats_reset",
                                               "pg_stat_kcache_reset",    "pg_wait_sampling_reset_profile",
                                               "pg_log_standby_snapshot"};

constexpr std::array<Names, 1> kNotify = {"pg_notify"};

constexpr std::array<Names, 2> kXids = {"txid_current", "pg_current_xact_id"};

constexpr std::array<Names, 3> kSleep = {"pg_sleep", "pg_sleep_for", "pg_sleep_until"};

constexpr std::array<Names, 7> kNetworkAndJobs = {"http", "http_*", "invoke", "schedule", "schedule_in_database",
                                                  "unschedule", "alter_job"};

constexpr std::array<DeniedFamily, 16> kFamilies = {{
    {"backend-signalling",
     "signals server processes (cancel or terminate sessions, reload or rotate configuration, log memory, "
     "promote); not transactional, and a role may signal its own and same-role sessions",
     kSignalling},
    {"settings",
     "changes settings (set_config is SET in function form: role, session_authorization, timeouts)",
     kSettings},
    {"sequences", "advances or reads sequence state; nextval/setval are not undone by ROLLBACK", kSequences},
    {"large-objects",
     "large objects: lo_import/lo_export read and write server files, lo_create writes even in a READ ONLY "
     "transaction",
     kLargeObjects},
    {"other-sessions",
     "runs SQL in another session or background worker, which is neither read-only nor rolled back",
     kOtherSessions},
    {"sql-text",
     "runs SQL given as text (or whole tables, schemas or databases), which the gate cannot inspect",
     kSqlText},
    {"server-files", "reads files, directories or WAL on the database server, outside the database",
     kServerFiles},
    {"direct-writes", "writes catalogs, relation files or shared buffers directly, even in a READ ONLY transaction",
     kDirectWrites},
    {"index-maintenance",
     "rewrites index pages (BRIN summaries, GIN pending lists) even in a READ ONLY transaction, and ROLLBACK "
     "does not undo it; maintenance belongs to VACUUM",
     kIndexMaintenance},
    {"advisory-locks",
     "takes advisory locks; session-level ones outlive the transaction and block other sessions", kAdvisoryLocks},
    {"wal-backup-replication",
     "controls WAL, backups or replication slots and origins; not transactional (consuming or advancing a slot "
     "loses changes a subscriber still needs; pg_logical_emit_message writes WAL even when READ ONLY)",
     kWalBackupReplication},
    {"stats-reset", "erases cumulative statistics other people rely on (or writes WAL); not transactional",
     kStatsResets},
    {"notify", "sends a notification to other sessions", kNotify},
    {"xid-assignment",
     "assigns a transaction id, which is spent even when rolled back (wraparound budget); a read needs none",
     kXids},
    {"sleep", "holds a connection and a snapshot while doing nothing", kSleep},
    {"network-and-jobs",
     "reaches outside the database over the network (http, aws_lambda.invoke) or schedules SQL to run later "
     "outside this transaction (pg_cron)",
     kNetworkAndJobs},
}};

// Views whose rows come from server files rather than the database.
constexpr std::array<Names, 3> kFileViews = {"pg_file_settings", "pg_hba_file_rules", "pg_ident_file_mappings"};
constexpr DeniedFamily kFileViewFamily = {"server-file-views",
                                          "reads server configuration files, outside the database", kFileViews};

// Set-returning functions that may be called in FROM: they compute rows from their arguments
// (or read the catalog) and have no side effect.
constexpr std::array<Names, 42> kFromFunctions = {
    "generate_series",      "generate_subscripts",       "unnest",
    "json_each",            "json_each_text",            "jsonb_each",
    "jsonb_each_text",      "json_array_elements",       "json_array_elements_text",
    "jsonb_array_elements", "jsonb_array_elements_text", "json_object_keys",
    "jsonb_object_keys",    "json_to_record",            "jsonb_to_record",
    "json_to_recordset",    "jsonb_to_recordset",        "json_populate_record",
    "jsonb_populate_record", "json_populate_recordset",  "jsonb_populate_recordset",
    "jsonb_path_query",     "jsonb_path_query_tz",       "regexp_matches",
    "regexp_split_to_table", "string_to_table",          "ts_debug",
    "ts_parse",             "ts_token_type",             "aclexplode",
    "pg_options_to_table",  "pg_get_keywords",           "pg_partition_tree",
    "pg_partition_ancestors", "pg_timezone_names",       "pg_timezone_abbrevs",
    "pg_get_catalog_foreign_keys", "pg_stat_statements", "pg_event_trigger_ddl_commands",
    "pg_get_publication_tables", "pg_input_error_info",  "pg_tablespace_databases"};

bool name_matches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == name;
}

}  // namespace

std::string fold_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const DeniedFamily* denied_function(std::string_view folded_name) {
  for (const DeniedFamily& f : kFamilies) {
    for (std::string_view pattern : f.names) {
      if (name_matches(pattern, folded_name)) return &f;
    }
  }
  return nullptr;
}

const DeniedFamily* denied_relation(std::string_view folded_name) {
  for (std::string_view pattern : kFileViewFamily.names) {
    if (name_matches(pattern, folded_name)) return &kFileViewFamily;
  }
  return nullptr;
}

bool allowed_in_from(std::string_view name) {
  return std::find(kFromFunctions.begin(), kFromFunctions.end(), name) != kFromFunctions.end();
}

std::span<const DeniedFamily> denied_families() { return kFamilies; }

std::span<const std::string_view> from_functions() { return kFromFunctions; }

const DeniedFamily& denied_relations() { return kFileViewFamily; }

}  // namespace pgshift::sqlgate
