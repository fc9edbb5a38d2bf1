// exec_pipelined(): send every statement and a Sync, then read the answers in order.
#include "query/pipeline.hpp"

#include <libpq-fe.h>

#include "pg/error.hpp"

namespace pgshift::query {
namespace {

// Leaves pipeline mode on every path: reads what is left of the pipeline (results of skipped
// statements, the separators, the Sync) first. A broken connection ends the reading.
class PipelineMode {
 public:
  explicit PipelineMode(PGconn* conn) : conn_(conn) {}
  ~PipelineMode() {
    if (!sync_sent_ && PQstatus(conn_) == CONNECTION_OK) PQpipelineSync(conn_);  // ends what was sent
    while (!synced_ && PQstatus(conn_) == CONNECTION_OK) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) {  // between two statements' results
        if (++separators_ > kMaxSeparators) break;
        continue;
      }
      synced_ = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
    }
    PQexitPipelineMode(conn_);
  }
  bool sync() { return sync_sent_ = PQpipelineSync(conn_) == 1; }
  void synced() { synced_ = true; }

 private:
  static constexpr int kMaxSeparators = 64;
  PGconn* conn_;
  bool sync_sent_ = false;
  bool synced_ = false;
  int separators_ = 0;
};

[[noreturn]] void broken(pg::Connection& conn, const char* what) {
  throw pg::SqlError(conn.endpoint(), "08006", std::string(what) + ": " + PQerrorMessage(conn.raw()));
}

}  // namespace

std::vector<pg::Result> exec_pipelined(pg::Connection& conn, const std::vector<Pipelined>& statements) {
  PGconn* c = conn.raw();
  if (PQenterPipelineMode(c) != 1) broken(conn, "could not enter pipeline mode");
  std::vector<pg::Result> results;
  PipelineMode mode(c);
  for (const Pipelined& s : statements) {
    std::vector<const char*> values;
    for (const pg::Param& p : s.params) values.push_back(p.value() ? p.value()->c_str() : nullptr);
    if (PQsendQueryParams(c, s.sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0) != 1) {
      broken(conn, "could not send a statement");
    }
  }
  if (!mode.sync()) broken(conn, "could not send the pipeline");
  for (const Pipelined& s : statements) {
    results.push_back(conn.next_result(s.sql));  // throws the statement's error
    if (conn.next_result(s.sql).raw() != nullptr) broken(conn, "a statement returned several results");
  }
  PGresult* sync = PQgetResult(c);
  const bool ok = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!ok) broken(conn, "the pipeline did not end with its Sync");
  mode.synced();
  return results;
}

pg::Result describe_unnamed(pg::Connection& conn, const std::string& sql) {
  PGconn* c = conn.raw();
  if (PQenterPipelineMode(c) != 1) broken(conn, "could not enter pipeline mode");
  PipelineMode mode(c);
  if (PQsendPrepare(c, "", sql.c_str(), 0, nullptr) != 1 || PQsendDescribePrepared(c, "") != 1) {
    broken(conn, "could not send a statement");
  }
  if (!mode.sync()) broken(conn, "could not send the pipeline");
  conn.next_result(sql);  // throws the statement's error (syntax, unknown column, ...)
  if (conn.next_result(sql).raw() != nullptr) broken(conn, "the prepare returned several results");
  pg::Result described = conn.next_result(sql);
  if (conn.next_result(sql).raw() != nullptr) broken(conn, "the describe returned several results");
  PGresult* sync = PQgetResult(c);
  const bool ok = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!ok) broken(conn, "the pipeline did not end with its Sync");
  mode.synced();
  return described;
}

}  // namespace pgshift::query
