#include "pg/error.hpp"

#include <fmt/format.h>

#include "util/redact.hpp"

namespace pgshift::pg {

std::string one_line(std::string_view message) {
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

ConnectError::ConnectError(std::string endpoint, std::string cause)
    : RuntimeError(util::redact(fmt::format("cannot connect to {}: {}", endpoint, cause))),
      endpoint_(std::move(endpoint)),
      cause_(util::redact(cause)) {}

SqlError::SqlError(std::string endpoint, std::string sqlstate, std::string message, std::string detail,
                   std::string hint, int position)
    : RuntimeError(util::redact(
          // A server can embed another server's multi-line error (CREATE SUBSCRIPTION does).
          sqlstate.empty() ? fmt::format("{}: {}", endpoint, one_line(message))
                           : fmt::format("{}: {} (SQLSTATE {})", endpoint, one_line(message), sqlstate))),
      endpoint_(std::move(endpoint)),
      sqlstate_(std::move(sqlstate)),
      message_(util::redact(message)),
      detail_(util::redact(detail)),
      hint_(util::redact(hint)),
      position_(position > 0 ? position : 0) {}

SqlError SqlError::at_position(int position) const {
  SqlError copy = *this;
  copy.position_ = position > 0 ? position : 0;
  return copy;
}

}  // namespace pgshift::pg
