// libFuzzer target for the read-only gate (sqlgate::check). Not part of CI; see README
// ("Fuzzing the gate") for how to build and run it.
//
// Besides crashes, leaks and undefined behaviour (ASan/UBSan), it checks invariants:
//   - check() is deterministic and never throws;
//   - a verdict is either accepted (kind set, no rule, the statement text non-empty) or rejected
//     (a rule, a reason, a position inside the text);
//   - an accepted text is exactly one statement for libpg_query's splitter;
//   - an independent oracle on the tokens: an accepted text never holds a denied function name
//     directly followed by "(" in call position (not an alias after AS, an identifier or ")",
//     not a type after "::", not a CTE's name(columns) AS).
#include <pg_query.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sqlgate/functions.hpp"
#include "sqlgate/sqlgate.hpp"
#include "sqlgate/tokens.hpp"

using namespace pgshift::sqlgate;

namespace {

[[noreturn]] void fail(const char* what, std::string_view sql) {
  std::fprintf(stderr, "sqlgate_fuzz: invariant broken: %s\n---\n%.*s\n---\n", what, static_cast<int>(sql.size()),
               sql.data());
  std::abort();
}

std::string_view text_of(std::string_view sql, const Token& t) { return sql.substr(t.start, t.end - t.start); }

bool is_comment(std::string_view s) { return s.starts_with("--") || s.starts_with("/*"); }

std::string unquote_fold(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return fold_name(s);
}

void token_oracle(std::string_view sql) {
  Tokens tokens(sql);
  std::vector<Token> words;
  for (const Token& t : tokens.all()) {
    if (!is_comment(text_of(sql, t))) words.push_back(t);
  }
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    std::string name = unquote_fold(text_of(sql, words[i]));
    // Denied whatever the arity (ts_rewrite is denied with 2 arguments only).
    if (text_of(sql, words[i + 1]) != "(" || !denied_function(name, 1 << 20)) continue;
    if (i > 0) {
      std::string_view prev = text_of(sql, words[i - 1]);
      std::string prev_folded = fold_name(prev);
      bool identifier = words[i - 1].keyword == 0 && !prev.empty() &&
                        (std::isalpha(static_cast<unsigned char>(prev[0])) || prev[0] == '_' || prev[0] == '"');
      if (prev_folded == "as" || prev == ")" || prev == "::" || identifier) continue;
    }
    // name(columns) AS (...): a CTE, not a call.
    size_t depth = 0, j = i + 1;
    for (; j < words.size(); ++j) {
      std::string_view w = text_of(sql, words[j]);
      if (w == "(") ++depth;
      if (w == ")" && --depth == 0) break;
    }
    if (j + 1 < words.size() && fold_name(text_of(sql, words[j + 1])) == "as") continue;
    fail("accepted a call to a denied function", sql);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view sql(reinterpret_cast<const char*>(data), size);
  Verdict v = check(sql);
  Verdict again = check(sql);
  if (v.accepted != again.accepted || v.rule != again.rule || v.position != again.position ||
      v.fingerprint != again.fingerprint) {
    fail("not deterministic", sql);
  }
  (void)caret_excerpt(sql, v.position);
  int chars = char_position(sql, sql.size());
  if (v.position < 0 || v.position > chars + 1) fail("position outside the text", sql);
  if (!v.accepted) {
    if (v.rule == Rule::none || v.reason.empty() || v.kind != Kind::none) fail("incomplete rejection", sql);
    return 0;
  }
  if (v.rule != Rule::none || v.kind == Kind::none || v.statement.empty() || v.position != 0) {
    fail("incomplete acceptance", sql);
  }
  std::string text(sql);
  PgQuerySplitResult split = pg_query_split_with_parser(text.c_str());
  int statements = split.error ? -1 : split.n_stmts;
  pg_query_free_split_result(split);
  if (statements != 1) fail("accepted text is not exactly one statement", sql);
  token_oracle(sql);
  return 0;
}
