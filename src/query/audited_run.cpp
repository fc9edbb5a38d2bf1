// Gate, lease, run, audit; see query/audited_run.hpp.
#include "query/audited_run.hpp"

#include <chrono>
#include <utility>

#include "pg/error.hpp"
#include "query/streamed_run.hpp"

namespace pgshift::query {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kBusySqlstate = "53300";  // too_many_connections

audit::Record base_record(const Caller& caller, std::string_view sql, const std::string& correlation_id) {
  audit::Record r;
  r.surface = caller.surface;
  r.identity = caller.identity;
  r.client_address = caller.client_address;
  r.session_id = caller.session_id;
  r.correlation_id = correlation_id;
  r.statement = std::string(sql);
  r.extra = caller.extra.is_object() ? caller.extra : nlohmann::json::object();
  return r;
}

void take_verdict(audit::Record& r, const sqlgate::Verdict& v) {
  r.normalized = v.normalized;
  r.fingerprint = v.fingerprint;
}

// Detaches the signal when the statement ends, however it ends.
struct Attached {
  CancelSignal* signal;
  Attached(CancelSignal* s, Pool::Lease& lease) : signal(s) {
    if (signal) signal->attach(&lease);
  }
  ~Attached() {
    if (signal) signal->detach();
  }
};

}  // namespace

long long result_bytes(const Result& result) {
  long long bytes = 0;
  for (const Row& row : result.rows) {
    for (const Value& v : row) bytes += v ? static_cast<long long>(v->size()) : 0;
  }
  return bytes;
}

namespace {

// run_audited() and run_audited_streamed(): with a sink, the rows and bytes are counted as they
// are handed over (into *streamed).
Result audited(Pool& pool, audit::Log& log, const Caller& caller, std::string_view sql, Options options,
               CancelSignal* cancel, const pg::Params& params, const BatchSink* sink, StreamedRun* streamed) {
  const std::string correlation_id = caller.correlation_id.empty() ? audit::new_correlation_id() : caller.correlation_id;
  audit::Record record = base_record(caller, sql, correlation_id);
  const auto start = Clock::now();
  auto finish = [&](audit::Outcome outcome) {
    record.outcome = outcome;
    record.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    log.write(record);
  };

  sqlgate::Verdict verdict = sqlgate::check(sql);
  take_verdict(record, verdict);
  if (!verdict.accepted) {
    record.rule = sqlgate::rule_name(verdict.rule);
    record.message = verdict.message();
    finish(audit::Outcome::rejected);
    throw Rejected(std::move(verdict));
  }
  options.application_name = audit::application_name(caller.surface, correlation_id);
  options.leave_to_pool = true;  // the lease's release rolls back and resets, after the caller has the result
  try {
    Pool::Lease lease = pool.acquire(caller.identity);
    Attached attached(cancel, lease);
    if (cancel && cancel->cancelled()) throw Cancelled("the statement was cancelled before it started");
    Result result;
    if (sink) {
      BatchSink counted = [&](Result& batch) {
        const bool go = (*sink)(batch);
        streamed->rows += static_cast<long long>(batch.rows.size());
        streamed->bytes += result_bytes(batch);
        return go;
      };
      result = run_checked_streamed(lease.conn(), sql, std::move(verdict), params, options, counted);
      record.rows = streamed->rows;
      record.bytes = streamed->bytes;
    } else {
      result = run_checked(lease.conn(), sql, std::move(verdict), params, options);
      record.rows = static_cast<long long>(result.rows.size());
      record.bytes = result_bytes(result);
    }
    record.truncated = result.truncated;
    finish(audit::Outcome::ok);
    return result;
  } catch (const Rejected& e) {
    record.rule = sqlgate::rule_name(e.verdict().rule);
    record.message = e.verdict().message();
    finish(audit::Outcome::rejected);
    throw;
  } catch (const Timeout& e) {
    record.message = e.what();
    finish(audit::Outcome::timeout);
    throw;
  } catch (const Cancelled& e) {
    record.message = e.what();
    finish(audit::Outcome::cancelled);
    throw;
  } catch (const PoolBusy& e) {
    record.sqlstate = std::string(kBusySqlstate);
    record.message = e.what();
    finish(audit::Outcome::error);
    throw;
  } catch (const pg::SqlError& e) {
    record.sqlstate = e.sqlstate();
    record.message = e.server_message();
    finish(audit::Outcome::error);
    throw;
  } catch (const std::exception& e) {
    record.message = e.what();
    finish(audit::Outcome::error);
    throw;
  }
}

}  // namespace

Result run_audited(Pool& pool, audit::Log& log, const Caller& caller, std::string_view sql, Options options,
                   CancelSignal* cancel, const pg::Params& params) {
  return audited(pool, log, caller, sql, std::move(options), cancel, params, nullptr, nullptr);
}

StreamedRun run_audited_streamed(Pool& pool, audit::Log& log, const Caller& caller, std::string_view sql,
                                 Options options, CancelSignal* cancel, const pg::Params& params,
                                 const BatchSink& sink) {
  StreamedRun out;
  out.result = audited(pool, log, caller, sql, std::move(options), cancel, params, &sink, &out);
  return out;
}

}  // namespace pgshift::query
