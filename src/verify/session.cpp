#include "verify/session.hpp"

namespace pgshift::verify {
namespace {

// One statement, values as parameters. row_security off: a read that a row-level security
// policy would filter fails instead (SQLSTATE 42501), so both sides are never compared through
// the same filter. set_config(..., false) lasts for the session. jit is
// off: compiling a chunk query's expressions costs more than running them.
constexpr std::string_view kPinSettingsSql = R"sql(
SELECT set_config('TimeZone', $1, false), set_config('DateStyle', $2, false),
       set_config('IntervalStyle', $3, false), set_config('extra_float_digits', $4, false),
       set_config('bytea_output', $5, false), set_config('client_encoding', $6, false),
       set_config('lc_monetary', $7, false), set_config('search_path', $8, false),
       set_config('default_transaction_read_only', $9, false), set_config('jit', $10, false),
       set_config('max_parallel_workers_per_gather', $11, false), set_config('row_security', $12, false)
)sql";

// A chunk of a key range is read with a bitmap heap scan: pages in physical order, every row of
// a page at once, like a sequential scan (an index scan costs about a quarter more CPU per row,
// measured), and never the whole table for one chunk.
constexpr std::string_view kRangeAccessSql =
    "SELECT set_config('enable_seqscan', $1, false), set_config('enable_indexscan', $1, false)";

}  // namespace

pg::Connection open_session(const pg::ConnInfo& info, const std::string& role) {
  pg::ConnectOptions options = pg::default_connect_options();
  options.role = role;
  pg::Connection conn = pg::Connection::open(info, options);
  conn.exec(kPinSettingsSql, {"UTC", "ISO, YMD", "postgres", "3", "hex", "UTF8", "C", "pg_catalog", "on", "off", "0", "off"});
  return conn;
}

pg::Result Session::run(const Query& q) {
  if (q.index_range != ranged_) {
    conn_.exec(kRangeAccessSql, {q.index_range ? "off" : "on"});
    ranged_ = q.index_range;
  }
  return conn_.exec(q.sql, q.params);
}

bool Pair::is_ok() const {
  return source.conn().is_ok() && target.conn().is_ok();
}

Pair open_pair(const pg::ConnInfo& source, const pg::ConnInfo& target) {
  return Pair{Session(open_session(source, "source")), Session(open_session(target, "target"))};
}

}  // namespace pgshift::verify
