// Streams one COPY from a server to another through libpq's COPY API: `COPY ... TO STDOUT` on
// `from`, each chunk handed straight to `COPY ... FROM STDIN` on `to`. No temporary file; what is
// in flight is one chunk (a row, for the server sends one CopyData message per row) plus libpq's
// output buffer, which PQputCopyData flushes in blocking mode.
//
// Contract: both connections are idle (or inside a transaction the caller opened) when it is
// called and idle again when it returns. When the source fails mid-stream the target COPY is
// ended with an error (nothing of it is applied) and the source's SqlError is thrown; when the
// target fails, the source COPY is drained (so the connection stays usable) and the target's
// SqlError is thrown. Both statements are fixed text built by the caller with quoted
// identifiers (pg/quote); COPY takes no bound parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "pg/connection.hpp"

namespace pgshift::pg {

struct CopyTotals {
  int64_t bytes = 0;  // COPY data bytes moved
  int64_t rows = 0;   // rows the target's COPY reported
};

// on_bytes (may be empty) is called now and then (about every MiB) with the bytes moved since
// the previous call, from the calling thread.
CopyTotals stream_copy(Connection& from, std::string_view copy_out_sql, Connection& to,
                       std::string_view copy_in_sql, const std::function<void(int64_t)>& on_bytes = {});

}  // namespace pgshift::pg
