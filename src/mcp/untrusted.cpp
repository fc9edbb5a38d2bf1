#include "mcp/untrusted.hpp"

#include <fmt/format.h>

#include "audit/audit.hpp"

namespace pgshift::mcp {

std::string fence_untrusted(std::string_view text) {
  std::string boundary = audit::random_hex(12);
  while (text.find(boundary) != std::string_view::npos) boundary = audit::random_hex(12);
  return fmt::format("{}\n<<<UNTRUSTED-DATA {}>>>\n{}\n<<<END UNTRUSTED-DATA {}>>>", kUntrustedWarning, boundary, text,
                     boundary);
}

}  // namespace pgshift::mcp
