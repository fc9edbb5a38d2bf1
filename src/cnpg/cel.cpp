#include "cnpg/cel.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <vector>

namespace pgshift::cnpg::cel {
namespace {

struct Token {
  enum Kind { ident, number, string, op, end } kind = end;
  std::string text;
};

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      out.push_back({Token::ident, s.substr(start, i - start)});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t start = i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      if (i < s.size() && s[i] == 'u') ++i;  // unsigned literal
      out.push_back({Token::number, s.substr(start, i - start)});
    } else if (c == '\'' || c == '"') {
      std::string text;
      ++i;
      while (i < s.size() && s[i] != c) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
          char e = s[i];
          text += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          text += s[i];
        }
        ++i;
      }
      if (i >= s.size()) throw Unsupported("unterminated string");
      ++i;
      out.push_back({Token::string, text});
    } else {
      static const char* two[] = {"==", "!=", "<=", ">=", "&&", "||"};
      std::string op(1, c);
      for (const char* t : two) {
        if (s.compare(i, 2, t) == 0) op = t;
      }
      if (op.size() == 1 && std::string("!<>+-*/%().,[]?:").find(c) == std::string::npos) {
        throw Unsupported(fmt::format("unexpected character '{}'", c));
      }
      i += op.size();
      out.push_back({Token::op, op});
    }
  }
  out.push_back({Token::end, ""});
  return out;
}

struct Env {
  std::map<std::string, Json> vars;
};

// An expression node: evaluates under an environment.
using Node = std::function<Json(const Env&)>;

Json truth(bool b) { return Json(b); }

bool as_bool(const Json& v) {
  if (!v.is_boolean()) throw EvalError(fmt::format("no matching overload: {} is not a bool", v.dump()));
  return v.get<bool>();
}

Json size_of(const Json& v) {
  if (v.is_string()) return static_cast<long long>(v.get<std::string>().size());
  if (v.is_array() || v.is_object()) return static_cast<long long>(v.size());
  throw EvalError(fmt::format("no matching overload for size() on {}", v.dump()));
}

int compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.get<std::string>().compare(b.get<std::string>());
  throw EvalError(fmt::format("no matching overload to compare {} and {}", a.dump(), b.dump()));
}

