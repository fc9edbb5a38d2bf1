// The catalog room: read what a database holds, fingerprint tables, diff two databases and
// decide which tables a migration replicates.
//
//   Snapshot s = read_snapshot(conn);             // one consistent read-only transaction
//   SchemaDiff d = diff_schemas(source, target);  // what the target lacks or has differently
//   TableSelection sel = select_tables(source, target, excludes);
//
// Reads work on PostgreSQL 13–17 (guarded by server_version_num) and need no superuser.
#pragma once

#include <string>
#include <vector>

#include "catalog/model.hpp"
#include "pg/connection.hpp"

namespace pgshift::catalog {

inline constexpr std::string_view kStateSchema = "pgshift";  // never read, never published

// How much a snapshot reads. tables: server info, tables with columns and keys, enum types
// (what comparing data needs; a few milliseconds less per side). full: everything.
enum class Detail { tables, full };

// Reads a snapshot in one REPEATABLE READ, READ ONLY transaction.
Snapshot read_snapshot(pg::Connection& conn, Detail detail = Detail::full);
ServerInfo read_server_info(pg::Connection& conn);
std::vector<Table> read_tables(pg::Connection& conn);

// ---- fingerprints and diffs ------------------------------------------------------------------

// A stable 16-hex-digit hash of what logical replication depends on: each column's name, type
// and generated-ness, independent of column order (replication matches columns by name).
std::string fingerprint(const Table& table);

struct ColumnDifference {
  enum class Kind { missing_on_target, extra_on_target, type_mismatch, generated_mismatch };
  TableRef table;
  std::string column;
  Kind kind;
  std::string source_type;  // empty when absent on the source
  std::string target_type;  // empty when absent on the target
  bool target_requires_value = false;  // extra target column NOT NULL without default
};

struct EnumDifference {
  std::string type;
  bool missing_on_target = false;        // the whole type is absent
  std::vector<std::string> missing_labels;  // labels the target lacks
};

struct SchemaDiff {
  std::vector<TableRef> missing_on_target;  // on the source only
  std::vector<TableRef> extra_on_target;    // on the target only
  std::vector<ColumnDifference> columns;
  std::vector<EnumDifference> enums;
  std::vector<TableRef> missing_sequences;
  bool empty() const;
};

// Compares the user tables (regardless of selection), enums and sequences of two snapshots,
// leaving out those in the source's provider schemas.
SchemaDiff diff_schemas(const Snapshot& source, const Snapshot& target);

// Column differences of one table pair (used by drift detection for published tables).
std::vector<ColumnDifference> diff_table(const Table& source, const Table& target);

std::string to_string(ColumnDifference::Kind kind);
std::string describe(const ColumnDifference& d);  // "public.t.c: missing on target (integer)"

// ---- which tables a migration replicates ------------------------------------------------------

// A table pattern from --exclude / --tables: "name" matches a table of that name in any schema,
// "schema.name" matches exactly; both parts may use shell wildcards (* ? [..]).
class TablePattern {
 public:
  explicit TablePattern(std::string pattern);
  bool matches(const TableRef& table) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string schema_;  // empty: any schema
  std::string name_;
};

bool matches_any(const std::vector<TablePattern>& patterns, const TableRef& table);

enum class LeftOutReason {
  excluded,         // matched an --exclude pattern
  unlogged,         // unlogged tables are not written to WAL, so cannot be replicated
  source_only,      // no table of that name on the target
  target_only,      // exists on the target only
  via_root,         // a partition: replicated through its partitioned root
  extension_owned,  // belongs to an extension; the extension manages it
  provider_schema,  // in a schema of the managed provider (catalog/providers.hpp)
};
std::string to_string(LeftOutReason reason);
std::string explain(LeftOutReason reason);  // a sentence for status and check output

struct LeftOut {
  TableRef table;
  LeftOutReason reason;
  std::string detail;  // the pattern, the root, ...
};

struct TableSelection {
  std::vector<TableRef> replicated;  // present on both sides, sorted; partitioned roots included
  std::vector<LeftOut> left_out;     // sorted by table
  bool contains(const TableRef& table) const;
};

// Tables in a provider schema of the server they are on (provider_schemas(snapshot)) are left
// out as provider_schema, on either side.
TableSelection select_tables(const Snapshot& source, const Snapshot& target,
                             const std::vector<TablePattern>& excludes);

}  // namespace pgshift::catalog
