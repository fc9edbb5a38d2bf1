// sqlgate::check(): statement-level rules here, the tree walk in walk.cpp, the function lists
// in functions.cpp.
#include <fmt/format.h>
#include <pg_query.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

#include "sqlgate/deep_stack.hpp"
#include "sqlgate/nesting.hpp"
#include "sqlgate/sqlgate.hpp"
#include "sqlgate/tokens.hpp"
#include "sqlgate/walk.hpp"
#include "util/utf8.hpp"

namespace pgshift::sqlgate {
namespace {

using nlohmann::json;

constexpr std::string_view kAllowed = "only SELECT, VALUES, TABLE, EXPLAIN (without ANALYZE) and SHOW are allowed";

class Checker {
 public:
  explicit Checker(std::string_view sql) : text_(sql) {}

  Verdict run() {
    if (text_.size() > kMaxTextBytes) {
      return reject(Rule::invalid_text,
                    fmt::format("the text is {} bytes; at most {} are accepted", text_.size(), kMaxTextBytes), 0);
    }
    if (size_t nul = text_.find('\0'); nul != std::string::npos) {
      return reject_at(Rule::invalid_text, "the text contains a NUL byte", nul);
    }
    if (size_t bad = util::first_invalid_utf8(text_); bad != std::string_view::npos) {
      return reject_at(Rule::invalid_text, "the text is not valid UTF-8", bad);
    }
    // Before anything parses: the parser's output and fingerprint recurse once per level.
    if (Nesting n = nesting_bound(text_, tokens()); n.depth > kMaxNesting) {
      return reject_at(Rule::nesting_limit,
                       fmt::format("the statement nests too deeply to be parsed safely (about {} levels here; at "
                                   "most {}): each operator of a chain such as 1+1+...+1 nests one level; shorten "
                                   "it, or use a list (IN (...), ARRAY[...], VALUES)",
                                   n.depth, kMaxNesting),
                       n.offset);
    }
    audit();
    PgQueryParseResult parsed = pg_query_parse(text_.c_str());
    if (parsed.error) {
      std::string message = parsed.error->message ? parsed.error->message : "syntax error";
      int position = parsed.error->cursorpos;
      pg_query_free_parse_result(parsed);
      return reject(Rule::syntax_error, message, position);
    }
    json tree = json::parse(parsed.parse_tree, nullptr, false);
    pg_query_free_parse_result(parsed);
    if (tree.is_discarded() || !tree.is_object()) {
      return reject(Rule::syntax_error, "the parser returned an unreadable tree", 0);
    }
    return classify(tree);
  }

 private:
  Verdict classify(const json& tree) {
    auto stmts_it = tree.find("stmts");
    if (stmts_it == tree.end() || !stmts_it->is_array() || stmts_it->empty()) {
      return reject(Rule::empty, "no statement (only whitespace or comments)", 0);
    }
    const json& stmts = *stmts_it;
    if (stmts.size() > 1) {
      return reject_at(Rule::multiple_statements,
                       fmt::format("{} statements; exactly one is allowed (a second statement could end pgshift's "
                                   "read-only transaction)",
                                   stmts.size()),
                       statement_start(stmts[1]));
    }
    const json& raw = stmts[0];
    start_ = statement_start(raw);
    size_t from = static_cast<size_t>(raw.value("stmt_location", 0));
    size_t length = static_cast<size_t>(raw.value("stmt_len", 0));
    std::string statement = text_.substr(from, length == 0 ? std::string::npos : length);
    trim(statement);

    const json& wrapper = raw["stmt"];
    if (!wrapper.is_object() || wrapper.size() != 1) return reject(Rule::syntax_error, "unexpected parse tree", 0);
    const std::string& type = wrapper.begin().key();
    const json& node = wrapper.begin().value();

    Verdict v;
    if (type == "SelectStmt") {
      WalkResult walked = walk(wrapper, tokens(), start_);
      if (auto& f = walked.violation) return reject_at(f->rule, f->reason, f->offset);
      v.references = references(std::move(walked.references));
      v.kind = Kind::query;
    } else if (type == "ExplainStmt") {
      if (auto rejected = check_explain(node, v)) return *rejected;
      v.kind = Kind::explain;
    } else if (type == "VariableShowStmt") {
      v.kind = Kind::show;
    } else {
      return reject_statement(type, node);
    }
    v.accepted = true;
    v.statement = std::move(statement);
    v.fingerprint = fingerprint_;
    v.normalized = normalized_;
    return v;
  }

