#include "pg/replication_connection.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <chrono>

#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "pg/wire.hpp"

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

StreamMessage parse_stream_message(std::string_view copy_data) {
  WireReader in(copy_data, "replication stream message");
  StreamMessage m;
  char kind = in.byte();
  if (kind == 'w') {
    m.kind = StreamMessage::Kind::xlog_data;
    m.wal_start = Lsn(in.u64());
    m.wal_end = Lsn(in.u64());
    m.send_time = in.i64();
    m.payload = std::string(in.rest());
  } else if (kind == 'k') {
    m.kind = StreamMessage::Kind::keepalive;
    m.wal_end = Lsn(in.u64());
    m.send_time = in.i64();
    m.reply_requested = in.u8() != 0;
  } else {
    in.fail(fmt::format("unknown message kind '{}'", kind));
  }
  return m;
}

std::string standby_status_update(Lsn write, Lsn flush, Lsn apply, int64_t now_us, bool reply_requested) {
  std::string out(1, 'r');
  put_be(out, write.value(), 8);
  put_be(out, flush.value(), 8);
  put_be(out, apply.value(), 8);
  put_be(out, static_cast<uint64_t>(now_us), 8);
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

int64_t pg_clock_micros() {
  // PostgreSQL's epoch is 2000-01-01 00:00:00 UTC, 946684800 seconds after the Unix epoch.
  auto since_unix = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return since_unix.count() - int64_t{946'684'800} * 1'000'000;
}

void ReplicationConnection::start_logical_replication(const std::string& slot, Lsn start,
                                                      const std::vector<std::pair<std::string, std::string>>& options) {
  std::string list;
  for (const auto& [name, value] : options) {
    list += fmt::format("{}{} {}", list.empty() ? "" : ", ", quote_ident(name), quote_literal(value));
  }
  std::string sql = fmt::format("START_REPLICATION SLOT {} LOGICAL {}{}", quote_ident(slot), start.to_string(),
                                list.empty() ? "" : " (" + list + ")");
  Result r = conn_.exec_simple(sql);
  if (PQresultStatus(r.raw()) != PGRES_COPY_BOTH) {
    throw SqlError(conn_.endpoint(), "XX000",
                   fmt::format("START_REPLICATION did not start a stream ({})", PQresStatus(PQresultStatus(r.raw()))));
  }
}

std::optional<StreamMessage> ReplicationConnection::receive(util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_.raw(), &buf, 1);
    if (n > 0) {
      std::string data(buf, static_cast<size_t>(n));
      PQfreemem(buf);
      return parse_stream_message(data);
    }
    if (n == -2) throw SqlError(conn_.endpoint(), "08006", one_line(PQerrorMessage(conn_.raw())));
    if (n == -1) {
      // The server ended the stream: its error (if any) is in the result that follows.
      for (Result r = conn_.next_result("START_REPLICATION"); r.raw() != nullptr; r = conn_.next_result("START_REPLICATION")) {
      }
      throw SqlError(conn_.endpoint(), "08006", "the server ended the replication stream");
    }
    auto left = std::chrono::duration_cast<util::Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fd{PQsocket(conn_.raw()), POLLIN, 0};
    int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) return std::nullopt;
      throw SqlError(conn_.endpoint(), "08006", fmt::format("waiting for the replication stream: errno {}", errno));
    }
    if (ready > 0 && PQconsumeInput(conn_.raw()) != 1) {
      throw SqlError(conn_.endpoint(), "08006", one_line(PQerrorMessage(conn_.raw())));
    }
  }
}

void ReplicationConnection::send_status(Lsn write, Lsn flush, Lsn apply, bool reply_requested) {
  std::string msg = standby_status_update(write, flush, apply, pg_clock_micros(), reply_requested);
  if (PQputCopyData(conn_.raw(), msg.data(), static_cast<int>(msg.size())) != 1 || PQflush(conn_.raw()) != 0) {
    throw SqlError(conn_.endpoint(), "08006",
                   fmt::format("cannot send the standby status update: {}", one_line(PQerrorMessage(conn_.raw()))));
  }
}

int ReplicationConnection::backend_pid() const { return PQbackendPID(conn_.raw()); }

int ReplicationConnection::socket() const { return PQsocket(conn_.raw()); }

bool ReplicationConnection::still_open() {
  if (PQconsumeInput(conn_.raw()) != 1) return false;
  return PQstatus(conn_.raw()) == CONNECTION_OK;
}

}  // namespace pgshift::pg
