// Logging to stderr (results go to stdout; see DESIGN.md). Every line passes through
// util::redact(), so no registered secret is ever logged. Call init() once from main().
// Elsewhere use the spdlog free functions (spdlog::info, spdlog::warn, ...).
#pragma once

#include <string_view>

namespace pgshift::util {

enum class LogLevel { quiet, normal, verbose, debug };

// Installs the redacting stderr logger as spdlog's default logger.
//   quiet: warnings and errors; normal: info and above; verbose/debug: debug and above.
void init_logging(LogLevel level);

}  // namespace pgshift::util
