// The catalog policy's decisions and its one list, the built-in VOLATILE functions allowed anyway.
#include "sqlgate/function_policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "sqlgate/functions.hpp"

namespace pgshift::sqlgate {
namespace {

// Volatile only because their result changes between calls (or reads state that changes), not
// because they change anything: random values, clocks, uuids, sequence reads of this session,
// the TABLESAMPLE handlers, and read-only status views (locks, WAL positions, recovery state,
// sizes, control file, commit timestamps). Everything else VOLATILE in pg_catalog is refused
// (pg_export_snapshot, setseed, triggers and handlers, ts_rewrite(query, text), ...).
constexpr std::array<std::string_view, 62> kSafeVolatile = {
    "random", "random_normal", "clock_timestamp", "timeofday", "gen_random_uuid", "uuidv4", "uuidv7", "currval", "lastval", "pg_sequence_last_value",
    "bernoulli", "system", "current_query", "pg_lock_status", "pg_blocking_pids", "pg_safe_snapshot_blocking_pids",
    "pg_isolation_test_session_is_blocked", "pg_get_multixact_members", "pg_prepared_xact",
    "pg_control_checkpoint", "pg_control_init", "pg_control_recovery", "pg_control_system",
    "pg_current_wal_lsn", "pg_current_wal_flush_lsn", "pg_current_wal_insert_lsn", "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp", "pg_is_in_recovery", "pg_is_wal_replay_paused",
    "pg_get_wal_replay_pause_state", "pg_last_committed_xact", "pg_get_wal_resource_managers",
    "pg_database_size", "pg_relation_size", "pg_table_size", "pg_indexes_size", "pg_total_relation_size",
    "pg_tablespace_size", "pg_partition_tree", "pg_partition_ancestors", "pg_jit_available",
    "pg_notification_queue_usage", "pg_get_backend_memory_contexts", "pg_get_shmem_allocations",
    "pg_stat_get_xact_*", "pg_stat_get_recovery_prefetch", "pg_stat_have_stats", "pg_xact_commit_timestamp",
    "pg_xact_commit_timestamp_origin", "pg_xact_status", "txid_status", "pg_show_replication_origin_status",
    "pg_collation_actual_version", "pg_database_collation_actual_version", "pg_get_wait_events",
    "pg_available_wal_summaries", "pg_get_wal_summarizer_state", "pg_wal_summary_contents", "pg_stat_get_io",
    "pg_stat_get_backend_io"};

// Pure data types and text matching: their functions compute from their arguments (and,
// for unaccent, a rules file fixed at installation). Not here, and refused unless allowed by
// name: extensions that run SQL (tablefunc), reach files or other servers (file_fdw,
// postgres_fdw, dblink, adminpack), or shared state (pg_prewarm, lo, pg_stat_statements' reset).
constexpr std::array<std::string_view, 3> kPgcryptoDigests = {"digest", "hmac", "crypt"};
constexpr std::array<DefaultAllowedExtension, 14> kDefaultAllowed = {{
    {"citext", {}, "case-insensitive text type: comparison, matching and its casts"},
    {"hstore", {}, "key/value type: operators, accessors and casts (to json, jsonb, arrays)"},
    {"pg_trgm", {}, "trigram similarity (similarity, %, <->, word_similarity) and its index support"},
    {"ltree", {}, "label-tree type: path operators and matching (lquery, ltxtquery)"},
    {"cube", {}, "multi-dimensional cube type: operators and distances"},
    {"isn", {}, "product numbers (ISBN, EAN13, UPC, ...): types, validation, comparison"},
    {"intarray", {}, "integer-array operators (&&, @>, query_int) and sorting helpers"},
    {"btree_gin", {}, "GIN operator classes for scalar types: comparison support only"},
    {"btree_gist", {}, "GiST operator classes for scalar types: comparison and distance support only"},
    {"fuzzystrmatch", {}, "string distance and phonetic codes (levenshtein, soundex, metaphone)"},
    {"unaccent", {}, "removes accents with the rules file installed with it"},
    {"earthdistance", {}, "great-circle distances over cube or point"},
    {"seg", {}, "line-segment (interval) type: operators"},
    {"pgcrypto", kPgcryptoDigests, "digests only (digest, hmac, crypt): hashes computed from the arguments"},
}};

bool default_allowed(const FunctionFacts& f) {
  if (f.volatility == 'v' || !f.owner_superuser || f.extension.empty()) return false;
  return std::any_of(kDefaultAllowed.begin(), kDefaultAllowed.end(), [&](const DefaultAllowedExtension& e) {
    return e.extension == f.extension &&
           (e.functions.empty() || std::find(e.functions.begin(), e.functions.end(), f.name) != e.functions.end());
  });
}

bool safe_volatile(std::string_view name) {
  return std::any_of(kSafeVolatile.begin(), kSafeVolatile.end(),
                     [&](std::string_view pattern) { return name_matches(pattern, name, -1); });
}

FunctionDecision refuse(Rule rule, std::string reason) { return {false, rule, std::move(reason)}; }

}  // namespace

bool allow_listed(std::string_view schema, std::string_view name, std::span<const std::string> allowed,
                  bool wildcard) {
  std::string exact = fmt::format("{}.{}", schema, name);
  std::string all = fmt::format("{}.*", schema);
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& entry) { return entry == exact || (wildcard && entry == all); });
}

