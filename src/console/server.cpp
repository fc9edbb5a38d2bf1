// The console's routes; see console/server.hpp.
#include "console/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "catalog/describe.hpp"
#include "console/explain_json.hpp"
#include "console/export_stream.hpp"
#include "console/history_routes.hpp"
#include "console/pages.hpp"
#include "console/table_browser.hpp"
#include "console/table_export.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "query/audited_run.hpp"
#include "query/format.hpp"
#include "query/format_budget.hpp"
#include "query/read_only_transaction.hpp"
#include "stats/settings.hpp"
#include "util/redact.hpp"
#include "util/utf8.hpp"

namespace pgshift::console {
namespace {

using json = nlohmann::json;
using http::Method;

constexpr std::string_view kSessionCookie = "pgshift_session";
constexpr const char* kHtml = "text/html; charset=utf-8";
// Value bytes the SQL tab puts on its page; a larger value is cut there (an export has the
// statement's whole budget).
constexpr long long kPageBytes = 4LL << 20;

using Diagnostic = std::function<stats::Report(pg::Connection&, const stats::Options&)>;

// What a tab runs for one request: its parameters validated (a bad one throws BadParameter
// naming it), the diagnostic, the cache key of that variant and what the page needs to know
// about the parameters (merged into the report's JSON).
struct Plan {
  std::string key;
  Diagnostic run;
  json extra = json::object();
};

struct Tab {
  std::string id;    // active_tab and the /api/<id> name
  std::string path;  // page path
  std::function<Plan(const http::Request&)> plan;
};

// A tab without parameters.
std::function<Plan(const http::Request&)> fixed(Diagnostic run) {
  return [run = std::move(run)](const http::Request&) { return Plan{"", run}; };
}

constexpr int kQueriesShown = 100;
// Tables the Tables tab's finder loads (filtered in the browser).
constexpr int kTableListLimit = 10'000;

// /queries?sort=KEY&dir=asc|desc: KEY one of stats::kQueryOrders' names.
Plan queries_plan(const http::Request& req) {
  stats::QueryOrder order = stats::QueryOrder::total_time;
  if (req.has_param("sort") && !req.param("sort").empty()) {
    const std::string sort = req.param("sort");
    bool known = false;
    for (stats::QueryOrder o : stats::kQueryOrders) {
      if (sort == stats::query_order_name(o)) {
        order = o;
        known = true;
      }
    }
    if (!known) throw BadParameter("sort", fmt::format("'{}' is not one of {}", util::sanitize_utf8(sort), stats::query_order_names()));
  }
  bool ascending = false;
  if (req.has_param("dir") && !req.param("dir").empty()) {
    const std::string dir = req.param("dir");
    if (dir != "asc" && dir != "desc") throw BadParameter("dir", "asc or desc");
    ascending = dir == "asc";
  }
  json columns = json::object();
  for (stats::QueryOrder o : stats::kQueryOrders) columns[stats::query_order_column(o)] = stats::query_order_name(o);
  Plan p;
  p.key = fmt::format("{}:{}", stats::query_order_name(order), ascending ? "asc" : "desc");
  p.run = [order, ascending](pg::Connection& c, const stats::Options& o) {
    return stats::top_queries(c, order, kQueriesShown, o, ascending);
  };
  p.extra["sort"] = {{"section", "queries"},
                     {"path", "/queries"},
                     {"key", stats::query_order_name(order)},
                     {"dir", ascending ? "asc" : "desc"},
                     {"columns", columns}};
  return p;
}

// The statement could not run as asked: what the client gets.
struct Failure {
  int status = 500;
  json body;
  int retry_after = 0;
};

class Console {
 public:
  Console(http::Server& server, query::Pool& pool, audit::Log& log, const ConsoleOptions& options)
      : server_(server), pool_(pool), log_(log), options_(options),
        own_history_(options.history ? nullptr : std::make_unique<History>()),
        history_(options.history ? *options.history : *own_history_) {}

  void install();

