#include "pg/copy_stream.hpp"

#include <fmt/format.h>

#include <optional>

#include "pg/error.hpp"

namespace pgshift::pg {
namespace {

constexpr int64_t kReportEvery = 1 << 20;

// Reads every pending result; errors among them are expected (an aborted COPY) and dropped.
void discard_results(Connection& conn) {
  for (int guard = 0; guard < 16; ++guard) {
    try {
      if (conn.next_result("COPY (discarded)").raw() == nullptr) return;
    } catch (const SqlError&) {
    }
  }
}

// Ends the target's COPY with an error so the server discards it, then reads its results.
void abort_copy_in(Connection& to, const char* why) {
  if (PQputCopyEnd(to.raw(), why) != 1) return;
  discard_results(to);
}

// Reads the source's remaining COPY data and its results, so its connection is usable again.
void drain_copy_out(Connection& from) {
  char* buf = nullptr;
  while (PQgetCopyData(from.raw(), &buf, 0) > 0) PQfreemem(buf);
  discard_results(from);
}

}  // namespace

CopyTotals stream_copy(Connection& from, std::string_view copy_out_sql, Connection& to, std::string_view copy_in_sql,
                       const std::function<void(int64_t)>& on_bytes) {
  CopyTotals totals;
  Result in = to.exec(copy_in_sql);
  if (PQresultStatus(in.raw()) != PGRES_COPY_IN) {
    throw SqlError(to.endpoint(), "XX000", fmt::format("expected COPY FROM STDIN, got {}", PQresStatus(PQresultStatus(in.raw()))));
  }
  try {
    Result out = from.exec(copy_out_sql);
    if (PQresultStatus(out.raw()) != PGRES_COPY_OUT) {
      throw SqlError(from.endpoint(), "XX000", fmt::format("expected COPY TO STDOUT, got {}", PQresStatus(PQresultStatus(out.raw()))));
    }
  } catch (const std::exception&) {
    abort_copy_in(to, "source COPY failed to start");
    throw;
  }
  int64_t unreported = 0;
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(from.raw(), &buf, 0);
    if (n == -1) break;  // done: the result follows
    if (n < 0) {
      std::string why = one_line(PQerrorMessage(from.raw()));
      abort_copy_in(to, "source connection failed");
      throw SqlError(from.endpoint(), "08006", fmt::format("COPY TO STDOUT broke: {}", why));
    }
    int put = PQputCopyData(to.raw(), buf, n);
    PQfreemem(buf);
    if (put != 1) {
      std::string why = one_line(PQerrorMessage(to.raw()));
      drain_copy_out(from);
      // The server's own error (disk full, constraint) is in the result, when there is one.
      if (PQputCopyEnd(to.raw(), "pgshift: sending failed") == 1) {
        while (to.next_result("COPY FROM STDIN").raw() != nullptr) {
        }
      }
      discard_results(to);
      throw SqlError(to.endpoint(), "08006", fmt::format("COPY FROM STDIN broke: {}", why));
    }
    totals.bytes += n;
    unreported += n;
    if (on_bytes && unreported >= kReportEvery) {
      on_bytes(unreported);
      unreported = 0;
    }
  }
  try {
    while (from.next_result(copy_out_sql).raw() != nullptr) {
    }
  } catch (const SqlError&) {
    abort_copy_in(to, "source COPY failed");
    throw;
  }
  if (PQputCopyEnd(to.raw(), nullptr) != 1) {
    throw SqlError(to.endpoint(), "08006", fmt::format("COPY FROM STDIN could not end: {}", one_line(PQerrorMessage(to.raw()))));
  }
  // The server checks the data (and may fail: disk full, a constraint) when the COPY ends.
  while (true) {
    Result r = to.next_result(copy_in_sql);
    if (r.raw() == nullptr) break;
    totals.rows += r.affected_rows();
  }
  if (on_bytes && unreported > 0) on_bytes(unreported);
  return totals;
}

}  // namespace pgshift::pg