  // The planner runs functions too (constant folding, operators' selectivity estimators), so an
  // EXPLAIN's references are checked like the query's.
  std::optional<Verdict> check_explain(const json& node, Verdict& v) {
    const json& options = node.contains("options") ? node["options"] : json::array();
    for (const json& option : options) {
      if (!option.contains("DefElem")) continue;
      const json& def = option["DefElem"];
      if (def.value("defname", "") == "analyze" && !option_is_false(def)) {
        size_t at = def.value("location", -1) >= 0 ? static_cast<size_t>(def.value("location", 0)) : start_;
        return reject_at(Rule::explain_analyze,
                         "EXPLAIN ANALYZE executes the statement: use EXPLAIN without ANALYZE", at);
      }
    }
    const json& query = node.contains("query") ? node["query"] : json::object();
    std::string_view type = query.is_object() && query.size() == 1 ? std::string_view(query.begin().key()) : "";
    if (type != "SelectStmt") {
      std::string keyword = statement_keyword(type);
      size_t at = tokens().find_word(keyword, start_ + 1).value_or(start_);
      return reject_at(Rule::explain_target,
                       fmt::format("EXPLAIN of {} is not allowed: only EXPLAIN of a query (SELECT, VALUES, TABLE)",
                                   keyword.empty() ? std::string(type) : upper(keyword)),
                       at);
    }
    WalkResult walked = walk(query, tokens(), start_);
    if (auto& f = walked.violation) return reject_at(f->rule, f->reason, f->offset);
    v.references = references(std::move(walked.references));
    return std::nullopt;
  }

  // EXPLAIN (ANALYZE false) and (ANALYZE off), (ANALYZE 0): what defGetBoolean reads as false.
  // No value means true; anything else is true or an error, and refused.
  static bool option_is_false(const json& def) {
    const json& arg = def.contains("arg") ? def["arg"] : json();
    if (!arg.is_object() || arg.size() != 1) return false;
    const json& value = arg.begin().value();
    if (arg.begin().key() == "Integer") return value.value("ival", 0) == 0;
    if (arg.begin().key() != "String") return false;
    std::string word = upper(value.value("sval", ""));
    return word == "FALSE" || word == "OFF";
  }

  // In text order, each one once (its first occurrence), with character positions.
  std::vector<Reference> references(std::vector<LocatedReference> found) {
    std::sort(found.begin(), found.end(),
              [](const LocatedReference& a, const LocatedReference& b) { return a.offset < b.offset; });
    std::vector<Reference> out;
    std::set<std::tuple<Reference::Kind, std::string, std::string, int, bool, bool>> seen;
    for (LocatedReference& l : found) {
      Reference& r = l.reference;
      if (!seen.insert({r.kind, r.schema, r.name, r.nargs, r.in_from, r.constant}).second) continue;
      r.position = char_position(text_, l.offset);
      out.push_back(std::move(r));
    }
    return out;
  }