 private:
  PageContext context(const http::Request& req, const std::string& tab) const {
    return PageContext{server_.config().base_path, req.identity, tab, options_.database_label};
  }
  std::string session(const http::Request& req, httplib::Response& res) const;
  query::Caller caller(const http::Request& req, httplib::Response& res) const;
  json report(const Tab& tab, const http::Request& req);
  json browse(const http::Request& req, httplib::Response& res);
  json structure(const http::Request& req);
  json table_list(const http::Request& req);
  json exact_count(const http::Request& req, httplib::Response& res);
  void sql(const http::Request& req, httplib::Response& res);
  void table_export(const http::Request& req, httplib::Response& res);
  Failure failure(std::exception_ptr error, const std::string& correlation_id) const;
  void send_failure_json(httplib::Response& res, const Failure& f) const;
  void send_failure_page(const http::Request& req, httplib::Response& res, const std::string& tab,
                         const Failure& f) const;
  void install_metrics();
  TableShape shape(const http::Request& req, const std::string& schema, const std::string& table);

  template <class T>
  struct Cached {
    std::chrono::steady_clock::time_point at;
    T value;
  };
  std::mutex cache_mutex_;
  std::map<std::string, Cached<json>> reports_;
  std::map<std::pair<std::string, std::string>, Cached<TableShape>> shapes_;

