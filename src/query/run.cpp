// query::run(): gate, read-only transaction, cursor with limit + 1, type names, rollback.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include "pg/error.hpp"
#include "query/query.hpp"
#include "query/pipeline.hpp"
#include "query/policy_check.hpp"
#include "query/read_only_transaction.hpp"
#include "query/streamed_run.hpp"
#include "query/user_position.hpp"
#include "query/value_cap.hpp"
#include "sqlgate/function_policy.hpp"
#include "sqlgate/tokens.hpp"

namespace pgshift::query {
namespace {

using Clock = std::chrono::steady_clock;

// The statement text follows the prefix verbatim and nothing is appended after it, so a
// trailing comment in the user's text cannot swallow anything of ours.
constexpr std::string_view kDeclare = "DECLARE pgshift_query NO SCROLL CURSOR FOR ";
constexpr std::string_view kFetch = "FETCH FORWARD {} FROM pgshift_query";
constexpr long long kBatchRows = 10'000;

// format_type() for every column in one round trip; typmods give "numeric(12,2)".
constexpr std::string_view kTypeNames = R"sql(
SELECT format_type(t.oid, t.mod)
FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, n)
ORDER BY t.n
)sql";

std::vector<Column> columns_of(const pg::Result& r) {
  std::vector<Column> out;
  for (int c = 0; c < r.columns(); ++c) {
    out.push_back({r.column_name(c), r.column_type(c), PQfmod(r.raw(), c), ""});
  }
  return out;
}

// Appends rows from r until `handed` (rows already given to a stream's sink) plus the result's
// rows make `wanted` or max_bytes of values arrived; returns false when the byte budget stopped
// it. capped: query/value_cap.hpp's layout of r's columns.
bool take_rows(const pg::Result& r, Result& out, const std::vector<bool>& capped, long long wanted, long long& bytes,
               long long max_bytes, long long handed = 0) {
  for (int i = 0; i < r.rows() && handed + static_cast<long long>(out.rows.size()) < wanted; ++i) {
    bytes += take_capped_row(r, i, capped, out);
    if (bytes > max_bytes) return false;
  }
  return true;
}

// format_type() of the bootstrap types (oid below FirstGenbkiObjectId, 10000: pg_catalog's own,
// the same in every database of a server, always visible), remembered process-wide so that a
// result of such columns needs no round trip for its type names. Other types (information_schema,
// extensions, user types) can be renamed, dropped or hidden by the search path: always looked up.
class BuiltInTypeNames {
 public:
  static constexpr unsigned kFirstGenbkiObjectId = 10000;
  static constexpr size_t kMaxEntries = 4096;

