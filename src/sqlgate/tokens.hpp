// The tokens of an SQL text as PostgreSQL's own lexer sees them (libpg_query's scanner), with
// their byte offsets. The gate uses them to point at the offending text when the parse tree
// has no location for it (a locking clause, the keyword after a comment, a name in attribute
// notation). Comments are tokens too, so callers can skip them; string literals, quoted
// identifiers and dollar quotes are single tokens, so a keyword inside them never matches.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgshift::sqlgate {

struct Token {
  size_t start = 0;  // byte offset of the first byte
  size_t end = 0;    // one past the last byte
  int kind = 0;      // the lexer's token number (pg_query.proto's Token enum)
  int keyword = 0;   // 0 not a keyword, 1 unreserved, 2 column name, 3 type/function name, 4 reserved

  bool is_constant() const;  // a number, string, bit string (including dollar-quoted strings)
  bool is_param() const;     // $1, $2, ...
};

class Tokens {
 public:
  // Scans text; an unscannable text (unterminated quote) yields the tokens before the error.
  explicit Tokens(std::string_view text);

  const std::vector<Token>& all() const { return tokens_; }

  // Offset of the first token that is not a comment at or after `from`; nullopt when none.
  std::optional<size_t> first_after(size_t from) const;

  // Offset of the first token at or after `from` whose text equals `word` (ASCII case-folded,
  // unquoted; a quoted identifier "word" matches too). nullopt when none.
  std::optional<size_t> find_word(std::string_view word, size_t from) const;

  // Offset of the last such token that starts before `before`.
  std::optional<size_t> find_word_before(std::string_view word, size_t before) const;

 private:
  bool is_comment(const Token& t) const;
  bool matches(const Token& t, std::string_view word) const;

  std::string text_;
  std::vector<Token> tokens_;
};

// The text with every constant replaced by $1, $2, ... (numbered after any $n already in the
// text), for audit logs: the shape of the statement without its values. Built from the tokens
// rather than with libpg_query's pg_query_normalize, which reads out of bounds on some inputs
// (e.g. `DO E''$$$$$$$$`, found by tests/fuzz/sqlgate_fuzz).
std::string normalize(std::string_view text, const Tokens& tokens);

// The 1-based character (UTF-8 code point) position of a byte offset, as PostgreSQL reports
// positions ("at character N").
int char_position(std::string_view text, size_t byte_offset);

// The byte offset of a 1-based character position (the inverse of char_position; clamped).
size_t byte_offset(std::string_view text, int char_position);

}  // namespace pgshift::sqlgate
