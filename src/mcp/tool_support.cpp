#include "mcp/tool_support.hpp"

#include <fmt/format.h>

#include "query/read_only_transaction.hpp"

namespace pgshift::mcp {

using json = nlohmann::json;

std::optional<std::string> string_arg(const json& args, const char* name, bool required) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) {
    if (required) throw InvalidArguments(fmt::format("argument '{}' is required (a string)", name));
    return std::nullopt;
  }
  if (!it->is_string()) throw InvalidArguments(fmt::format("argument '{}' must be a string", name));
  return it->get<std::string>();
}

std::optional<long long> integer_arg(const json& args, const char* name, long long min, long long max) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) throw InvalidArguments(fmt::format("argument '{}' must be an integer", name));
  long long v = it->get<long long>();
  if (v < min || v > max) {
    throw InvalidArguments(fmt::format("argument '{}' must be between {} and {} (got {})", name, min, max, v));
  }
  return v;
}

void only_known_args(const json& args, const json& input_schema) {
  const json& props = input_schema.at("properties");
  for (auto& [k, v] : args.items()) {
    if (!props.contains(k)) {
      std::string known;
      for (auto& [p, _] : props.items()) known += (known.empty() ? "" : ", ") + p;
      throw InvalidArguments(fmt::format("unknown argument '{}' (this tool takes: {})", k,
                                         known.empty() ? "no arguments" : known));
    }
  }
}

namespace {

constexpr std::string_view kSetApplicationName = "SELECT set_config('application_name', $1, false)";

// Detaches the cancel signal however fn ends.
struct Attached {
  query::CancelSignal& signal;
  Attached(query::CancelSignal& s, query::Pool::Lease& lease) : signal(s) { signal.attach(&lease); }
  ~Attached() { signal.detach(); }
};

void leased(ToolContext& ctx, query::Pool& pool, const std::function<void(query::Pool::Lease&)>& fn) {
  ctx.touched_database = true;
  query::Pool::Lease lease = pool.acquire(ctx.caller.identity);
  Attached attached(ctx.cancel, lease);
  if (ctx.cancel.cancelled()) throw query::Cancelled("the request was cancelled before its statement started");
  fn(lease);
}

}  // namespace

void with_lease(ToolContext& ctx, query::Pool& pool, const std::function<void(pg::Connection&)>& fn) {
  leased(ctx, pool, [&](query::Pool::Lease& lease) {
    // Session-level; the lease's clean_session (RESET ALL) resets it.
    lease.conn().exec(kSetApplicationName, {audit::application_name("mcp", ctx.correlation_id)});
    fn(lease.conn());
  });
}

void read_only(ToolContext& ctx, const std::function<void(pg::Connection&)>& fn) {
  leased(ctx, ctx.resources.db, [&](query::Pool::Lease& lease) {
    query::Options options = ctx.options.query;
    options.application_name = audit::application_name("mcp", ctx.correlation_id);
    query::ReadOnlyTransaction tx(lease.conn(), options);
    fn(lease.conn());
    tx.finish();
  });
}

json object_schema(json properties, json required, bool closed) {
  json s = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) s["required"] = std::move(required);
  if (closed) s["additionalProperties"] = false;
  return s;
}

json nullable(const char* type) { return {{"type", json::array({type, "null"})}}; }

}  // namespace pgshift::mcp