  Verdict reject_statement(const std::string& type, const json& node) {
    if (type == "TransactionStmt") {
      return reject_at(Rule::transaction_control,
                       fmt::format("transaction control ({}) is not allowed: pgshift runs each statement in its "
                                   "own read-only transaction and always rolls it back",
                                   first_words(1)),
                       start_);
    }
    if (type == "VariableSetStmt") {
      std::string name = node.value("name", "");
      std::string what = name == "role"                    ? "SET ROLE would change the role the statement runs as"
                         : name == "session_authorization" ? "SET SESSION AUTHORIZATION would change the session user"
                         : name.empty() || node.value("kind", "") == "VAR_RESET_ALL"
                             ? first_words(2) + " changes session settings"
                             : first_words(1) + " " + name + " changes a session setting";
      return reject_at(Rule::session_setting, what + ": not allowed; " + std::string(kAllowed), start_);
    }
    if (type == "InsertStmt" || type == "UpdateStmt" || type == "DeleteStmt" || type == "MergeStmt") {
      return reject_at(Rule::data_modification,
                       fmt::format("{} modifies data: {}", upper(statement_keyword(type)), kAllowed), start_);
    }
    return reject_at(Rule::statement_type, fmt::format("{} is not allowed: {}", statement_words(), kAllowed), start_);
  }

  // The SQL keyword that starts a statement of this parse-tree type (for messages and positions).
  static std::string statement_keyword(std::string_view type) {
    if (type == "InsertStmt") return "insert";
    if (type == "UpdateStmt") return "update";
    if (type == "DeleteStmt") return "delete";
    if (type == "MergeStmt") return "merge";
    if (type == "CreateTableAsStmt") return "create";
    if (type == "ExecuteStmt") return "execute";
    if (type == "DeclareCursorStmt") return "declare";
    return "";
  }

  // "COPY", "DO", "CREATE TABLE", "CREATE OR REPLACE FUNCTION", "DROP MATERIALIZED VIEW".
  std::string statement_words() {
    static const std::set<std::string> kVerbs = {"CREATE", "ALTER", "DROP", "COMMENT", "SECURITY", "REFRESH",
                                                 "IMPORT", "REASSIGN"};
    static const std::set<std::string> kModifiers = {"OR",        "REPLACE", "TEMP",   "TEMPORARY", "UNLOGGED",
                                                     "UNIQUE",    "MATERIALIZED", "FOREIGN", "DEFAULT", "TRUSTED",
                                                     "PROCEDURAL", "GLOBAL", "LOCAL",  "RECURSIVE", "EVENT"};
    std::vector<std::string> words;
    for (const Token& t : tokens().all()) {
      if (t.start < start_) continue;
      std::string_view word = std::string_view(text_).substr(t.start, t.end - t.start);
      if (word.empty() || !std::isalpha(static_cast<unsigned char>(word[0]))) break;
      words.push_back(upper(word));
      if (words.size() == 1 && !kVerbs.count(words[0])) break;
      if (words.size() > 1 && !kModifiers.count(words.back())) break;
      if (words.size() == 6) break;
    }
    if (words.empty()) return "this statement";
    std::string out = words[0];
    for (size_t i = 1; i < words.size(); ++i) out += " " + words[i];
    return out;
  }

  // The first n words of the statement, upper-cased ("DROP TABLE", "COMMIT").
  std::string first_words(int n) {
    std::string out;
    int taken = 0;
    for (const Token& t : tokens().all()) {
      if (t.start < start_) continue;
      std::string_view word = std::string_view(text_).substr(t.start, t.end - t.start);
      bool keyword_like = !word.empty() && std::isalpha(static_cast<unsigned char>(word[0]));
      if (!keyword_like) break;
      if (!out.empty()) out += ' ';
      out += upper(word);
      if (++taken == n) break;
    }
    return out.empty() ? "this statement" : out;
  }

  static std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
  }

  static void trim(std::string& s) {
    size_t first = s.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string::npos) {
      s.clear();
      return;
    }
    s.erase(0, first);
    s.erase(s.find_last_not_of(" \t\r\n\f\v") + 1);
  }

  size_t statement_start(const json& raw) {
    size_t from = static_cast<size_t>(raw.value("stmt_location", 0));
    return tokens().first_after(from).value_or(from);
  }

