// Durations as operators type them: "500ms", "30s", "5m", "1h30m", "2h", a bare number means
// seconds. parse_duration throws UsageError naming the flag on anything else. ms_since times a
// step for a summary.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgshift::util {

using Millis = std::chrono::milliseconds;

// Parses text such as "1h30m" or "250ms". what names the flag or field, for the error message.
Millis parse_duration(std::string_view text, std::string_view what);

// "1.2s", "350ms", "4m05s", "2h03m": short, human, stable.
std::string format_duration(Millis d);

// Milliseconds from `since` until now on the steady clock (for timing summaries).
inline int64_t ms_since(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - since).count();
}

// Parses byte sizes: "1048576", "64kB", "16MB", "1GB" (powers of 1024, as PostgreSQL does).
long long parse_bytes(std::string_view text, std::string_view what);

// "0 B", "512 B", "1.5 kB", "16 MB", "2.0 GB".
std::string format_bytes(long long bytes);

}  // namespace pgshift::util
