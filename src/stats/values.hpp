// How a diagnostic query's cells become Report values (stats/diagnostics.hpp): pure functions,
// no I/O. Integers are JSON numbers while exact in a double (|v| <= 2^53) and strings beyond;
// fractional numerics and floats are numbers (NaN/Infinity as strings); booleans; json/jsonb
// embedded; timestamps (TimeZone UTC, DateStyle ISO) as ISO-8601 "YYYY-MM-DDTHH:MM:SS.mmmZ";
// everything else as text; NULL as null.
#pragma once

#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace pgshift::stats {

inline constexpr int64_t kMaxExactInteger = 9'007'199'254'740'992;  // 2^53

// An integer's text as a number when exact in a double, else the text itself.
nlohmann::json integer_json(std::string_view text);
// A numeric's text: an integer as integer_json, a fraction as a number, NaN/Infinity as text.
nlohmann::json numeric_json(std::string_view text);
// "2026-12-01 19:41:39.123456+00" -> "2026-12-01T19:41:39.123Z" (infinity and others unchanged).
std::string iso_timestamp(std::string_view text);

// One cell of a result column of type oid; nullopt is SQL NULL.
nlohmann::json cell_json(std::optional<std::string_view> text, Oid oid);

// The SectionColumn type of a column: by name suffix first (_bytes, _seconds, _ratio), then by
// type (timestamp, lsn, bool, json, identifiers such as pid or *_id as "id", numbers as "count"),
// else "text".
std::string column_type(std::string_view name, Oid oid);

}  // namespace pgshift::stats