  http::Server& server_;
  query::Pool& pool_;
  audit::Log& log_;
  const ConsoleOptions& options_;
  std::unique_ptr<History> own_history_;
  History& history_;
  std::vector<Tab> tabs_;
};

std::string cookie_value(const std::string& header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    part.erase(0, part.find_first_not_of(' '));
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
    pos = end + 1;
  }
  return "";
}

bool is_session_id(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

json result_body(const query::Result& r, const std::string& correlation_id) {
  json columns = json::array();
  for (const auto& c : r.columns) columns.push_back({{"name", util::sanitize_utf8(c.name)}, {"type", c.type_name}});
  json rows = json::array();
  for (const auto& row : r.rows) {
    json out = json::array();
    for (const auto& v : row) out.push_back(v ? json(util::sanitize_utf8(*v)) : json());
    rows.push_back(std::move(out));
  }
  const char* by = r.truncated_by == query::Truncation::limit ? "limit"
                   : r.truncated_by == query::Truncation::bytes ? "bytes"
                                                                : nullptr;
  return {{"columns", columns},
          {"rows", rows},
          {"truncated", r.truncated},
          {"truncated_by", by ? json(by) : json()},
          {"limit", r.limit},
          {"row_count", r.rows.size()},
          {"elapsed_ms", r.elapsed.count()},
          {"kind", sqlgate::kind_name(r.verdict.kind)},
          {"fingerprint", r.verdict.fingerprint},
          {"correlation_id", correlation_id}};
}

}  // namespace

std::string Console::session(const http::Request& req, httplib::Response& res) const {
  std::string id = cookie_value(req.header("Cookie"), kSessionCookie);
  if (is_session_id(id)) return id;
  id = audit::new_session_id();
  std::string path = server_.config().base_path.empty() ? "/" : server_.config().base_path;
  res.set_header("Set-Cookie", fmt::format("{}={}; Path={}; HttpOnly; SameSite=Strict", kSessionCookie, id, path));
  return id;
}

query::Caller Console::caller(const http::Request& req, httplib::Response& res) const {
  query::Caller who;
  who.surface = "console";
  who.identity = req.identity;
  who.client_address = req.peer;
  who.session_id = session(req, res);
  who.correlation_id = audit::new_correlation_id();
  who.extra = {{"route", req.route}};
  res.set_header("X-Pgshift-Correlation-Id", who.correlation_id);
  return who;
}

Failure Console::failure(std::exception_ptr error, const std::string& correlation_id) const {
  Failure f;
  auto with_id = [&](json e) {
    if (!correlation_id.empty()) e["correlation_id"] = correlation_id;
    return json{{"error", e}};
  };
  try {
    std::rethrow_exception(error);
  } catch (const query::Rejected& e) {
    const auto& v = e.verdict();
    f.status = 400;
    f.body = with_id({{"rule", sqlgate::rule_name(v.rule)}, {"message", util::redact(v.reason)}, {"position", v.position}});
  } catch (const BadParameter& e) {
    f.status = 400;
    f.body = with_id({{"parameter", e.parameter()}, {"message", e.what()}});
  } catch (const UnknownTable& e) {
    f.status = 404;
    f.body = with_id({{"message", e.what()}});
  } catch (const query::Timeout& e) {
    // Not 408: a browser resends a POST answered 408 on its own, and the statement would run
    // again. 422 is retried by no client, proxy or mesh.
    f.status = 422;
    f.body = with_id({{"sqlstate", "57014"}, {"timed_out", true}, {"message", util::redact(e.what())}});
  } catch (const query::Cancelled& e) {
    f.status = 422;
    f.body = with_id({{"sqlstate", "57014"}, {"cancelled", true}, {"message", util::redact(e.what())}});
  } catch (const query::PoolBusy& e) {
    f.status = 503;
    f.retry_after = e.retry_after_seconds();
    f.body = with_id({{"message", e.what()}});
  } catch (const pg::ConnectError& e) {
    f.status = 503;
    f.retry_after = 5;
    f.body = with_id({{"message", util::redact(e.what())}});
  } catch (const query::ConnectionLost& e) {
    f.status = 503;
    f.retry_after = 1;
    f.body = with_id({{"message", util::redact(e.what())}});
  } catch (const pg::SqlError& e) {
    f.status = 422;
    json err = {{"sqlstate", e.sqlstate()}, {"message", util::redact(e.server_message())}};
    if (!e.detail().empty()) err["detail"] = util::redact(e.detail());
    if (!e.hint().empty()) err["hint"] = util::redact(e.hint());
    if (e.position() > 0) err["position"] = e.position();  // in the user's text (query::run moves it there)
    f.body = with_id(err);
  } catch (const UsageError& e) {
    f.status = 400;
    f.body = with_id({{"message", util::redact(e.what())}});
  } catch (const std::exception& e) {
    spdlog::error("console: {}", util::redact(e.what()));
    f.status = 500;
    f.body = with_id({{"message", "internal error (see the server log)"}});
  }
  return f;
}

void Console::send_failure_json(httplib::Response& res, const Failure& f) const {
  if (f.retry_after > 0) res.set_header("Retry-After", std::to_string(f.retry_after));
  http::send_json(res, f.status, f.body);
}

void Console::send_failure_page(const http::Request& req, httplib::Response& res, const std::string& tab,
                                const Failure& f) const {
  if (f.retry_after > 0) res.set_header("Retry-After", std::to_string(f.retry_after));
  res.status = f.status;
  std::string message = f.body["error"].value("message", std::string("error"));
  res.set_content(render_error_page(context(req, tab), f.status, message), kHtml);
}

json Console::report(const Tab& tab, const http::Request& req) {
  query::Pool& pool = (tab.id == "migration" && options_.journal_pool) ? *options_.journal_pool : pool_;
  const Plan plan = tab.plan(req);
  const std::string key = tab.id + "?" + plan.key;
  json out;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mutex_);
    auto it = reports_.find(key);
    if (it != reports_.end() && now - it->second.at < options_.report_cache) out = it->second.value;
  }
  if (out.is_null()) {
    query::Pool::Lease lease = pool.acquire(req.identity);
    out = plan.run(lease.conn(), options_.stats).to_json();
    out.update(plan.extra);
    std::lock_guard lock(cache_mutex_);
    reports_[key] = {now, out};
  }
  if (tab.id == "backups") {
    if (options_.backup_inventory) {
      // The inventory is a stats::Report of its own (backup::inventory_report): its facts,
      // sections (windows, base backups) and findings join the archiver's report.
      json inventory = options_.backup_inventory();
      for (const char* part : {"facts", "sections", "findings"}) {
        if (inventory.contains(part) && inventory[part].is_array()) {
          for (const auto& item : inventory[part]) out[part].push_back(item);
        }
      }
      out["backup_source"] = true;
    } else {
      out["backup_source"] = false;
      out["backup_source_message"] = "no backup source configured";
    }
  }
  return out;
}

TableShape Console::shape(const http::Request& req, const std::string& schema, const std::string& table) {
  const auto key = std::make_pair(schema, table);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mutex_);
    auto it = shapes_.find(key);
    if (it != shapes_.end() && now - it->second.at < options_.shape_cache) return it->second.value;
  }
  TableShape out;
  {
    query::Pool::Lease lease = pool_.acquire(req.identity);
    out = read_shape(lease.conn(), schema, table);  // an unknown table is not cached
  }
  std::lock_guard lock(cache_mutex_);
  if (shapes_.size() > 1000) shapes_.clear();
  shapes_[key] = {now, out};
  return out;
}

