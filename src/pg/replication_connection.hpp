// A replication connection (replication=database) to a publisher, used to create a logical slot
// together with an exported snapshot (CREATE_REPLICATION_SLOT ... LOGICAL pgoutput with SNAPSHOT
// 'export'), and to stream a logical slot (START_REPLICATION ... LOGICAL) for pgshift's own apply.
//
// Snapshot: it shows the database exactly as of the slot's consistent point, so a
// copy made under it plus the changes the slot streams from that point is every row once.
//
// Contract: the exported snapshot lives only while this connection is open and runs no other
// command (PostgreSQL drops it at the next command or when the connection ends); other sessions
// import it with SET TRANSACTION SNAPSHOT inside a REPEATABLE READ transaction. The slot itself
// is permanent and outlives the connection (dropping it is the caller's business).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pg/connection.hpp"
#include "pg/lsn.hpp"
#include "util/duration.hpp"

namespace pgshift::pg {

struct ExportedSlot {
  std::string slot;
  Lsn consistent_point;
  std::string snapshot;  // e.g. "00000003-00000002-1"
};

// One CopyData message of a replication stream (the CopyBoth mode START_REPLICATION enters), as
// the Streaming Replication Protocol frames it: XLogData ('w') carries the output plugin's bytes;
// a primary keepalive ('k') says where the server's WAL ends and may ask for a reply at once.
struct StreamMessage {
  enum class Kind { xlog_data, keepalive };
  Kind kind = Kind::keepalive;
  Lsn wal_start;                 // xlog_data: the WAL position the payload belongs to
  Lsn wal_end;                   // the server's current end of WAL
  int64_t send_time = 0;         // server clock, microseconds since 2000-01-01
  bool reply_requested = false;  // keepalive: the sender times out unless we answer soon
  std::string payload;           // xlog_data: the output plugin's message
};

// Parses one CopyData message. Throws RuntimeError on an unknown kind or a truncated message.
StreamMessage parse_stream_message(std::string_view copy_data);

// The standby status update ('r') telling the server what was written, flushed and applied: a
// logical slot's confirmed_flush_lsn follows `flush`, and WAL before it may be recycled. now_us is
// microseconds since 2000-01-01 (pg_clock_micros()).
std::string standby_status_update(Lsn write, Lsn flush, Lsn apply, int64_t now_us, bool reply_requested);
int64_t pg_clock_micros();

class ReplicationConnection {
 public:
  // Connects to info's database with replication=database. Throws ConnectError.
  static ReplicationConnection open(const ConnInfo& info, std::string role = {},
                                    std::string application_name = "pgshift snapshot");

  // Creates a permanent logical slot with the given output plugin and exports its snapshot.
  // Waits, as the server does, for transactions running on the publisher to end. Throws SqlError.
  ExportedSlot create_logical_slot_exporting(const std::string& slot, const std::string& plugin = "pgoutput");

  // START_REPLICATION SLOT slot LOGICAL start (options): the connection enters CopyBoth mode and
  // runs no other command afterwards. Options are plugin options, e.g. {"proto_version", "1"};
  // values are quoted here. Throws SqlError (no such slot, slot active, bad option).
  void start_logical_replication(const std::string& slot, Lsn start,
                                 const std::vector<std::pair<std::string, std::string>>& options);
  // The next message of the stream, waiting at most `timeout`; nullopt when none came in time or
  // a signal interrupted the wait. Throws SqlError when the server ends the stream (with its
  // error, e.g. the slot was dropped) or the connection breaks.
  std::optional<StreamMessage> receive(util::Millis timeout);
  // Sends a standby status update (see standby_status_update). Throws SqlError when it cannot.
  void send_status(Lsn write, Lsn flush, Lsn apply, bool reply_requested = false);

  bool is_ok() const { return conn_.is_ok(); }
  int backend_pid() const;
  int socket() const;  // to wait on: readable when the server sends something or hangs up
  // Reads what the server sent while idle; false once the connection has ended.
  bool still_open();
  std::string endpoint() const { return conn_.endpoint(); }

 private:
  explicit ReplicationConnection(Connection conn) : conn_(std::move(conn)) {}
  Connection conn_;
};

}  // namespace pgshift::pg
