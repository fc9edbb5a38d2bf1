// What a database holds, as read by catalog::read_snapshot(): plain values, no connections.
// Names are unquoted; types are format_type() text read with search_path = pg_catalog, so a
// user type is always schema-qualified ("public.mood") and compares equal across databases.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgshift::catalog {

struct TableRef {
  std::string schema;
  std::string name;
  auto operator<=>(const TableRef&) const = default;
  std::string display() const;  // schema.name, quoted only where needed
  std::string quoted() const;   // "schema"."name" for SQL text
};

enum class TableKind { table, partitioned, partition };
enum class Persistence { permanent, unlogged, temporary };
enum class ReplicaIdentity { default_key, full, index, nothing };

std::string to_string(TableKind kind);
std::string to_string(Persistence persistence);
std::string to_string(ReplicaIdentity identity);  // "default", "full", "index", "nothing"

struct Column {
  std::string name;
  int attnum = 0;
  std::string type;          // format_type: "integer", "numeric(12,2)", "public.mood[]"
  std::string type_kind;     // base, enum, domain, array, composite, range, multirange, pseudo
  std::string enum_type;     // the enum behind the column (also through an array or a domain), or ""
  std::string domain_base;   // base type of a domain, or ""
  bool not_null = false;
  bool has_default = false;
  char generated = '\0';     // 's' for GENERATED ALWAYS AS ... STORED
  char identity = '\0';      // 'a' ALWAYS, 'd' BY DEFAULT
  bool has_equality = true;  // type has a default btree/hash equality (needed by REPLICA IDENTITY FULL apply)
};

struct UniqueIndex {
  std::string name;
  std::vector<std::string> columns;  // empty for expression-only indexes
  bool primary = false;
  bool partial = false;
  bool has_expressions = false;
  bool valid = true;
  bool immediate = true;  // not DEFERRABLE
  bool all_not_null = false;
  // Usable as REPLICA IDENTITY USING INDEX: unique, valid, immediate, not partial, no
  // expressions, every column NOT NULL.
  bool usable_as_identity() const;
};

struct Table {
  TableRef ref;
  uint32_t oid = 0;
  TableKind kind = TableKind::table;
  Persistence persistence = Persistence::permanent;
  std::optional<TableRef> partition_root;  // top-most ancestor, for partitions
  int64_t row_estimate = -1;               // pg_class.reltuples; -1 when never analyzed
  int64_t size_bytes = 0;
  ReplicaIdentity replica_identity = ReplicaIdentity::default_key;
  std::string replica_identity_index;      // when replica_identity == index
  bool extension_owned = false;            // member of an extension (pg_depend 'e')
  bool extension_config = false;           // an extension's configuration table (pg_extension.extconfig):
                                           // its rows are the user's (pg_dump copies them)
  bool owned_by_current_user = false;      // current user can ALTER it / publish it
  bool selectable = true;                  // current user has SELECT
  std::vector<Column> columns;             // in attnum order
  std::vector<std::string> primary_key;    // empty when none
  std::vector<UniqueIndex> unique_indexes; // includes the primary key

  const Column* column(const std::string& name) const;
  // The best index to serve as replica identity when there is no primary key, or nullptr.
  const UniqueIndex* identity_candidate() const;
  // UPDATE/DELETE can be published: a key, a usable identity index set, or FULL.
  bool has_usable_identity() const;
};

struct Sequence {
  TableRef ref;
  std::string data_type;
  std::optional<int64_t> last_value;   // nullopt when never used or not readable
  int64_t increment = 1;
  std::optional<TableRef> owner_table; // OWNED BY (serial / identity)
  std::string owner_column;
  std::vector<TableRef> used_by;       // tables whose column defaults call nextval() on it
};

struct EnumType {
  std::string name;  // schema-qualified
  std::vector<std::string> labels;
};

struct Extension {
  std::string name;
  std::string version;
};

struct Publication {
  std::string name;
  bool all_tables = false;
  bool via_root = false;
  std::vector<TableRef> tables;
};

struct Subscription {
  std::string name;
  bool enabled = false;
  std::string slot_name;
  std::vector<std::string> publications;
};

struct ReplicationSlot {
  std::string name;
  std::string plugin;
  std::string slot_type;  // logical / physical
  std::string database;
  bool active = false;
  bool temporary = false;
  std::string restart_lsn;
  std::string confirmed_flush_lsn;
  std::string wal_status;              // reserved, extended, unreserved, lost (13+)
  std::optional<int64_t> retained_bytes;  // WAL kept for it, from restart_lsn
};

struct ServerInfo {
  int version_num = 0;
  std::string version;            // "PostgreSQL 15.4 (Debian ...)"
  std::string database;
  std::string current_user;
  bool superuser = false;
  bool replication_role = false;  // REPLICATION attribute (or a provider role granting it)
  bool can_create_in_database = false;
  bool in_recovery = false;
  // Identifies the running server (system identifier and postmaster start): equal on two
  // connections only when they reach the same server. "" when not read.
  std::string instance;
  std::vector<std::string> provider_roles;  // rds_replication, rds_superuser, pg_create_subscription, ...
  std::string provider = "postgres";        // read_provider(): supabase, rds, cloudsql, azure, postgres
  int walsenders_in_use = 0;
  int replication_slots_in_use = 0;
  std::map<std::string, std::string> settings;  // wal_level, max_replication_slots, ...

  std::string setting(const std::string& name) const;  // "" when absent
  int64_t setting_int(const std::string& name, int64_t fallback = 0) const;
  int major() const { return version_num / 10000; }
  std::string short_version() const;  // "15.4"

};

struct Snapshot {
  ServerInfo server;
  std::vector<Table> tables;  // user tables: permanent, unlogged; excludes pgshift's own schema
  std::vector<Sequence> sequences;
  std::vector<EnumType> enums;
  std::vector<Extension> extensions;
  std::vector<std::string> available_extensions;  // pg_available_extensions
  int64_t large_objects = 0;
  std::vector<Publication> publications;
  std::vector<Subscription> subscriptions;
  std::vector<ReplicationSlot> slots;

  const Table* table(const TableRef& ref) const;
  const Sequence* sequence(const TableRef& ref) const;
  const EnumType* enum_type(const std::string& name) const;
  const Extension* extension(const std::string& name) const;
};

}  // namespace pgshift::catalog
