// The name-based half of the gate's function policy: the denied families.
//
// The gate judges functions twice (docs/query.md, "What the gate accepts and refuses"):
//
// - Here, by name, with no database: a call to one of these families is refused wherever it is
//   and whatever schema it names, before pgshift connects. These are the functions whose effect
//   escapes what READ ONLY and ROLLBACK contain (signals, files, other sessions, the network,
//   WAL, replication slots, statistics, sequences, session locks, transaction ids, time), the
//   few built-ins that write catalogs or indexes without asking whether the transaction is
//   read-only (lo_create, pg_import_system_collations, pg_logical_emit_message,
//   brin_summarize_new_values), and the functions that run SQL given as text, which the gate
//   cannot inspect (query_to_xml, ts_stat, 2-argument ts_rewrite, tablefunc's crosstab and
//   connectby). No --allow-function can allow one of them.
// - Then against the connected database's catalog (function_policy.hpp, run by
//   query/function_check.hpp): every function the statement reaches is looked up in pg_proc and
//   only the known-safe classes pass. A deny-list of names can never be complete (any extension
//   or user-defined function can run SQL text or act outside the transaction); the catalog
//   check is what closes that, and this list is the part that needs no database.
//
// How names are matched: on the last part of the name only, ASCII-folded to lower case, so
// `pg_catalog.pg_sleep`, `"pg_sleep"`, `PG_SLEEP` and `"PG_SLEEP"` are all pg_sleep (the
// quoted upper-case spelling names a different function in PostgreSQL; refusing it too is the
// safe side). The walker applies this to every FuncCall anywhere in the tree, to TABLESAMPLE
// method names (they name a handler function), and to names in attribute notation on an
// expression, which calls a one-argument function without a FuncCall node: `SELECT
// (0.5).pg_sleep` and `SELECT (pg_backend_pid()).pg_cancel_backend` run on PostgreSQL 15.
// Qualified column references (`t.schedule`, `r.http_status`) are not treated as calls here
// (such column names are common); the catalog check resolves them when a function of the
// row type by that name exists. A name ending in '*' is a prefix; "name/N" matches only a call
// with N arguments (an unknown count matches).
//
// What is deliberately not here: functions that only read inside the database (catalog and
// statistics functions, pg_stat_get_*, pg_get_*def, has_*_privilege, current_setting), volatile
// but harmless functions (random, now, gen_random_uuid, clock_timestamp, currval), casts such
// as ::regclass, txid_current_if_assigned / pg_current_xact_id_if_assigned (they never
// assign), and pg_advisory_*'s read counterpart pg_locks. Functions reached without any call in
// the text (a view's definition, a column default, a type's output function) are outside what
// a parser can see: READ ONLY, ROLLBACK and the role are the barriers for them.
#include "sqlgate/functions.hpp"

#include <array>
#include <cstdlib>
#include <string>

namespace pgshift::sqlgate {
namespace {

using Names = std::string_view;

constexpr std::array<Names, 8> kSignalling = {
    "pg_cancel_backend", "pg_terminate_backend", "pg_signal_backend", "pg_reload_conf",
    "pg_rotate_logfile", "pg_rotate_logfile_old", "pg_log_backend_memory_contexts", "pg_promote"};

constexpr std::array<Names, 1> kSettings = {"set_config"};

constexpr std::array<Names, 2> kSequences = {"nextval", "setval"};

constexpr std::array<Names, 18> kLargeObjects = {
    "lo_close",      "lo_creat",      "lo_create", "lo_export", "lo_from_bytea", "lo_get",
    "lo_import",     "lo_lseek",      "lo_lseek64", "lo_open",  "lo_put",        "lo_tell",
    "lo_tell64",     "lo_truncate",   "lo_truncate64", "lo_unlink", "loread",    "lowrite"};

constexpr std::array<Names, 2> kOtherSessions = {"dblink*", "pg_background*"};

// ts_rewrite(query, 'SELECT target, substitute FROM ...') runs its text; the 3-argument form
// rewrites with tsquery values only. table_to_xml* take a regclass, not text: the walker resolves
// it (reads_relation_argument) and the relation rules apply to it.
// tablefunc's crosstab family and connectby run the SQL text (or the table and column names)
// they are given.
constexpr std::array<Names, 11> kSqlText = {"query_to_xml*", "cursor_to_xml*", "schema_to_xml*",
                                            "database_to_xml*", "ts_stat",     "ts_rewrite/2",
                                            "xpath_table",   "query_export_to_s3", "crosstab*",
                                            "connectby",     "connectby_text"};

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
    {"sequences", "advances a sequence; nextval/setval are not undone by ROLLBACK", kSequences},
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
// Catalogs holding credentials: password verifiers (pg_authid, pg_shadow) and user mappings'
// options, which carry passwords of other servers. pg_read_all_data reaches them, so a reader
// role that has it could otherwise copy every role's verifier out through the window.
constexpr std::array<Names, 4> kCredentialCatalogs = {"pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings"};
constexpr std::array<DeniedFamily, 2> kRelationFamilies = {{
    {"server-file-views", "reads server configuration files, outside the database", kFileViews},
    {"credential-catalogs", "holds password verifiers or other servers' credentials", kCredentialCatalogs},
}};

}  // namespace

bool name_matches(std::string_view pattern, std::string_view name, int nargs) {
  if (size_t slash = pattern.find('/'); slash != std::string_view::npos) {
    int arity = std::atoi(std::string(pattern.substr(slash + 1)).c_str());
    return pattern.substr(0, slash) == name && (nargs < 0 || nargs == arity);
  }
  if (!pattern.empty() && pattern.back() == '*') return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == name;
}

std::string fold_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const DeniedFamily* denied_function(std::string_view folded_name, int nargs) {
  for (const DeniedFamily& f : kFamilies) {
    for (std::string_view pattern : f.names) {
      if (name_matches(pattern, folded_name, nargs)) return &f;
    }
  }
  return nullptr;
}

const DeniedFamily* denied_relation(std::string_view folded_name) {
  for (const DeniedFamily& f : kRelationFamilies) {
    for (std::string_view pattern : f.names) {
      if (name_matches(pattern, folded_name, -1)) return &f;
    }
  }
  return nullptr;
}

bool reads_relation_argument(std::string_view folded_name) {
  return folded_name == "table_to_xml" || folded_name == "table_to_xml_and_xmlschema";
}

std::span<const DeniedFamily> denied_families() { return kFamilies; }

std::span<const DeniedFamily> denied_relations() { return kRelationFamilies; }

}  // namespace pgshift::sqlgate
