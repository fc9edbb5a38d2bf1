#include "pg/replication_connection.hpp"

#include <fmt/format.h>

#include "pg/quote.hpp"

namespace pgshift::pg {

ReplicationConnection ReplicationConnection::open(const ConnInfo& info, std::string role,
                                                  std::string application_name) {
  ConnInfo replication = info;
  replication.set("replication", "database");
  ConnectOptions options = default_connect_options();
  options.role = std::move(role);
  options.application_name = std::move(application_name);
  return ReplicationConnection(Connection::open(replication, options));
}

ExportedSlot ReplicationConnection::create_logical_slot_exporting(const std::string& slot, const std::string& plugin) {
  // Replication commands only run through the simple query protocol. PostgreSQL 15 has the
  // parenthesised option list; 13 and 14 only the older keyword (which 15+ still accept).
  std::string sql = conn_.server_version() >= 150000
                        ? fmt::format("CREATE_REPLICATION_SLOT {} LOGICAL {} (SNAPSHOT 'export')", quote_ident(slot),
                                      quote_ident(plugin))
                        : fmt::format("CREATE_REPLICATION_SLOT {} LOGICAL {} EXPORT_SNAPSHOT", quote_ident(slot),
                                      quote_ident(plugin));
  Result r = conn_.exec_simple(sql);
  ExportedSlot out;
  out.slot = std::string(r.view(0, r.column_index("slot_name")));
  out.consistent_point = Lsn::parse_or_throw(r.view(0, r.column_index("consistent_point")), "consistent_point");
  out.snapshot = std::string(r.view(0, r.column_index("snapshot_name")));
  return out;
}

int ReplicationConnection::backend_pid() const { return PQbackendPID(conn_.raw()); }

int ReplicationConnection::socket() const { return PQsocket(conn_.raw()); }

bool ReplicationConnection::still_open() {
  if (PQconsumeInput(conn_.raw()) != 1) return false;
  return PQstatus(conn_.raw()) == CONNECTION_OK;
}

}  // namespace pgshift::pg
