// libpq pipeline mode for pgshift's apply (see apply_pipeline.hpp).
#include "logical/apply_pipeline.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pg/error.hpp"

namespace pgshift::logical::detail {
namespace {

pg::SqlError error_of(const pg::Connection& conn, const PGresult* res) {
  auto field = [&](int code) {
    const char* v = PQresultErrorField(res, code);
    return std::string(v ? v : "");
  };
  return pg::SqlError(conn.endpoint(), field(PG_DIAG_SQLSTATE), field(PG_DIAG_MESSAGE_PRIMARY),
                      field(PG_DIAG_MESSAGE_DETAIL), field(PG_DIAG_MESSAGE_HINT));
}

}  // namespace

ApplyPipeline::~ApplyPipeline() {
  if (open_) abort();
}

void ApplyPipeline::fail(std::string_view what) {
  throw pg::SqlError(conn_.endpoint(), "08006", fmt::format("{}: {}", what, pg::one_line(PQerrorMessage(conn_.raw()))));
}

void ApplyPipeline::begin() {
  if (PQenterPipelineMode(conn_.raw()) != 1) fail("cannot enter pipeline mode");
  open_ = true;
  send_plain("BEGIN");
}

void ApplyPipeline::send_plain(const char* sql) {
  if (PQsendQueryParams(conn_.raw(), sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) fail(sql);
  queued_.push_back({});
}

void ApplyPipeline::send(const ApplyStatement& s, size_t tag, bool must_find_row) {
  auto [it, added] = names_.try_emplace(s.sql, "");
  if (added) {
    it->second = fmt::format("pgshift_apply_{}", names_.size());
    if (PQsendPrepare(conn_.raw(), it->second.c_str(), s.sql.c_str(), static_cast<int>(s.params.size()), nullptr) != 1) {
      names_.erase(it);
      fail("cannot queue a statement");
    }
    queued_.push_back({tag, false});  // a PREPARE fails for the statement (say, a missing column)
  }
  std::vector<const char*> values;
  values.reserve(s.params.size());
  for (const auto& p : s.params) values.push_back(p.value() ? p.value()->c_str() : nullptr);
  if (PQsendQueryPrepared(conn_.raw(), it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                          nullptr, 0) != 1) {
    fail("cannot queue a statement");
  }
  queued_.push_back({tag, must_find_row});
}

void ApplyPipeline::add(const ApplyStatement& s, size_t tag, bool must_find_row) { send(s, tag, must_find_row); }

void ApplyPipeline::check() {
  if (queued_.empty()) return;
  if (PQpipelineSync(conn_.raw()) != 1) fail("cannot send the pipeline");
  std::optional<PipelineFailure> failure;
  for (const Queued& q : queued_) {
    // Each queued command yields its result, then NULL.
    bool first = true;
    while (PGresult* res = PQgetResult(conn_.raw())) {
      pg::Result owned(res);
      if (!first) continue;
      first = false;
      ExecStatusType status = PQresultStatus(res);
      if (failure) continue;  // the rest are PGRES_PIPELINE_ABORTED
      if (status == PGRES_FATAL_ERROR) {
        failure = PipelineFailure{q.tag, error_of(conn_, res)};
      } else if (q.must_find_row && owned.affected_rows() == 0) {
        failure = PipelineFailure{q.tag, std::nullopt};
      }
    }
    if (first) fail("a result is missing (the connection broke?)");
  }
  queued_.clear();
  // The sync point's own result.
  pg::Result sync(PQgetResult(conn_.raw()));
  if (sync.raw() == nullptr || PQresultStatus(sync.raw()) != PGRES_PIPELINE_SYNC) fail("the pipeline lost its sync point");
  if (failure) throw *failure;
}

void ApplyPipeline::commit(const ApplyStatement& last) {
  check();  // a statement that found no row must stop the transaction before COMMIT is sent
  send(last, PipelineFailure::kNoTag, false);
  send_plain("COMMIT");
  check();
  if (PQexitPipelineMode(conn_.raw()) != 1) fail("cannot leave pipeline mode");
  open_ = false;
}

void ApplyPipeline::abort() {
  if (!open_) return;
  open_ = false;
  if (!queued_.empty()) {
    // Read every result up to a sync point, so the connection can leave pipeline mode.
    queued_.clear();
    if (PQpipelineSync(conn_.raw()) == 1) {
      while (PQstatus(conn_.raw()) == CONNECTION_OK) {
        PGresult* res = PQgetResult(conn_.raw());
        if (res == nullptr) continue;  // between two commands' results
        bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync) break;
      }
    }
  }
  if (PQexitPipelineMode(conn_.raw()) != 1) {
    spdlog::debug("apply-back: cannot leave pipeline mode: {}", pg::one_line(PQerrorMessage(conn_.raw())));
    return;
  }
  try {
    conn_.exec("ROLLBACK");
  } catch (const std::exception& e) {
    spdlog::debug("apply-back: rollback after an error failed: {}", e.what());
  }
}

}  // namespace pgshift::logical::detail
