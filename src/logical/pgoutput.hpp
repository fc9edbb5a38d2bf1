// A decoder for the messages of PostgreSQL's `pgoutput` plugin, logical replication protocol
// version 1 (what START_REPLICATION ... LOGICAL with proto_version '1' streams inside each
// XLogData payload): Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate and
// Message (with messages 'true'). Pure: bytes in, structs out; no connection, no catalog.
//
// Contract: decode() reads exactly one message (trailing bytes are an error) and throws RuntimeError ("malformed pgoutput
// message: ...") when the bytes end early, a tuple column has an unknown kind, or the message
// kind is not one of protocol 1's (streaming and two-phase messages of later versions are
// refused, never misread). Tuples carry values in text form, as pgoutput sends them unless the
// binary option is given (pgshift never gives it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pg/lsn.hpp"

namespace pgshift::logical::pgoutput {

// One column of a relation message. With REPLICA IDENTITY FULL every column is a key column.
struct Column {
  bool key = false;  // part of the replica identity
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
};

// What the decoder knows about a table: sent before the first change of it in a session, and
// again when it changes. Changes name relations by `id` (the publisher's oid).
struct Relation {
  uint32_t id = 0;
  std::string schema;  // as pgoutput sends it ("" stands for pg_catalog)
  std::string name;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<Column> columns;
};

// One column value of a tuple.
struct Value {
  enum class Kind { null, unchanged_toast, text };
  Kind kind = Kind::null;
  std::string text;  // Kind::text only
  bool operator==(const Value&) const = default;
};
using Tuple = std::vector<Value>;

struct Begin {
  pg::Lsn final_lsn;        // the LSN of the transaction's commit record
  int64_t commit_time = 0;  // microseconds since 2000-01-01
  uint32_t xid = 0;
};
struct Commit {
  uint8_t flags = 0;
  pg::Lsn commit_lsn;  // of the commit record (Begin's final_lsn)
  pg::Lsn end_lsn;     // just past it: what a subscriber confirms
  int64_t commit_time = 0;
};
struct Origin {
  pg::Lsn lsn;  // the commit's LSN on the origin server
  std::string name;
};
struct Type {
  uint32_t id = 0;
  std::string schema;
  std::string name;
};
struct Insert {
  uint32_t relation = 0;
  Tuple row;
};
// old_kind: 0 when no old tuple was sent (the key did not change and identity is not FULL),
// 'K' (old_row holds the key columns, other columns null) or 'O' (the whole old row: FULL).
struct Update {
  uint32_t relation = 0;
  char old_kind = 0;
  Tuple old_row;
  Tuple row;
};
struct Delete {
  uint32_t relation = 0;
  char old_kind = 'K';  // 'K' or 'O', as for Update
  Tuple old_row;
};
struct Truncate {
  static constexpr uint8_t kCascade = 1;
  static constexpr uint8_t kRestartIdentity = 2;
  uint8_t options = 0;
  std::vector<uint32_t> relations;
};
// pg_logical_emit_message() output (sent only with the messages option).
struct Message {
  bool transactional = false;
  pg::Lsn lsn;
  std::string prefix;
  std::string content;
};

using Decoded = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate, Message>;

Decoded decode(std::string_view payload);

// The message kind as a word for logs and errors: "begin", "insert", ...
std::string_view kind_name(const Decoded& message);

}  // namespace pgshift::logical::pgoutput
