// Streamed downloads; see console/export_stream.hpp.
#include "console/export_stream.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "console/table_browser.hpp"
#include "query/format_budget.hpp"
#include "query/format_stream.hpp"
#include "query/streamed_run.hpp"
#include "util/utf8.hpp"

namespace pgshift::console {
namespace {

constexpr size_t kQueueBytes = 1 << 20;  // rendered text waiting for the client
constexpr size_t kRowsPerPiece = 200;

// What the worker and the response share.
struct Stream {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> pieces;
  size_t queued = 0;              // bytes in pieces
  bool worker_waiting = false;    // the worker waits for room in the queue
  bool finished = false;          // the worker is done (error set when it failed)
  bool stopped = false;           // the client went away: the worker stops
  std::exception_ptr error;
  query::Result summary;          // columns and truncation, when finished without error
  std::vector<query::CutValue> cuts;  // row indexes over the whole stream
  long long budget = 0;
  query::CancelSignal cancel;
  std::thread worker;

  // Queues a piece, waiting while the queue is full; false when the client went away.
  bool push(std::string_view piece) {
    std::unique_lock lock(mutex);
    worker_waiting = true;
    changed.notify_all();
    changed.wait(lock, [&] { return stopped || queued < kQueueBytes; });
    worker_waiting = false;
    if (stopped) return false;
    pieces.emplace_back(piece);
    queued += piece.size();
    changed.notify_all();
    return true;
  }
  void finish(std::exception_ptr e, query::Result r) {
    std::lock_guard lock(mutex);
    error = e;
    summary = std::move(r);
    finished = true;
    changed.notify_all();
  }
};

void run_worker(const std::shared_ptr<Stream>& s, query::Pool& pool, audit::Log& log, const ExportJob& job) {
  try {
    query::StreamRenderer renderer(job.format);
    auto push = [&s](std::string_view piece) { return s->push(piece); };
    long long used = 0;  // value bytes written so far
    size_t rows = 0;
    const pg::Params params(job.params.begin(), job.params.end());
    query::StreamedRun run = query::run_audited_streamed(
        pool, log, job.caller, job.sql, job.options, &s->cancel, params, [&](query::Result& batch) {
          std::vector<query::CutValue> cuts = query::fit_to_budget(batch, job.options.max_bytes - used);
          if (!cuts.empty()) {
            std::lock_guard lock(s->mutex);
            for (query::CutValue c : cuts) {
              c.row += rows;
              s->cuts.push_back(c);
            }
          }
          used += query::result_bytes(batch);
          rows += batch.rows.size();
          return renderer.batch(batch, kRowsPerPiece, push);
        });
    if (!renderer.finish(run.result.columns, push)) throw query::Cancelled("the client stopped reading");
    s->finish(nullptr, std::move(run.result));
  } catch (...) {
    s->finish(std::current_exception(), {});
  }
}

// Ends the worker: tells it the client is gone (cancelling a running statement) and joins it.
void stop(const std::shared_ptr<Stream>& s) {
  {
    std::lock_guard lock(s->mutex);
    s->stopped = true;
    s->changed.notify_all();
  }
  s->cancel.cancel();
  if (s->worker.joinable()) s->worker.join();
}

}  // namespace

std::optional<query::Format> export_format(const http::Request& req) {
  if (!req.has_param("format")) return std::nullopt;
  const std::string f = req.param("format");
  if (f != "csv" && f != "json" && f != "markdown") {
    throw BadParameter("format", fmt::format("'{}' is not csv, json or markdown", util::sanitize_utf8(f.substr(0, 40))));
  }
  return query::parse_format(f, "format");
}

void send_export(httplib::Response& res, query::Pool& pool, audit::Log& log, ExportJob job,
                 const std::function<void(httplib::Response&, std::exception_ptr)>& on_failure) {
  auto s = std::make_shared<Stream>();
  s->budget = job.options.max_bytes;
  const query::Format format = job.format;
  const std::string file_name = job.file_name;
  s->worker = std::thread([s, &pool, &log, job = std::move(job)] { run_worker(s, pool, log, job); });
  {
    std::unique_lock lock(s->mutex);
    s->changed.wait(lock, [&] { return s->finished || (s->worker_waiting && s->queued >= kQueueBytes); });
    if (s->finished && s->error) {
      lock.unlock();
      s->worker.join();
      on_failure(res, s->error);
      return;
    }
    if (s->finished) {
      const query::Result& r = s->summary;
      if (r.truncated) res.set_header("X-Pgshift-Truncated", r.truncated_by == query::Truncation::limit ? "limit" : "bytes");
      if (!s->cuts.empty()) res.set_header("X-Pgshift-Cut-Values", query::describe_cuts(s->cuts, s->budget));
    }
  }
  static const std::map<query::Format, std::pair<const char*, const char*>> kTypes = {
      {query::Format::csv, {"text/csv; charset=utf-8", "csv"}},
      {query::Format::json, {"application/json; charset=utf-8", "json"}},
      {query::Format::markdown, {"text/markdown; charset=utf-8", "md"}}};
  const auto& [type, ext] = kTypes.at(format);
  res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}.{}\"", file_name, ext));
  res.set_chunked_content_provider(
      type,
      [s](size_t, httplib::DataSink& sink) {
        std::string piece;
        {
          std::unique_lock lock(s->mutex);
          s->changed.wait(lock, [&] { return !s->pieces.empty() || s->finished; });
          if (s->pieces.empty()) {
            if (s->error) return false;  // cut short: no last chunk, the connection closes
            sink.done();
            return true;
          }
          piece = std::move(s->pieces.front());
          s->pieces.pop_front();
          s->queued -= piece.size();
          s->changed.notify_all();
        }
        return sink.write(piece.data(), piece.size());  // false: the client went away
      },
      [s](bool) { stop(s); });
}

}  // namespace pgshift::console