  // Fills what is known; true when every column got a name.
  bool fill(std::vector<Column>& columns) {
    std::lock_guard lock(mutex_);
    bool all = true;
    for (Column& c : columns) {
      auto it = names_.find({c.type_oid, c.type_modifier});
      if (it != names_.end()) {
        c.type_name = it->second;
      } else {
        all = false;
      }
    }
    return all;
  }
  void remember(const std::vector<Column>& columns) {
    std::lock_guard lock(mutex_);
    if (names_.size() > kMaxEntries) names_.clear();
    for (const Column& c : columns) {
      if (c.type_oid < kFirstGenbkiObjectId && !c.type_name.empty()) names_[{c.type_oid, c.type_modifier}] = c.type_name;
    }
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<Oid, int>, std::string> names_;
};

BuiltInTypeNames& built_in_type_names() {
  static BuiltInTypeNames names;
  return names;
}

void name_types(pg::Connection& conn, std::vector<Column>& columns) {
  if (columns.empty() || built_in_type_names().fill(columns)) return;
  std::string oids = "{", mods = "{";
  for (size_t i = 0; i < columns.size(); ++i) {
    oids += (i ? "," : "") + std::to_string(columns[i].type_oid);
    mods += (i ? "," : "") + std::to_string(columns[i].type_modifier);
  }
  pg::Result r = conn.exec(kTypeNames, {oids + "}", mods + "}"});
  for (int i = 0; i < r.rows() && i < static_cast<int>(columns.size()); ++i) columns[i].type_name = r.view(i, 0);
  built_in_type_names().remember(columns);
}

pg::Result exec_statement(pg::Connection& conn, std::string_view prefix, std::string_view sql,
                          const std::string& statement, const pg::Params& params) {
  try {
    return conn.exec(std::string(prefix) + statement, params);
  } catch (const pg::SqlError& e) {
    throw on_user_text(e, prefix, sql, statement);
  }
}

// Sets the result's truncation from the rows fetched (limit + 1 means there were more).
void settle(Result& out, long long limit, bool bytes_ok) {
  if (static_cast<long long>(out.rows.size()) > limit) {
    out.rows.resize(static_cast<size_t>(limit));
    out.truncated = true;
    out.truncated_by = Truncation::limit;
  } else if (!bytes_ok) {
    out.truncated = true;
    out.truncated_by = Truncation::bytes;
  }
}

[[noreturn]] void rethrow(const pg::SqlError& e, const Options& o, pg::Connection& conn) {
  const std::string& state = e.sqlstate();
  const std::string& msg = e.server_message();
  if (state == "57014" && msg.find("statement timeout") != std::string::npos) {
    throw Timeout(fmt::format("{}: the statement ran longer than {} and was cancelled (raise --timeout, or add a "
                              "WHERE or LIMIT)",
                              conn.endpoint(), util::format_duration(o.timeout)));
  }
  if (state == "57014") throw Cancelled(fmt::format("{}: the statement was cancelled", conn.endpoint()));
  if (state == "55P03") {
    throw Timeout(fmt::format("{}: could not get a lock within {}: another session holds a conflicting lock on a "
                              "table this statement reads (a running ALTER TABLE, VACUUM FULL, ...)",
                              conn.endpoint(), util::format_duration(std::min(o.lock_timeout, o.timeout))));
  }
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
    throw ConnectionLost(fmt::format("{}: the connection was lost while the statement ran ({}); {}", conn.endpoint(),
                                     msg, conn.is_ok() ? "re-connected" : "could not re-connect"));
  }
  throw;
}

}  // namespace

Rejected::Rejected(sqlgate::Verdict verdict)
    : ProblemsFound("rejected: " + verdict.message()), verdict_(std::move(verdict)) {}

void validate(const Options& o) {
  if (o.limit < 1 || o.limit > kMaxLimit) {
    throw UsageError(fmt::format("limit must be between 1 and {} (got {})", kMaxLimit, o.limit));
  }
  if (o.timeout.count() <= 0) throw UsageError("timeout must be positive");
  if (o.lock_timeout.count() <= 0 || o.idle_timeout.count() <= 0) throw UsageError("timeouts must be positive");
  if (o.max_bytes < 1) throw UsageError("max_bytes must be positive");
  for (const std::string& entry : o.allow_functions) {
    if (std::string problem = sqlgate::allow_entry_problem(entry, "allow-function", true, true); !problem.empty()) {
      throw UsageError(problem);
    }
  }
  for (const std::string& entry : o.allow_foreign_tables) {
    if (std::string problem = sqlgate::allow_entry_problem(entry, "allow-foreign-table", false, false);
        !problem.empty()) {
      throw UsageError(problem);
    }
  }
}

Result run(pg::Connection& conn, std::string_view sql, const Options& options) { return run(conn, sql, {}, options); }

Result run(pg::Connection& conn, std::string_view sql, const pg::Params& params, const Options& options) {
  return run_checked(conn, sql, sqlgate::check(sql), params, options);
}