FunctionDecision judge_function(const FunctionFacts& f, std::span<const std::string> allowed) {
  if (const DeniedFamily* family = denied_function(fold_name(f.name), f.nargs)) {
    return refuse(Rule::denied_function,
                  fmt::format("{} is not allowed: {} [{}]", f.signature, family->reason, family->family));
  }
  if (allow_listed(f.schema, f.name, allowed, true)) return {};
  const std::string how = fmt::format("unless allowed by name (--allow-function {}.{})", f.schema, f.name);
  if (f.security_definer) {
    return refuse(Rule::security_definer,
                  fmt::format("{} is SECURITY DEFINER: it runs with its owner's privileges, not the reader's; "
                              "refused {}",
                              f.signature, how));
  }
  if (default_allowed(f)) return {};
  if (!f.extension.empty()) {
    return refuse(Rule::extension_function,
                  fmt::format("{} comes from extension {}: extension and user-defined functions can run SQL the "
                              "gate cannot see or act outside the transaction; refused {}",
                              f.signature, f.extension, how));
  }
  if (!f.built_in) {
    return refuse(Rule::user_function,
                  fmt::format("{} is user-defined (language {}): extension and user-defined functions can run SQL "
                              "the gate cannot see or act outside the transaction; refused {}",
                              f.signature, f.language, how));
  }
  if (f.volatility == 'v' && !safe_volatile(f.name)) {
    return refuse(Rule::volatile_function,
                  fmt::format("{} is VOLATILE (it may change state outside the statement): built-in volatile "
                              "functions are refused, except random, clocks, uuids and read-only status functions, "
                              "{}",
                              f.signature, how));
  }
  return {};
}

std::string allow_entry_problem(std::string_view entry, std::string_view option, bool wildcard, bool function) {
  size_t dot = entry.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == entry.size() ||
      entry.find('.', dot + 1) != std::string_view::npos) {
    return fmt::format("{} '{}': give schema.name{} (e.g. public.{})", option, entry, wildcard ? " or schema.*" : "",
                       dot == std::string_view::npos ? entry : std::string_view("my_function"));
  }
  std::string_view name = entry.substr(dot + 1);
  if (name == "*" && !wildcard) return fmt::format("{} '{}': give schema.name, not a wildcard", option, entry);
  if (function && name != "*") {
    if (const DeniedFamily* family = denied_function(fold_name(name))) {
      return fmt::format("{} '{}': {} is in the denied family {} ({}); no setting allows it", option, entry, name,
                         family->family, family->reason);
    }
  }
  return "";
}

std::span<const std::string_view> safe_volatile_functions() { return kSafeVolatile; }

std::span<const DefaultAllowedExtension> default_allowed_extensions() {
  return std::span(kDefaultAllowed.data(), kDefaultAllowed.size());
}

}  // namespace pgshift::sqlgate
