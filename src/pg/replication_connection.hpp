// A replication connection (replication=database) to a publisher, used to create a logical slot
// together with an exported snapshot: CREATE_REPLICATION_SLOT ... LOGICAL pgoutput with SNAPSHOT
// 'export'. The snapshot shows the database exactly as of the slot's consistent point, so a
// copy made under it plus the changes the slot streams from that point is every row once.
//
// Contract: the exported snapshot lives only while this connection is open and runs no other
// command (PostgreSQL drops it at the next command or when the connection ends); other sessions
// import it with SET TRANSACTION SNAPSHOT inside a REPEATABLE READ transaction. The slot itself
// is permanent and outlives the connection (dropping it is the caller's business).
#pragma once

#include <string>

#include "pg/connection.hpp"
#include "pg/lsn.hpp"

namespace pgshift::pg {

struct ExportedSlot {
  std::string slot;
  Lsn consistent_point;
  std::string snapshot;  // e.g. "00000003-00000002-1"
};

class ReplicationConnection {
 public:
  // Connects to info's database with replication=database. Throws ConnectError.
  static ReplicationConnection open(const ConnInfo& info, std::string role = {},
                                    std::string application_name = "pgshift snapshot");

  // Creates a permanent logical slot with the given output plugin and exports its snapshot.
  // Waits, as the server does, for transactions running on the publisher to end. Throws SqlError.
  ExportedSlot create_logical_slot_exporting(const std::string& slot, const std::string& plugin = "pgoutput");

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