namespace {

// run_checked() and run_checked_streamed(): with a sink, each fetched batch is handed over and
// dropped, so only one batch is ever held.
Result run_impl(pg::Connection& conn, std::string_view sql, sqlgate::Verdict verdict, const pg::Params& params,
                const Options& options, const BatchSink* sink) {
  if (!verdict.accepted) throw Rejected(std::move(verdict));
  validate(options);

  Result out;
  out.verdict = std::move(verdict);
  out.limit = options.limit;
  const auto start = Clock::now();
  long long bytes = 0;
  bool bytes_ok = true;
  long long handed = 0;  // rows given to the sink
  bool named = false;
  // Gives the sink the rows fetched so far (without the limit + 1 probe row), then drops them.
  auto hand_over = [&] {
    if (!sink) return;
    if (handed + static_cast<long long>(out.rows.size()) > options.limit) {
      out.rows.resize(static_cast<size_t>(options.limit - handed));
      std::erase_if(out.server_cuts, [&](const ServerCut& c) { return c.row >= out.rows.size(); });
      out.truncated = true;
      out.truncated_by = Truncation::limit;
    }
    if (out.rows.empty()) return;
    if (!named) {
      name_types(conn, out.columns);
      named = true;
    }
    if (!(*sink)(out)) throw Cancelled(fmt::format("{}: the reader of the stream stopped", conn.endpoint()));
    handed += static_cast<long long>(out.rows.size());
    out.rows.clear();
    out.rows.shrink_to_fit();
    out.server_cuts.clear();
  };
  try {
    ReadOnlyTransaction tx(conn, options);
    check_policy(conn, out.verdict, options, tx.catalog_state());
    if (out.verdict.kind == sqlgate::Kind::query) {
      const long long wanted = options.limit + 1;
      long long batch = std::min(kBatchRows, wanted);
      // The columns first (one round trip), so variable-length values can be cut on the server.
      pg::Result described;
      try {
        described = describe_unnamed(conn, out.verdict.statement);
      } catch (const pg::SqlError& e) {
        throw on_user_text(e, "", sql, out.verdict.statement);
      }
      // A single value takes at most half the budget: the rest of its row still fits.
      ValueCap cap = plan_value_cap(described, std::max(1LL, options.max_bytes / 2));
      const std::string prefix = std::string(kDeclare) + cap.select_prefix;
      // DECLARE and the first FETCH in one round trip; most results end there.
      std::vector<pg::Result> first;
      try {
        first = exec_pipelined(conn, {{prefix + out.verdict.statement + cap.select_suffix, params},
                                      {fmt::format(kFetch, batch), {}}});
      } catch (const pg::SqlError& e) {
        throw on_user_text(e, prefix, sql, out.verdict.statement);
      }
      out.columns = std::move(cap.columns);
      bytes_ok = take_rows(first[1], out, cap.capped, wanted, bytes, options.max_bytes);
      bool more = first[1].rows() >= batch;  // else the cursor is exhausted
      first.clear();
      hand_over();
      // (A sink's stream is done once the limit's probe row came or its budget cut a row.)
      while (more && bytes_ok && !(sink && out.truncated) && handed + static_cast<long long>(out.rows.size()) < wanted) {
        auto left = options.timeout - std::chrono::duration_cast<util::Millis>(Clock::now() - start);
        if (left.count() <= 0) {
          throw pg::SqlError(conn.endpoint(), "57014", "canceling statement due to statement timeout");
        }
        tx.set_statement_timeout(left);
        batch = std::min(kBatchRows, wanted - handed - static_cast<long long>(out.rows.size()));
        pg::Result r = conn.exec(fmt::format(kFetch, batch));
        bytes_ok = take_rows(r, out, cap.capped, wanted, bytes, options.max_bytes, handed);
        more = r.rows() >= batch;
        hand_over();
      }
    } else {
      pg::Result r = exec_statement(conn, "", sql, out.verdict.statement, params);
      out.columns = columns_of(r);
      bytes_ok = take_rows(r, out, std::vector<bool>(static_cast<size_t>(r.columns()), false), options.limit + 1, bytes,
                           options.max_bytes);
      hand_over();
    }
    if (sink) {
      if (!bytes_ok && !out.truncated) {
        out.truncated = true;
        out.truncated_by = Truncation::bytes;
      }
    } else {
      settle(out, options.limit, bytes_ok);
    }
    if (!named) name_types(conn, out.columns);
    if (options.leave_to_pool) {
      tx.leave_open();
    } else {
      tx.finish();
    }
  } catch (const pg::SqlError& e) {
    rethrow(e, options, conn);
  }
  out.elapsed = std::chrono::duration_cast<util::Millis>(Clock::now() - start);
  spdlog::debug("query {} ({}): {} rows{} in {}", out.verdict.fingerprint, sqlgate::kind_name(out.verdict.kind),
                handed + static_cast<long long>(out.rows.size()), out.truncated ? " (truncated)" : "",
                util::format_duration(out.elapsed));
  return out;
}

}  // namespace

Result run_checked(pg::Connection& conn, std::string_view sql, sqlgate::Verdict verdict, const pg::Params& params,
                   const Options& options) {
  return run_impl(conn, sql, std::move(verdict), params, options, nullptr);
}

Result run_checked_streamed(pg::Connection& conn, std::string_view sql, sqlgate::Verdict verdict,
                            const pg::Params& params, const Options& options, const BatchSink& sink) {
  return run_impl(conn, sql, std::move(verdict), params, options, &sink);
}

}  // namespace pgshift::query
