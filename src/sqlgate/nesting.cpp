// nesting_bound(): see nesting.hpp.
#include "sqlgate/nesting.hpp"

#include <vector>

namespace pgshift::sqlgate {
namespace {

struct Level {
  size_t base = 0;     // depth of the level's own bracket
  size_t chain = 0;    // tokens since the last separator
  size_t setops = 0;   // UNION / INTERSECT / EXCEPT so far
  bool between = false;  // a BETWEEN waits for its AND
  size_t depth() const { return base + chain + setops; }
};

bool is_word(std::string_view token, std::string_view word) {
  if (token.size() != word.size()) return false;
  for (size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

}  // namespace

Nesting nesting_bound(std::string_view text, const Tokens& tokens) {
  std::vector<Level> levels(1);
  Nesting worst;
  for (const Token& t : tokens.all()) {
    std::string_view s = text.substr(t.start, t.end - t.start);
    if (s.starts_with("--") || s.starts_with("/*")) continue;
    Level& top = levels.back();
    if (s == "(" || s == "[" || is_word(s, "case")) {
      ++top.chain;
      Level inner;
      inner.base = top.depth() + 1;
      levels.push_back(inner);
    } else if (s == ")" || s == "]" || is_word(s, "end")) {
      if (levels.size() > 1) levels.pop_back();
    } else if (is_word(s, "and") && top.between) {
      top.between = false;
      ++top.chain;
    } else if (s == "," || is_word(s, "and") || is_word(s, "or") || is_word(s, "when") || is_word(s, "then") ||
               is_word(s, "else")) {
      top.chain = 0;
    } else if (is_word(s, "union") || is_word(s, "intersect") || is_word(s, "except")) {
      ++top.setops;
      top.chain = 0;
    } else {
      if (is_word(s, "between")) top.between = true;
      ++top.chain;
    }
    if (levels.back().depth() > worst.depth) worst = {levels.back().depth(), t.start};
  }
  return worst;
}

}  // namespace pgshift::sqlgate