  const Tokens& tokens() {
    if (!tokens_) tokens_.emplace(text_);
    return *tokens_;
  }

  void audit() {
    PgQueryFingerprintResult fp = pg_query_fingerprint(text_.c_str());
    if (!fp.error && fp.fingerprint_str) fingerprint_ = fp.fingerprint_str;
    pg_query_free_fingerprint_result(fp);
    if (!fingerprint_.empty()) normalized_ = normalize(text_, tokens());
  }

  Verdict reject(Rule rule, std::string reason, int position) {
    Verdict v;
    v.rule = rule;
    v.reason = std::move(reason);
    v.position = position;
    v.fingerprint = fingerprint_;
    v.normalized = normalized_;
    return v;
  }

  Verdict reject_at(Rule rule, std::string reason, size_t offset) {
    return reject(rule, std::move(reason), char_position(text_, offset));
  }

  std::string text_;
  std::optional<Tokens> tokens_;
  size_t start_ = 0;
  std::string fingerprint_;
  std::string normalized_;
};

}  // namespace

const char* rule_name(Rule rule) {
  switch (rule) {
    case Rule::none: return "";
    case Rule::invalid_text: return "invalid-text";
    case Rule::syntax_error: return "syntax-error";
    case Rule::empty: return "empty";
    case Rule::multiple_statements: return "multiple-statements";
    case Rule::transaction_control: return "transaction-control";
    case Rule::session_setting: return "session-setting";
    case Rule::data_modification: return "data-modification";
    case Rule::statement_type: return "statement-type";
    case Rule::data_modifying_cte: return "data-modifying-cte";
    case Rule::select_into: return "select-into";
    case Rule::locking_clause: return "locking-clause";
    case Rule::explain_analyze: return "explain-analyze";
    case Rule::explain_target: return "explain-target";
    case Rule::denied_function: return "denied-function";
    case Rule::denied_relation: return "denied-relation";
    case Rule::relation_argument: return "relation-argument";
    case Rule::nesting_limit: return "nesting-limit";
    case Rule::volatile_function: return "volatile-function";
    case Rule::extension_function: return "extension-function";
    case Rule::user_function: return "user-function";
    case Rule::security_definer: return "security-definer";
    case Rule::foreign_table: return "foreign-table";
  }
  return "?";
}

bool is_catalog_rule(Rule rule) {
  return rule == Rule::volatile_function || rule == Rule::extension_function || rule == Rule::user_function ||
         rule == Rule::security_definer || rule == Rule::foreign_table;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::none: return "";
    case Kind::query: return "query";
    case Kind::explain: return "explain";
    case Kind::show: return "show";
  }
  return "?";
}

std::string Verdict::message() const {
  return position > 0 ? fmt::format("{} (at character {})", reason, position) : reason;
}

// Texts up to this size parse on the caller's stack: they nest at most ~2,000 levels (a few
// hundred KB of stack); longer ones on a deep stack (deep_stack.hpp).
constexpr size_t kInlineParseBytes = 4096;

Verdict check(std::string_view sql) {
  if (sql.size() <= kInlineParseBytes || sql.size() > kMaxTextBytes) return Checker(sql).run();
  Verdict verdict;
  std::string failure;
  bool ran = run_on_deep_stack([&] {
    try {
      verdict = Checker(sql).run();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (!ran || !failure.empty()) {
    Verdict v;
    v.rule = Rule::invalid_text;
    v.reason = ran ? fmt::format("the gate could not check this {}-byte text ({}); send a shorter statement",
                                 sql.size(), failure)
                   : fmt::format("the gate could not start a thread to parse this {}-byte text (out of memory?); "
                                 "retry, or send a shorter statement",
                                 sql.size());
    return v;
  }
  return verdict;
}

}  // namespace pgshift::sqlgate