namespace {

// schema and table from the undecoded request path: each is one percent-encoded segment, so a
// name holding '/' (sent as %2F) still splits right. nullopt unless exactly two segments follow
// (before `suffix`, which the path must end with).
std::optional<std::pair<std::string, std::string>> table_segments(const http::Request& req,
                                                                  std::string_view suffix = "") {
  std::string path = req.raw.target.substr(0, req.raw.target.find('?'));
  if (!path.ends_with(suffix)) return std::nullopt;
  path.resize(path.size() - suffix.size());
  size_t at = path.rfind("/tables/");
  if (at == std::string::npos) return std::nullopt;
  std::string rest = path.substr(at + 8);
  size_t slash = rest.find('/');
  if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) return std::nullopt;
  std::string schema = httplib::detail::decode_url(rest.substr(0, slash), false);
  std::string table = httplib::detail::decode_url(rest.substr(slash + 1), false);
  if (schema.empty() || table.empty()) return std::nullopt;
  return std::make_pair(schema, table);
}

}  // namespace

json Console::browse(const http::Request& req, httplib::Response& res) {
  auto names = table_segments(req);
  if (!names) throw UnknownTable("a table is addressed as /tables/{schema}/{name}");
  const auto& [schema, table] = *names;
  TableShape shape = this->shape(req, schema, table);
  BrowseQuery q = build_query(shape, browse_request(req), options_.page_size);

  query::Caller who = caller(req, res);
  json filters = json::array();
  for (const auto& f : q.filters) filters.push_back({{"column", f.column}, {"op", f.op}, {"value", f.value}});
  who.extra["table"] = schema + "." + table;
  who.extra["filters"] = filters;
  query::Options o = options_.statement_defaults;
  o.limit = options_.page_size;
  o.timeout = options_.timeout;
  pg::Params params(q.params.begin(), q.params.end());
  query::CancelSignal cancel;
  auto guard = req.on_disconnect([&cancel] { cancel.cancel(); });
  query::Result r;
  try {
    r = query::run_audited(pool_, log_, who, q.sql, o, &cancel, params);
  } catch (const pg::SqlError&) {
    std::rethrow_exception(blame_parameter(std::current_exception(), q));
  }
  json columns = json::array();
  for (const auto& c : shape.columns) columns.push_back({{"name", c.name}, {"type", c.type}, {"primary_key", c.primary_key}});
  json rows = result_body(r, who.correlation_id)["rows"];
  // The Next link of a keyset page: after this page's last key.
  json next_after = nullptr;
  if (q.keyset && r.truncated && !r.rows.empty()) {
    for (size_t i = 0; i < shape.columns.size() && i < r.rows.back().size(); ++i) {
      if (shape.columns[i].name == shape.primary_key.front() && r.rows.back()[i]) next_after = *r.rows.back()[i];
    }
  }
  return {{"schema", schema},
          {"table", table},
          {"columns", columns},
          {"rows", rows},
          {"page", q.page},
          {"page_size", options_.page_size},
          {"has_next", r.truncated},
          {"next_after", next_after},
          {"keyset", q.keyset},
          {"sort", q.sort_column ? json{{"column", *q.sort_column}, {"dir", q.dir}} : json()},
          {"filters", filters},
          {"export_limit", options_.export_row_limit},
          {"elapsed_ms", r.elapsed.count()},
          {"correlation_id", who.correlation_id}};
}

void Console::table_export(const http::Request& req, httplib::Response& res) {
  try {
    auto names = table_segments(req, "/export");
    if (!names) throw UnknownTable("a table's export is addressed as /api/tables/{schema}/{name}/export");
    TableShape shape = this->shape(req, names->first, names->second);
    query::Options o = options_.statement_defaults;
    o.timeout = options_.timeout;
    auto e = std::make_shared<TableExport>(console::table_export(shape, req, caller(req, res), o, options_.export_row_limit));
    const std::string id = e->job.caller.correlation_id;
    send_export(res, pool_, log_, e->job, [this, e, id](httplib::Response& r, std::exception_ptr error) {
      send_failure_json(r, failure(blame_parameter(error, e->query), id));
    });
  } catch (...) {
    send_failure_json(res, failure(std::current_exception(), res.get_header_value("X-Pgshift-Correlation-Id")));
  }
}

