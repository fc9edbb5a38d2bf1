// EXPLAIN as JSON for the plan tree; see console/explain_json.hpp.
#include "console/explain_json.hpp"

#include <vector>

#include "sqlgate/sqlgate.hpp"
#include "sqlgate/tokens.hpp"

namespace pgshift::console {
namespace {

bool word_is(std::string_view text, std::string_view word) {
  if (text.size() != word.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<ExplainAsJson> explain_as_json(std::string_view sql) {
  const sqlgate::Verdict verdict = sqlgate::check(sql);
  if (!verdict.accepted || verdict.kind != sqlgate::Kind::explain) return std::nullopt;
  const sqlgate::Tokens tokens(sql);
  // The tokens that are not comments (-- and /* */ are tokens of their own).
  std::vector<sqlgate::Token> toks;
  for (const sqlgate::Token& t : tokens.all()) {
    const std::string_view s = sql.substr(t.start, t.end - t.start);
    if (!s.starts_with("--") && !s.starts_with("/*")) toks.push_back(t);
  }
  auto text = [&](size_t i) { return sql.substr(toks[i].start, toks[i].end - toks[i].start); };
  if (toks.empty() || !word_is(text(0), "explain")) return std::nullopt;
  size_t i = 1;
  std::string options;
  if (i < toks.size() && text(i) == "(") {
    int depth = 0;
    size_t open = i;
    for (; i < toks.size(); ++i) {
      if (text(i) == "(") ++depth;
      if (text(i) == ")" && --depth == 0) break;
    }
    if (i >= toks.size()) return std::nullopt;
    // FORMAT at the list's own level: JSON is what we want; anything else is the user's choice.
    for (size_t k = open + 1; k + 1 < i; ++k) {
      if (word_is(text(k), "format")) {
        if (!word_is(text(k + 1), "json")) return std::nullopt;
        return ExplainAsJson{std::string(sql), false, 0, 0};
      }
    }
    options = std::string(sql.substr(toks[open].end, toks[i].start - toks[open].end));
    ++i;
  } else {
    // EXPLAIN VERBOSE SELECT ... (ANALYZE never gets here: the gate refuses it)
    while (i < toks.size() && word_is(text(i), "verbose")) {
      options += options.empty() ? "VERBOSE" : ", VERBOSE";
      ++i;
    }
  }
  if (i >= toks.size()) return std::nullopt;
  const size_t query_at = toks[i].start;
  const bool blank = options.find_first_not_of(" \t\r\n") == std::string::npos;
  const std::string prefix = "EXPLAIN (" + (blank ? std::string() : options + ", ") + "FORMAT JSON) ";
  ExplainAsJson out;
  out.sql = prefix + std::string(sql.substr(query_at));
  out.rewritten = true;
  out.query_start = sqlgate::char_position(out.sql, prefix.size());
  out.shift = out.query_start - sqlgate::char_position(sql, query_at);
  return out;
}

}  // namespace pgshift::console
