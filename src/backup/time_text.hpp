// Times as backup tools print them, to and from Unix seconds (UTC).
//   parse_time("2026-12-01T19:44:08.123+00:00")  ISO 8601 with a zone (Z or ±hh:mm), barman >= 3.5, CNPG
//   parse_time("2026-12-01 19:44:11 UTC")        backup_label START TIME
//   parse_time("Tue Dec  1 19:44:08 2026")       ctime form without a zone (barman 3.4): read as UTC
// Anything else: nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgshift::backup {

std::optional<int64_t> parse_time(std::string_view text);
std::string iso_time(int64_t unix_seconds);  // "2026-12-01T19:44:08Z"
int64_t now_seconds();

}  // namespace pgshift::backup
