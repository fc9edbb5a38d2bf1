// UTF-8 validity, as PostgreSQL's verifier defines it (no overlong forms, no surrogates, nothing
// above U+10FFFF). Used by the SQL gate to refuse invalid text and by the result renderers so
// that values from SQL_ASCII or mislabelled databases never break an output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgshift::util {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when s[i] does not start one.
size_t utf8_sequence_length(std::string_view s, size_t i);

// Offset of the first byte that does not start a valid sequence; npos when s is valid.
size_t first_invalid_utf8(std::string_view s);

// s with every byte that does not start a valid sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

}  // namespace pgshift::util
