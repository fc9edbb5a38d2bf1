// Secret redaction. Every password pgshift learns (from a connection string, a plan file, the
// environment) is registered here; redact() replaces each registered secret in a text with
// "****". The logger and main()'s error printer pass every message through redact(), so a
// password that a server echoes back in an error still never reaches a terminal or a file.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace pgshift::util {

inline constexpr std::string_view kRedacted = "****";

// Registers a secret. Empty strings and strings shorter than 3 characters are ignored (they
// would redact ordinary words).
void register_secret(std::string_view secret);

// Returns text with every registered secret replaced by kRedacted.
std::string redact(std::string_view text);

}  // namespace pgshift::util