bool equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Node parse() {
    Node n = ternary();
    if (peek().kind != Token::end) throw Unsupported(fmt::format("unexpected '{}'", peek().text));
    return n;
  }

 private:
  const Token& peek() const { return t_[pos_]; }
  bool accept(const std::string& op) {
    if (peek().kind == Token::op && peek().text == op) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(const std::string& op) {
    if (!accept(op)) throw Unsupported(fmt::format("expected '{}' at '{}'", op, peek().text));
  }

  Node ternary() {
    Node cond = logical_or();
    if (!accept("?")) return cond;
    Node yes = ternary();
    expect(":");
    Node no = ternary();
    return [=](const Env& e) { return as_bool(cond(e)) ? yes(e) : no(e); };
  }

  // CEL's commutative && and ||: an error on one side is absorbed when the other decides.
  Node logical_or() { return logical_chain("||", &Parser::logical_and, true); }
  Node logical_and() { return logical_chain("&&", &Parser::relation, false); }
  Node logical_chain(const char* op, Node (Parser::*operand)(), bool is_or) {
    Node left = (this->*operand)();
    while (accept(op)) {
      Node right = (this->*operand)();
      left = [=](const Env& e) { return logical(left, right, e, is_or); };
    }
    return left;
  }
  static Json logical(const Node& l, const Node& r, const Env& e, bool is_or) {
    std::optional<std::string> error;
    for (const Node* side : {&l, &r}) {
      try {
        if (as_bool((*side)(e)) == is_or) return truth(is_or);
      } catch (const EvalError& err) {
        if (!error) error = err.what();
      }
    }
    if (error) throw EvalError(*error);
    return truth(!is_or);
  }

  Node relation() {
    Node left = additive();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (accept(op)) {
        Node right = additive();
        std::string o = op;
        return [=](const Env& e) {
          Json a = left(e), b = right(e);
          if (o == "==") return truth(equal(a, b));
          if (o == "!=") return truth(!equal(a, b));
          int c = compare(a, b);
          return truth(o == "<" ? c < 0 : o == "<=" ? c <= 0 : o == ">" ? c > 0 : c >= 0);
        };
      }
    }
    if (peek().kind == Token::ident && peek().text == "in") {
      ++pos_;
      Node right = additive();
      return [=](const Env& e) {
        Json a = left(e), b = right(e);
        if (b.is_array()) {
          for (const auto& item : b) {
            if (equal(item, a)) return truth(true);
          }
          return truth(false);
        }
        if (b.is_object() && a.is_string()) return truth(b.contains(a.get<std::string>()));
        throw EvalError("no matching overload for 'in'");
      };
    }
    return left;
  }

  Node additive() {
    Node left = unary();
    while (peek().kind == Token::op && (peek().text == "+" || peek().text == "-")) {
      std::string op = peek().text;
      ++pos_;
      Node right = unary();
      left = [=](const Env& e) -> Json {
        Json a = left(e), b = right(e);
        if (op == "+" && a.is_string() && b.is_string()) return a.get<std::string>() + b.get<std::string>();
        if (op == "+" && a.is_array() && b.is_array()) {
          Json out = a;
          for (const auto& x : b) out.push_back(x);
          return out;
        }
        if (a.is_number_integer() && b.is_number_integer()) {
          return op == "+" ? a.get<long long>() + b.get<long long>() : a.get<long long>() - b.get<long long>();
        }
        if (a.is_number() && b.is_number()) return op == "+" ? a.get<double>() + b.get<double>() : a.get<double>() - b.get<double>();
        throw EvalError(fmt::format("no matching overload for {}", op));
      };
    }
    return left;
  }

  Node unary() {
    if (accept("!")) {
      Node inner = unary();
      return [=](const Env& e) { return truth(!as_bool(inner(e))); };
    }
    if (accept("-")) {
      Node inner = unary();
      return [=](const Env& e) -> Json {
        Json v = inner(e);
        if (v.is_number_integer()) return -v.get<long long>();
        if (v.is_number()) return -v.get<double>();
        throw EvalError("no matching overload for unary -");
      };
    }
    return member(primary());
  }

  // A select chain for has(): the object and the final field.
  Node member(Node base) {
    for (;;) {
      if (accept(".")) {
        if (peek().kind != Token::ident) throw Unsupported("expected a field name after '.'");
        std::string name = peek().text;
        ++pos_;
        if (accept("(")) {
          base = method(base, name);
        } else {
          base = [=](const Env& e) -> Json {
            Json v = base(e);
            if (!v.is_object()) throw EvalError(fmt::format("no such key: {}", name));
            auto it = v.find(name);
            if (it == v.end()) throw EvalError(fmt::format("no such key: {}", name));
            return *it;
          };
        }
      } else if (accept("[")) {
        Node index = ternary();
        expect("]");
        base = [=](const Env& e) -> Json {
          Json v = base(e), i = index(e);
          if (v.is_array() && i.is_number_integer()) {
            long long k = i.get<long long>();
            if (k < 0 || k >= static_cast<long long>(v.size())) throw EvalError("index out of range");
            return v[static_cast<size_t>(k)];
          }
          if (v.is_object() && i.is_string()) {
            auto it = v.find(i.get<std::string>());
            if (it == v.end()) throw EvalError(fmt::format("no such key: {}", i.get<std::string>()));
            return *it;
          }
          throw EvalError("no matching overload for index");
        };
      } else {
        return base;
      }
    }
  }

  std::vector<Node> arguments() {
    std::vector<Node> args;
    if (accept(")")) return args;
    do {
      args.push_back(ternary());
    } while (accept(","));
    expect(")");
    return args;
  }

  Node method(Node target, const std::string& name) {
    if (name == "exists" || name == "all" || name == "exists_one") {
      if (peek().kind != Token::ident) throw Unsupported(name + "() needs a variable");
      std::string var = peek().text;
      ++pos_;
      expect(",");
      Node body = ternary();
      expect(")");
      return [=](const Env& e) -> Json {
        Json list = target(e);
        if (!list.is_array() && !list.is_object()) throw EvalError(name + "() on a non-list");
        std::vector<Json> items;
        if (list.is_array()) {
          for (const auto& x : list) items.push_back(x);
        } else {
          for (const auto& [k, v] : list.items()) items.emplace_back(k);
        }
        int hits = 0;
        for (const auto& item : items) {
          Env inner = e;
          inner.vars[var] = item;
          bool b = as_bool(body(inner));
          if (name == "exists" && b) return truth(true);
          if (name == "all" && !b) return truth(false);
          hits += b;
        }
        if (name == "exists_one") return truth(hits == 1);
        return truth(name == "all");
      };
    }
    std::vector<Node> args = arguments();
    auto string_method = [&](std::function<bool(const std::string&, const std::string&)> f) -> Node {
      if (args.size() != 1) throw Unsupported(name + "() takes one argument");
      Node arg = args[0];
      return [=](const Env& e) {
        Json s = target(e), a = arg(e);
        if (!s.is_string() || !a.is_string()) throw EvalError("no matching overload for " + name + "()");
        return truth(f(s.get<std::string>(), a.get<std::string>()));
      };
    };
    if (name == "size" && args.empty()) return [=](const Env& e) { return size_of(target(e)); };
    if (name == "startsWith") return string_method([](const std::string& s, const std::string& a) { return s.starts_with(a); });
    if (name == "endsWith") return string_method([](const std::string& s, const std::string& a) { return s.ends_with(a); });
    if (name == "contains") return string_method([](const std::string& s, const std::string& a) { return s.find(a) != std::string::npos; });
    if (name == "matches") {
      return string_method([](const std::string& s, const std::string& re) { return std::regex_search(s, std::regex(re)); });
    }
    throw Unsupported(fmt::format("method {}() is not in the supported subset", name));
  }

  Node primary() {
    Token tok = peek();
    ++pos_;
    switch (tok.kind) {
      case Token::number: {
        std::string text = tok.text;
        if (text.ends_with("u")) text.pop_back();
        if (text.find('.') != std::string::npos) {
          double d = std::stod(text);
          return [d](const Env&) { return Json(d); };
        }
        long long n = std::stoll(text);
        return [n](const Env&) { return Json(n); };
      }
      case Token::string: {
        std::string s = tok.text;
        return [s](const Env&) { return Json(s); };
      }
      case Token::ident: {
        if (tok.text == "true" || tok.text == "false") {
          bool b = tok.text == "true";
          return [b](const Env&) { return Json(b); };
        }
        if (tok.text == "null") return [](const Env&) { return Json(nullptr); };
        if (tok.text == "has") {
          expect("(");
          return has();
        }
        if (tok.text == "size" && accept("(")) {
          std::vector<Node> args = arguments();
          if (args.size() != 1) throw Unsupported("size() takes one argument");
          Node arg = args[0];
          return [arg](const Env& e) { return size_of(arg(e)); };
        }
        if (peek().kind == Token::op && peek().text == "(") throw Unsupported(fmt::format("function {}() is not in the supported subset", tok.text));
        std::string name = tok.text;
        return [name](const Env& e) -> Json {
          auto it = e.vars.find(name);
          if (it == e.vars.end()) throw EvalError(fmt::format("undeclared reference to '{}'", name));
          return it->second;
        };
      }
      case Token::op:
        if (tok.text == "(") {
          Node inner = ternary();
          expect(")");
          return inner;
        }
        if (tok.text == "[") {
          std::vector<Node> items;
          if (!accept("]")) {
            do {
              items.push_back(ternary());
            } while (accept(","));
            expect("]");
          }
          return [items](const Env& e) {
            Json out = Json::array();
            for (const auto& n : items) out.push_back(n(e));
            return out;
          };
        }
        break;
      case Token::end: break;
    }
    throw Unsupported(fmt::format("unexpected '{}'", tok.text));
  }

  // has(a.b.c): a.b must evaluate; true when it is a map holding c.
  Node has() {
    if (peek().kind != Token::ident) throw Unsupported("has() needs a field selection");
    std::vector<std::string> path{peek().text};
    ++pos_;
    while (accept(".")) {
      if (peek().kind != Token::ident) throw Unsupported("has() needs a field selection");
      path.push_back(peek().text);
      ++pos_;
    }
    expect(")");
    if (path.size() < 2) throw Unsupported("has() needs a field selection");
    return [path](const Env& e) -> Json {
      auto it = e.vars.find(path[0]);
      if (it == e.vars.end()) throw EvalError(fmt::format("undeclared reference to '{}'", path[0]));
      const Json* v = &it->second;
      for (size_t i = 1; i + 1 < path.size(); ++i) {
        if (!v->is_object() || !v->contains(path[i])) throw EvalError(fmt::format("no such key: {}", path[i]));
        v = &(*v)[path[i]];
      }
      if (!v->is_object()) throw EvalError("has() on a non-object");
      return truth(v->contains(path.back()));
    };
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
};

}  // namespace

Json evaluate(const std::string& expression, const Json& self) {
  Node n = Parser(tokenize(expression)).parse();
  Env env;
  env.vars["self"] = self;
  return n(env);
}

bool is_transition_rule(const std::string& expression) {
  for (const auto& t : tokenize(expression)) {
    if (t.kind == Token::ident && t.text == "oldSelf") return true;
  }
  return false;
}

}  // namespace pgshift::cnpg::cel
