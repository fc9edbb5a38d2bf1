#include "verify/column_hash.hpp"

#include <fmt/format.h>

#include <map>

namespace pgshift::verify {
namespace {

// The effective type of a column: the base type of a domain (without its typmod).
std::string effective_type(const catalog::Column& c) {
  return strip_typmod(c.type_kind == "domain" ? c.domain_base : c.type);
}

HashMethod native_method(const std::string& type) {
  static const std::map<std::string, HashMethod> methods = {
      {"smallint", HashMethod::int2},
      {"integer", HashMethod::int4},
      {"bigint", HashMethod::int8},
      {"oid", HashMethod::oid},
      {"text", HashMethod::text},
      {"character varying", HashMethod::text},
      {"boolean", HashMethod::boolean},
      {"uuid", HashMethod::uuid},
      {"date", HashMethod::date},
      {"time without time zone", HashMethod::time},
      {"timestamp without time zone", HashMethod::timestamp},
      {"timestamp with time zone", HashMethod::timestamptz},
      {"numeric", HashMethod::numeric},
      {"real", HashMethod::float4},
      {"double precision", HashMethod::float8},
  };
  auto it = methods.find(type);
  return it == methods.end() ? HashMethod::text_form : it->second;
}

// A fixed 62-bit constant per column position: what a NULL hashes to. splitmix64 of the
// position, so the constants look random and differ between columns.
int64_t null_constant(size_t position) {
  uint64_t z = (position + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<int64_t>(z >> 2);
}

}  // namespace

std::string to_string(HashMethod method) {
  switch (method) {
    case HashMethod::int2: return "int2";
    case HashMethod::int4: return "int4";
    case HashMethod::int8: return "int8";
    case HashMethod::oid: return "oid";
    case HashMethod::text: return "text";
    case HashMethod::boolean: return "boolean";
    case HashMethod::uuid: return "uuid";
    case HashMethod::date: return "date";
    case HashMethod::time: return "time";
    case HashMethod::timestamp: return "timestamp";
    case HashMethod::timestamptz: return "timestamptz";
    case HashMethod::numeric: return "numeric";
    case HashMethod::float4: return "float4";
    case HashMethod::float8: return "float8";
    case HashMethod::text_form: return "text form";
  }
  return "text form";
}

std::string strip_typmod(std::string_view type) {
  std::string out;
  int depth = 0;
  for (char c : type) {
    if (c == '(') ++depth;
    if (depth == 0) out += c;
    if (c == ')' && depth > 0) --depth;
  }
  // "timestamp(3) with time zone" leaves a double space; "numeric(12,2)" a clean name.
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed += c;
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed;
}

bool same_type(const catalog::Column& source, const catalog::Column& target) {
  return source.type == target.type && source.type_kind == target.type_kind && source.domain_base == target.domain_base;
}

bool builtin_type(const catalog::Column& column) {
  // format_type qualifies every type outside pg_catalog (verify's search_path); a domain or an
  // enum is never built in.
  return column.type_kind != "domain" && column.type_kind != "enum" && column.type_kind != "composite" &&
         column.type.find('.') == std::string::npos && column.type.find('"') == std::string::npos;
}

std::string output_text(std::string_view column_sql) {
  // format('%s') calls the type's output function (a cast to text may not: char(n) drops its
  // padding); it turns NULL into '', hence the CASE.
  return fmt::format("(CASE WHEN {0} IS NOT NULL THEN format('%s', {0}) END)", column_sql);
}

HashMethod hash_method(const catalog::Column& source, const catalog::Column& target) {
  // A different declared type on the two sides (integer vs bigint, char(10) vs varchar(10), json
  // vs jsonb): the source's value as the target's type takes it, hashed as the target's type.
  if (!same_type(source, target)) {
    return builtin_type(target) ? native_method(strip_typmod(target.type)) : HashMethod::text_form;
  }
  if (source.type_kind != "base" && source.type_kind != "domain") return HashMethod::text_form;
  return native_method(effective_type(source));
}

std::string native_cast(const catalog::Column& column) {
  return column.type_kind == "domain" ? effective_type(column) : "";
}

namespace {

std::string with_nulls(std::string expr, size_t position, bool nullable) {
  if (!nullable) return expr;
  return fmt::format("coalesce({}, {})", expr, null_constant(position));
}

}  // namespace

std::string enum_term(std::string_view column_sql, const std::string& type, const std::vector<std::string>& labels,
                      size_t position, bool nullable, pg::Params& params) {
  std::string text_form = hash_term(HashMethod::text_form, column_sql, position, false);
  if (labels.empty() || labels.size() > kMaxCaseLabels) return with_nulls(text_form, position, nullable);
  std::string expr = fmt::format("CASE {}", column_sql);
  for (const auto& label : labels) {
    params.emplace_back(label);
    params.emplace_back(label);
    expr += fmt::format(" WHEN ${}::{} THEN hashtextextended(${}::text COLLATE \"C\", {})", params.size() - 1, type,
                        params.size(), position + 1);
  }
  expr += fmt::format(" ELSE {} END", text_form);
  return with_nulls(expr, position, nullable);
}

std::string hash_term(HashMethod method, std::string_view column_sql, size_t position, bool nullable) {
  const std::string c(column_sql);
  const size_t seed = position + 1;
  std::string expr;
  switch (method) {
    case HashMethod::int2: expr = fmt::format("hashint2extended({}, {})", c, seed); break;
    case HashMethod::int4: expr = fmt::format("hashint4extended({}, {})", c, seed); break;
    case HashMethod::int8: expr = fmt::format("hashint8extended({}, {})", c, seed); break;
    case HashMethod::oid: expr = fmt::format("hashoidextended({}, {})", c, seed); break;
    case HashMethod::text: expr = fmt::format("hashtextextended({} COLLATE \"C\", {})", c, seed); break;
    case HashMethod::boolean: expr = fmt::format("hashint4extended(({})::integer, {})", c, seed); break;
    case HashMethod::uuid: expr = fmt::format("uuid_hash_extended({}, {})", c, seed); break;
    case HashMethod::time: expr = fmt::format("time_hash_extended({}, {})", c, seed); break;
    // Dates and timestamps hash their distance from a fixed point: exact, cheaper than the
    // type's own hash through an array, and independent of the session's TimeZone. Infinite
    // values cannot be subtracted; they hash their text.
    case HashMethod::date:
      expr = fmt::format("CASE WHEN isfinite({0}) THEN hashint4extended({0} - '2000-01-01'::date, {1}) "
                         "ELSE hashtextextended(({0})::text, {1}) END",
                         c, seed);
      break;
    case HashMethod::timestamp:
    case HashMethod::timestamptz:
      expr = fmt::format("CASE WHEN isfinite({0}) THEN interval_hash_extended({0} - '2000-01-01 00:00:00{2}'::{3}, {1}) "
                         "ELSE hashtextextended(({0})::text, {1}) END",
                         c, seed, method == HashMethod::timestamptz ? "+00" : "",
                         method == HashMethod::timestamptz ? "timestamptz" : "timestamp");
      break;
    case HashMethod::numeric:
      // hash_numeric_extended ignores trailing zeros; the display scale tells 1.0 from 1.00.
      // NaN, Infinity and -Infinity all hash to the seed and have no scale: their text tells
      // them apart (evaluated for those values only).
      expr = fmt::format("(hash_numeric_extended({0}, {1}) # coalesce(scale({0})::bigint, "
                         "hashtextextended(({0})::text, {1})))",
                         c, seed);
      break;
    case HashMethod::float4:
    case HashMethod::float8:
      // The float hashes treat -0 and 0 as equal; atan2(-0, -1) is -pi, atan2(0, -1) is pi.
      expr = fmt::format("(hashfloat{2}extended({0}, {1}) # ({0} = 0 AND atan2({0}, -1) < 0)::integer::bigint)", c,
                         seed, method == HashMethod::float4 ? 4 : 8);
      break;
    case HashMethod::text_form:
      expr = fmt::format("hashtextextended(({})::text COLLATE \"C\", {})", c, seed);
      break;
  }
  return with_nulls(expr, position, nullable);
}

}  // namespace pgshift::verify
