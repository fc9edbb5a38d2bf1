// One statement whose rows are handed over batch by batch as the engine fetches them, for
// downloads of any length in bounded memory (the console's exports). The same gate, engine and
// audit as query::run_checked() / run_audited() (query/query.hpp, query/audited_run.hpp): only
// where the rows go differs.
//
// The sink is called with each batch of rows (at most the engine's FETCH size, 10,000 rows) in
// order: batch.columns are the statement's columns with their type names, batch.rows the rows of
// this batch only, batch.server_cuts the values cut on the server in them (row indexes within
// the batch). The sink may cut the batch further (query::fit_to_budget). The rows are dropped
// after the call. A sink that returns false stops the statement: it is rolled back and the run
// throws Cancelled (audited as cancelled). The limit and the byte budget (Options::max_bytes,
// counted over the whole stream) hold as for run(); the returned Result has no rows, and its
// truncated / truncated_by say whether the stream stopped at one of them.
#pragma once

#include <functional>
#include <string_view>

#include "query/audited_run.hpp"
#include "query/query.hpp"

namespace pgshift::query {

using BatchSink = std::function<bool(Result& batch)>;

Result run_checked_streamed(pg::Connection& conn, std::string_view sql, sqlgate::Verdict verdict,
                            const pg::Params& params, const Options& options, const BatchSink& sink);

struct StreamedRun {
  Result result;        // no rows: columns, truncation, elapsed
  long long rows = 0;   // rows the sink kept
  long long bytes = 0;  // their value bytes
};

// run_audited() with a sink: gate, lease, engine, one audit record (rows and bytes as handed over).
StreamedRun run_audited_streamed(Pool& pool, audit::Log& log, const Caller& caller, std::string_view sql,
                                 Options options, CancelSignal* cancel, const pg::Params& params,
                                 const BatchSink& sink);

}  // namespace pgshift::query