json Console::structure(const http::Request& req) {
  auto names = table_segments(req, "/structure");
  if (!names) throw UnknownTable("a table's structure is addressed as /tables/{schema}/{name}/structure");
  const auto& [schema, table] = *names;
  std::optional<json> doc;
  {
    query::Pool::Lease lease = pool_.acquire(req.identity);
    query::Options o = options_.statement_defaults;
    o.timeout = options_.timeout;
    query::ReadOnlyTransaction tx(lease.conn(), o);
    doc = catalog::describe_table(lease.conn(), schema, table);
    tx.finish();
  }
  if (!doc) throw UnknownTable(fmt::format("no table {} that this role can read", pg::display_name(schema, table)));
  return *doc;
}

json Console::table_list(const http::Request& req) {
  bool more = false;
  json tables;
  {
    query::Pool::Lease lease = pool_.acquire(req.identity);
    query::Options o = options_.statement_defaults;
    o.timeout = options_.timeout;
    query::ReadOnlyTransaction tx(lease.conn(), o);
    tables = catalog::list_tables(lease.conn(), std::nullopt, kTableListLimit, more);
    tx.finish();
  }
  return {{"tables", std::move(tables)}, {"truncated", more}, {"limit", kTableListLimit}};
}

json Console::exact_count(const http::Request& req, httplib::Response& res) {
  auto names = table_segments(req, "/count");
  if (!names) throw UnknownTable("a table's row count is addressed as /api/tables/{schema}/{name}/count");
  const auto& [schema, table] = *names;
  this->shape(req, schema, table);  // a table this role can read, or 404
  query::Caller who = caller(req, res);
  who.extra["table"] = schema + "." + table;
  query::Options o = options_.statement_defaults;
  o.limit = 1;
  o.timeout = options_.timeout;
  query::CancelSignal cancel;
  auto guard = req.on_disconnect([&cancel] { cancel.cancel(); });
  query::Result r = query::run_audited(pool_, log_, who, "SELECT count(*) FROM " + pg::qualified_name(schema, table), o,
                                       &cancel);
  json count = r.rows.empty() || !r.rows[0][0] ? json() : json(std::stoll(*r.rows[0][0]));
  return {{"schema", schema},
          {"table", table},
          {"count", count},
          {"elapsed_ms", r.elapsed.count()},
          {"correlation_id", who.correlation_id}};
}

void Console::sql(const http::Request& req, httplib::Response& res) {
  json body = json::parse(req.raw.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("sql") || !body["sql"].is_string()) {
    http::send_error(res, 400, "the body must be JSON: {\"sql\": \"...\", \"limit\": n}");
    return;
  }
  std::optional<query::Format> format;
  try {
    format = export_format(req);
  } catch (...) {
    send_failure_json(res, failure(std::current_exception(), ""));
    return;
  }
  query::Options o = options_.statement_defaults;
  o.timeout = options_.timeout;
  o.limit = options_.row_limit;
  if (body.contains("limit") && !body["limit"].is_null()) {
    if (!body["limit"].is_number_integer() || body["limit"].get<long long>() < 1) {
      http::send_json(res, 400, {{"error", {{"parameter", "limit"}, {"message", "limit: a positive integer"}}}});
      return;
    }
    o.limit = std::min(body["limit"].get<long long>(), options_.row_limit);
  }
  query::Caller who = caller(req, res);
  if (format) {
    who.extra["format"] = req.param("format");
    const std::string id = who.correlation_id;
    send_export(res, pool_, log_, ExportJob{body["sql"].get<std::string>(), {}, o, *format, who, "pgshift-" + id},
                [this, id](httplib::Response& r, std::exception_ptr e) { send_failure_json(r, failure(e, id)); });
    return;
  }
  query::CancelSignal cancel;
  auto guard = req.on_disconnect([&cancel] { cancel.cancel(); });
  try {
    // The page's budget is also the engine's: values beyond it are cut on the server, so a huge
    // value never reaches this process whole (an export, above, gets the whole --max-bytes budget).
    const long long budget = std::min(o.max_bytes, kPageBytes);
    o.max_bytes = budget;
    // An EXPLAIN runs as EXPLAIN (FORMAT JSON): the page draws the plan as a tree.
    const std::string text = body["sql"].get<std::string>();
    const std::optional<ExplainAsJson> plan = explain_as_json(text);
    query::Result r;
    try {
      r = query::run_audited(pool_, log_, who, plan ? plan->sql : text, o, &cancel);
    } catch (const pg::SqlError& e) {
      if (!plan) throw;
      throw e.at_position(plan->user_position(e.position()));
    }
    // The budget holds for a single value too: the row that crossed it came whole.
    std::vector<query::CutValue> cuts = query::fit_to_budget(r, budget);
    json doc = result_body(r, who.correlation_id);
    if (!cuts.empty()) {
      doc["cut_values"] = query::cuts_json(r, cuts);
      doc["max_bytes"] = budget;
    }
    if (plan) doc["plan_format"] = "json";
    http::send_json(res, 200, doc);
  } catch (...) {
    send_failure_json(res, failure(std::current_exception(), who.correlation_id));
  }
}

