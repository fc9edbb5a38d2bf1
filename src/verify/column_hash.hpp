// How one column is hashed, and the SQL expression that does it.
//
// The rule: a type's own 64-bit extended hash (the one hash indexes use) is used only where
// equality of the type means identical content, so a value that reads differently on the two
// sides always hashes differently. Everything else hashes its text form, read under the pinned
// session settings (session.hpp), with COLLATE "C" so a non-deterministic collation cannot fold
// case or accents.
//
//   int2/int4/int8, oid          hashint{2,4,8}extended / hashoidextended
//   text, varchar                hashtextextended(col COLLATE "C")
//   boolean                      hashint4extended(col::integer)
//   uuid                         uuid_hash_extended
//   date                         hashint4extended(days since 2000-01-01)
//   timestamp, timestamptz       interval_hash_extended(col - 2000-01-01): the exact span in
//                                microseconds, whatever the TimeZone (timestamptz is an instant)
//   time                         time_hash_extended
//                                (infinite dates and timestamps hash their text form)
//   numeric                      hash_numeric_extended, XOR the display scale: 1.0 <> 1.00;
//                                NaN, Infinity, -Infinity XOR their text hash (the hash alone
//                                is the seed for all three)
//   real, double precision       hashfloat{4,8}extended, XOR a negative-zero flag: -0 <> 0
//   everything else              hashtextextended(col::text COLLATE "C"): interval ('1 day' <>
//                                '24 hours'), jsonb (1.0 <> 1.00), json, citext ('A' <> 'a'),
//                                enums (by label, never by OID), arrays, bytea, domains of those
//   types that differ between the two sides   as replication carries the value: the source's
//                                output text (output_text) cast to the target's declared type,
//                                then hashed as that type on both sides (char(10) -> varchar(10)
//                                keeps the padding, json -> jsonb normalises, integer -> bigint
//                                hashes the number); when the target's type is not built in (a
//                                domain, an enum, an extension's type), the output text on both
//                                sides
//
// Each column gets its own seed, so equal values in two columns do not cancel in the row's XOR;
// a NULL becomes a per-column constant, so NULL and '' differ.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "catalog/model.hpp"
#include "pg/connection.hpp"

namespace pgshift::verify {

enum class HashMethod {
  int2, int4, int8, oid, text, boolean, uuid, date, time, timestamp, timestamptz, numeric, float4, float8, text_form
};
std::string to_string(HashMethod method);

// The method for a column present on both sides (compared by name).
HashMethod hash_method(const catalog::Column& source, const catalog::Column& target);

// Same declared type (and kind, and domain base) on both sides.
bool same_type(const catalog::Column& source, const catalog::Column& target);

// The column's type is built in, so it can be named (cast to) on the other side too.
bool builtin_type(const catalog::Column& column);

// The value's text as its type's output function writes it (what logical replication sends),
// NULL for NULL.
std::string output_text(std::string_view column_sql);

// The type a value of the column is cast to before hashing natively: the domain's base type
// for a domain, "" when no cast is needed.
std::string native_cast(const catalog::Column& column);

// A bigint SQL expression that never yields NULL. column_sql is the column reference (quoted),
// position (0-based) picks the seed and the NULL constant, nullable adds the NULL handling.
std::string hash_term(HashMethod method, std::string_view column_sql, size_t position, bool nullable);

// An enum column's text-form hash without printing the label for every row:
//   CASE col WHEN $a::type THEN hashtextextended($b::text COLLATE "C", seed) ... ELSE <text form> END
// Each label travels twice as a parameter (as the enum, as text; appended to params, numbered
// after those already there); the planner folds each THEN into a constant. The value is the
// text form's exactly, so a side without the labels (or with a label added since) still agrees.
// Enums with more than kMaxCaseLabels labels use the plain text form.
std::string enum_term(std::string_view column_sql, const std::string& type, const std::vector<std::string>& labels,
                      size_t position, bool nullable, pg::Params& params);
inline constexpr size_t kMaxCaseLabels = 32;

// "numeric(12,2)" -> "numeric", "timestamp(3) with time zone" -> "timestamp with time zone".
std::string strip_typmod(std::string_view type);

}  // namespace pgshift::verify
