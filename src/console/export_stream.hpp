// The console's downloads (the SQL tab's ?format=, the table browser's export): one statement's
// rows as csv, json or markdown, streamed to the client while the engine fetches them, through
// the one path every statement takes (query::run_audited_streamed: gate, READ ONLY engine,
// audit line), within the statement's row limit and byte budget (Options::limit, max_bytes;
// values cut by query::fit_to_budget as on the SQL tab).
//
// A worker thread runs the statement and renders its batches into a queue of at most 1 MiB; the
// response's content provider writes the queue out. So the console holds one batch and one
// MiB of text per download, whatever its length, and a slow client slows the fetching. The
// response's status and headers wait until the statement ended or the queue is full:
//   - it failed before that: on_failure answers (400, 422, 503, ... as for the SQL tab);
//   - it ended: 200 with X-Pgshift-Truncated: limit|bytes and X-Pgshift-Cut-Values when so;
//   - the queue filled first: 200 without them (the end is not known yet); a later failure (the
//     statement timeout, a lost connection) ends the response without its last chunk, so the
//     client sees an incomplete download, never a complete-looking short one.
// A client that stops reading cancels the statement (audited as cancelled).
#pragma once

#include <httplib.h>

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "http/server.hpp"
#include "query/audited_run.hpp"
#include "query/format.hpp"
#include "query/pool.hpp"

namespace pgshift::console {

struct ExportJob {
  std::string sql;
  std::vector<std::string> params;  // $1..$n
  query::Options options;           // limit and max_bytes in force
  query::Format format = query::Format::csv;
  query::Caller caller;
  std::string file_name;            // Content-Disposition's, without the extension
};

// The ?format= of a download: csv, json or markdown; nullopt when absent. Throws BadParameter
// naming `format` otherwise.
std::optional<query::Format> export_format(const http::Request& req);

// Runs the job and answers (see above). on_failure(res, error) writes the answer to a failure
// that came before the first byte; it runs on the request's thread.
void send_export(httplib::Response& res, query::Pool& pool, audit::Log& log, ExportJob job,
                 const std::function<void(httplib::Response&, std::exception_ptr)>& on_failure);

}  // namespace pgshift::console