void Console::install_metrics() {
  http::Metrics& m = server_.metrics();
  m.describe("pgshift_statements_total", "counter", "Statements run for users, by outcome and gate rule");
  log_.set_observer([&m, this](const audit::Record& r) {
    m.add("pgshift_statements_total", {{"outcome", audit::outcome_name(r.outcome)}, {"rule", r.rule}});
    if (is_history_statement(r)) history_.add(r);
  });
  m.add_collector([this] {
    std::vector<http::Sample> out = {
        {"pgshift_pool_connections_in_use", "Pooled database connections serving a request", "gauge", {},
         static_cast<double>(pool_.in_use())},
        {"pgshift_pool_connections_open", "Pooled database connections open", "gauge", {},
         static_cast<double>(pool_.open())},
        {"pgshift_pool_waiting", "Requests waiting for a pooled connection", "gauge", {},
         static_cast<double>(pool_.waiting())},
        {"pgshift_pool_connections_max", "--max-connections", "gauge", {},
         static_cast<double>(pool_.options().max_connections)}};
    stats::Options quick = options_.stats;
    quick.statement_timeout = util::Millis(1'000);
    try {
      query::Pool::Lease lease = pool_.acquire("metrics", util::Millis(1'000));
      for (auto& g : stats::gauges(lease.conn(), quick)) {
        out.push_back({g.name, g.help, g.type, http::Labels(g.labels.begin(), g.labels.end()), g.value});
      }
    } catch (const query::PoolBusy&) {
      // every connection busy: the database answers, its gauges wait for the next scrape
    } catch (const std::exception& e) {
      spdlog::debug("metrics: database gauges: {}", util::redact(e.what()));
      out.push_back({"pgshift_pg_up", "1 when the database answers", "gauge", {}, 0});
    }
    return out;
  });
  server_.set_readiness([this] {
    try {
      query::Pool::Lease lease = pool_.acquire("readyz", util::Millis(1'000));
      lease.conn().exec("SELECT 1");
      return true;
    } catch (const query::PoolBusy&) {
      return true;  // busy is not down
    }
  });
  server_.on_shutdown_deadline([this] { pool_.cancel_all(); });
}

void Console::install() {
  const int pool_size = pool_.options().max_connections;
  tabs_ = {{"overview", "/", fixed([](pg::Connection& c, const stats::Options& o) { return stats::overview(c, o); })},
           {"tables", "/tables", fixed([](pg::Connection& c, const stats::Options& o) { return stats::tables(c, o); })},
           {"indexes", "/indexes", fixed([](pg::Connection& c, const stats::Options& o) { return stats::indexes(c, o); })},
           {"queries", "/queries", queries_plan},
           {"activity", "/activity",
            fixed([](pg::Connection& c, const stats::Options& o) { return stats::activity(c, o); })},
           {"replication", "/replication",
            fixed([](pg::Connection& c, const stats::Options& o) { return stats::replication(c, o); })},
           {"backups", "/backups", fixed([](pg::Connection& c, const stats::Options& o) { return stats::archiver(c, o); })},
           {"settings", "/settings", fixed([pool_size](pg::Connection& c, const stats::Options& o) {
              return stats::settings(c, o, stats::SettingsContext{pool_size});
            })},
           {"migration", "/migration",
            fixed([](pg::Connection& c, const stats::Options& o) { return stats::migration(c, o); })}};
  for (const Tab& tab : tabs_) {
    server_.route(Method::get, "/api/" + tab.id, "api_" + tab.id, [this, &tab](const http::Request& req, httplib::Response& res) {
      try {
        http::send_json(res, 200, report(tab, req));
      } catch (...) {
        send_failure_json(res, failure(std::current_exception(), ""));
      }
    });
    server_.route(Method::get, tab.path, "page_" + tab.id, [this, &tab](const http::Request& req, httplib::Response& res) {
      session(req, res);
      try {
        res.set_content(render_report_page(context(req, tab.id), report(tab, req)), kHtml);
      } catch (...) {
        send_failure_page(req, res, tab.id, failure(std::current_exception(), ""));
      }
    });
  }
  // Matched loosely here (a name may hold an encoded '/'); browse() and structure() split the
  // raw path. The structure routes come first: the browser's pattern matches their paths too.
  const std::string structure_path = "/tables/(.+/.+)/structure";
  server_.route(Method::get, "/api" + structure_path, "api_table_structure",
                [this](const http::Request& req, httplib::Response& res) {
                  try {
                    http::send_json(res, 200, structure(req));
                  } catch (...) {
                    send_failure_json(res, failure(std::current_exception(), ""));
                  }
                });
  server_.route(Method::get, structure_path, "page_table_structure", [this](const http::Request& req, httplib::Response& res) {
    session(req, res);
    try {
      res.set_content(render_table_structure(context(req, "tables"), structure(req)), kHtml);
    } catch (...) {
      send_failure_page(req, res, "tables", failure(std::current_exception(), ""));
    }
  });
  server_.route(Method::get, "/api/tables/(.+/.+)/count", "api_table_count",
                [this](const http::Request& req, httplib::Response& res) {
                  try {
                    http::send_json(res, 200, exact_count(req, res));
                  } catch (...) {
                    send_failure_json(res, failure(std::current_exception(),
                                                   res.get_header_value("X-Pgshift-Correlation-Id")));
                  }
                });
  server_.route(Method::get, "/api/table-list", "api_table_list", [this](const http::Request& req, httplib::Response& res) {
    try {
      http::send_json(res, 200, table_list(req));
    } catch (...) {
      send_failure_json(res, failure(std::current_exception(), ""));
    }
  });
  http::RouteOptions download;
  download.origin = http::OriginRule::if_present;  // a link's GET; refused from another site
  server_.route(Method::get, "/api/tables/(.+/.+)/export", "api_table_export",
                [this](const http::Request& req, httplib::Response& res) { table_export(req, res); }, download);
  const std::string table_path = "/tables/(.+/.+)";
  server_.route(Method::get, "/api" + table_path, "api_table_browser", [this](const http::Request& req, httplib::Response& res) {
    try {
      http::send_json(res, 200, browse(req, res));
    } catch (...) {
      send_failure_json(res, failure(std::current_exception(), res.get_header_value("X-Pgshift-Correlation-Id")));
    }
  });
  server_.route(Method::get, table_path, "page_table_browser", [this](const http::Request& req, httplib::Response& res) {
    try {
      res.set_content(render_table_browser(context(req, "tables"), browse(req, res)), kHtml);
    } catch (...) {
      send_failure_page(req, res, "tables", failure(std::current_exception(), ""));
    }
  });
  server_.route(Method::get, "/sql", "page_sql", [this](const http::Request& req, httplib::Response& res) {
    session(req, res);
    try {
      res.set_content(render_sql_page(context(req, "sql"), rerun_statement(history_, req)), kHtml);
    } catch (...) {
      send_failure_page(req, res, "sql", failure(std::current_exception(), ""));
    }
  });
  install_history_routes(server_, history_, [this](const http::Request& req) { return context(req, "history"); });
  server_.route(Method::post, "/api/sql", "api_sql", [this](const http::Request& req, httplib::Response& res) {
    sql(req, res);
  });
  http::RouteOptions assets;
  assets.cacheable = true;
  server_.route(Method::get, "/assets/([A-Za-z0-9._-]+)", "assets", [](const http::Request& req, httplib::Response& res) {
    const Asset* a = find_asset(req.match(1));
    if (!a) {
      http::send_error(res, 404, "no such asset");
      return;
    }
    res.set_content(std::string(a->body), std::string(a->content_type));
  }, assets);
  install_metrics();
}

std::shared_ptr<void> install(http::Server& server, query::Pool& pool, audit::Log& log,
                              const ConsoleOptions& options) {
  auto console = std::make_shared<Console>(server, pool, log, options);
  console->install();
  return console;
}

}  // namespace pgshift::console
