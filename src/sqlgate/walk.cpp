#include "sqlgate/walk.hpp"

#include <fmt/format.h>

#include <cctype>
#include <set>
#include <vector>

#include "sqlgate/functions.hpp"
#include "sqlgate/relation_name.hpp"

namespace pgshift::sqlgate {
namespace {

using nlohmann::json;

std::optional<size_t> location_of(const json& node) {
  if (node.is_object()) {
    auto it = node.find("location");
    if (it != node.end() && it->is_number_integer() && it->get<long long>() >= 0) {
      return static_cast<size_t>(it->get<long long>());
    }
  }
  return std::nullopt;
}

// The largest location anywhere under node, skipping one key (used to find what follows a
// SELECT's last expression).
size_t max_location(const json& node, std::string_view skip_key) {
  size_t best = 0;
  std::vector<const json*> stack = {&node};
  while (!stack.empty()) {
    const json* j = stack.back();
    stack.pop_back();
    if (j->is_object()) {
      for (auto it = j->begin(); it != j->end(); ++it) {
        if (it.key() == skip_key) continue;
        if (it.key() == "location" && it->is_number_integer() && it->get<long long>() > 0) {
          best = std::max(best, static_cast<size_t>(it->get<long long>()));
        } else if (it->is_structured()) {
          stack.push_back(&*it);
        }
      }
    } else if (j->is_array()) {
      for (const json& item : *j) stack.push_back(&item);
    }
  }
  return best;
}

const json& null_json() {
  static const json null;
  return null;
}

// node[key], or null when absent (no copy, unlike json::value()).
const json& field(const json& node, const char* key) {
  if (!node.is_object()) return null_json();
  auto it = node.find(key);
  return it == node.end() ? null_json() : *it;
}

// The node inside a {"Type": {...}} wrapper, or null.
const json& unwrap(const json& wrapper) {
  if (wrapper.is_object() && wrapper.size() == 1) return wrapper.begin().value();
  return null_json();
}

std::string text_field(const json& node, const char* key) {
  const json& v = field(node, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// The last String of a name list ([{"String":{"sval":"pg_catalog"}},{"String":{"sval":"f"}}]).
std::string last_name(const json& names) {
  std::string out;
  if (!names.is_array()) return out;
  for (const json& part : names) {
    if (part.contains("String")) out = text_field(part["String"], "sval");
  }
  return out;
}

std::string_view node_type(const json& wrapper) {
  if (wrapper.is_object() && wrapper.size() == 1) {
    const std::string& key = wrapper.begin().key();
    if (!key.empty() && key[0] >= 'A' && key[0] <= 'Z') return key;
  }
  return {};
}

const char* strength_sql(const std::string& strength) {
  if (strength == "LCS_FORKEYSHARE") return "FOR KEY SHARE";
  if (strength == "LCS_FORSHARE") return "FOR SHARE";
  if (strength == "LCS_FORNOKEYUPDATE") return "FOR NO KEY UPDATE";
  return "FOR UPDATE";
}

const char* dml_sql(std::string_view type) {
  if (type == "InsertStmt") return "INSERT";
  if (type == "UpdateStmt") return "UPDATE";
  if (type == "DeleteStmt") return "DELETE";
  if (type == "MergeStmt") return "MERGE";
  return nullptr;
}

std::string denied_reason(const std::string& name, const DeniedFamily& family, bool attribute_notation) {
  if (attribute_notation) {
    return fmt::format("(...).{0} calls {0}(), which is not allowed: {1} [{2}]", name, family.reason, family.family);
  }
  return fmt::format("{}() is not allowed: {} [{}]", name, family.reason, family.family);
}

class Walker {
 public:
  Walker(const Tokens& tokens, size_t fallback) : tokens_(tokens), fallback_(fallback) {}

  WalkResult run(const json& tree) {
    struct Item {
      const json* node;
      size_t location;
    };
    std::vector<Item> stack = {{&tree, fallback_}};
    while (!stack.empty()) {
      Item item = stack.back();
      stack.pop_back();
      const json& j = *item.node;
      if (j.is_array()) {
        for (const json& child : j) stack.push_back({&child, item.location});
        continue;
      }
      if (!j.is_object()) continue;
      size_t here = location_of(j).value_or(item.location);
      for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        const json& value = *it;
        if (key == "intoClause" && value.is_object()) into_clause(value, here);
        if (key == "lockingClause" && value.is_array() && !value.empty()) locking_clause(j, value);
        // A TypeName sits unwrapped under "typeName" (TypeCast, ColumnDef, XmlSerialize).
        if (key == "typeName" && value.is_object() &&
            add(Reference::Kind::type, field(value, "names"), -1, location_of(value).value_or(here))) {
          // 'x'::t, 1::t, CAST(true AS t): the source is a built-in type (unknown, int, numeric, bool).
          references_.back().reference.constant = node_type(field(j, "arg")) == "A_Const";
        }
        if (!key.empty() && key[0] >= 'A' && key[0] <= 'Z' && value.is_object()) {
          inspect(key, value, location_of(value).value_or(here));
        }
        if (value.is_structured()) stack.push_back({&value, here});
      }
    }
    return {best_, std::move(references_)};
  }

 private:
  void report(Rule rule, std::string reason, size_t offset) {
    if (!best_ || offset < best_->offset) best_ = Finding{rule, std::move(reason), offset};
  }

  // The number of arguments a call passes, for the "name/N" patterns (-1 when unknowable).
  static int call_arity(const json& call) {
    if (field(call, "agg_star").is_boolean() && field(call, "agg_star").get<bool>()) return 0;
    const json& args = field(call, "args");
    return args.is_array() ? static_cast<int>(args.size()) : 0;
  }

  void check_call(const std::string& name, size_t offset, bool attribute_notation, int nargs) {
    std::string folded = fold_name(name);
    if (const DeniedFamily* family = denied_function(folded, nargs)) {
      report(Rule::denied_function, denied_reason(name, *family, attribute_notation), offset);
    }
  }

  void inspect(const std::string& type, const json& node, size_t here) {
    if (type == "FuncCall") {
      std::string name = last_name(field(node, "funcname"));
      check_call(name, here, false, call_arity(node));
      add_call(node, here);
      if (reads_relation_argument(fold_name(name))) relation_argument(name, node, here);
    } else if (type == "A_Indirection") {
      // (expr).name is a call to name(expr) when expr is not a composite with such a column.
      size_t after = location_of(unwrap(field(node, "arg"))).value_or(here);
      const json& parts = field(node, "indirection");
      if (!parts.is_array()) return;
      for (const json& part : parts) {
        if (!part.contains("String")) continue;
        std::string name = text_field(part["String"], "sval");
        size_t at = tokens_.find_word(name, after).value_or(here);
        check_call(name, at, true, 1);
        references_.push_back({Reference{Reference::Kind::attribute, "", name, 1, false, 0}, at});
      }
    } else if (type == "ColumnRef") {
      // t.f calls f(t) when t has no column f and a function f of t's row type exists.
      const json& fields = field(node, "fields");
      if (fields.is_array() && fields.size() >= 2 && fields.back().contains("String")) {
        std::string name = text_field(fields.back()["String"], "sval");
        size_t at = tokens_.find_word(name, here).value_or(here);
        references_.push_back({Reference{Reference::Kind::row_attribute, "", name, 1, false, 0}, at});
      }
    } else if (type == "RangeTableSample") {
      // TABLESAMPLE method(...) calls the method's handler function by name.
      check_call(last_name(field(node, "method")), here, false, -1);
      add(Reference::Kind::tablesample, field(node, "method"), -1, here);
    } else if (type == "RangeFunction") {
      range_function(node);
    } else if (type == "A_Expr") {
      add_operator(node, here);
    } else if (type == "SubLink") {
      // x = ANY (SELECT ...), x < ALL (...), (a, b) = (SELECT ...): the comparison operator.
      add(Reference::Kind::operator_, field(node, "operName"), 2, here);
    } else if (type == "TypeName") {
      add(Reference::Kind::type, field(node, "names"), -1, here);
    } else if (type == "RangeVar") {
      add_relation(node, here);
      std::string name = text_field(node, "relname");
      if (const DeniedFamily* family = denied_relation(fold_name(name))) {
        report(Rule::denied_relation, fmt::format("{} is not allowed: {} [{}]", name, family->reason, family->family),
               here);
      }
    } else if (type == "CommonTableExpr") {
      std::string_view query = node_type(field(node, "ctequery"));
      if (const char* dml = dml_sql(query)) {
        report(Rule::data_modifying_cte,
               fmt::format("WITH {} AS ({} ...) modifies data: every CTE must be a plain query",
                           text_field(node, "ctename"), dml),
               here);
      }
    } else if (const char* dml = dml_sql(type)) {
      report(Rule::data_modifying_cte, fmt::format("{} inside a query modifies data", dml), here);
    } else if (type.ends_with("Stmt") && type != "SelectStmt") {
      report(Rule::statement_type, fmt::format("a {} inside a query is not allowed", type), here);
    }
  }

  // The functions called as table sources: FROM f(...), ROWS FROM (f(...), g(...)).
  void range_function(const json& node) {
    const json& functions = field(node, "functions");
    if (!functions.is_array()) return;
    for (const json& entry : functions) {
      const json& items = field(field(entry, "List"), "items");
      if (items.is_array() && !items.empty() && node_type(items[0]) == "FuncCall") in_from_.insert(&items[0]["FuncCall"]);
    }
  }

  // Records a reference named by a name list; false when the list holds no name.
  bool add(Reference::Kind kind, const json& names, int nargs, size_t offset) {
    if (!names.is_array() || names.empty()) return false;
    Reference r;
    r.kind = kind;
    r.name = last_name(names);
    if (names.size() > 1) r.schema = text_field(field(names[names.size() - 2], "String"), "sval");
    r.nargs = nargs;
    if (r.name.empty()) return false;
    references_.push_back({std::move(r), offset});
    return true;
  }

  void add_call(const json& call, size_t here) {
    int nargs = call_arity(call);
    // An ordered-set aggregate's ORDER BY arguments are arguments: percentile_cont(float8, float8).
    const json& order = field(call, "agg_order");
    const json& within = field(call, "agg_within_group");
    if (within.is_boolean() && within.get<bool>() && order.is_array()) nargs += static_cast<int>(order.size());
    if (add(Reference::Kind::function, field(call, "funcname"), nargs, here) && in_from_.count(&call)) {
      references_.back().reference.in_from = true;
    }
    // t(x) is a cast to type t when no function t fits: t's input function or a cast into t.
    if (nargs == 1) add(Reference::Kind::type, field(call, "funcname"), -1, here);
  }

  void add_operator(const json& node, size_t here) {
    const json& names = field(node, "name");
    std::string op = last_name(names);
    if (op.find("BETWEEN") != std::string::npos) {
      // a BETWEEN b AND c compares with the type's <= and >= (NOT BETWEEN: < and >).
      for (const char* implied : {"<", "<=", ">", ">="}) {
        references_.push_back({Reference{Reference::Kind::operator_, "", implied, 2, false, 0}, here});
      }
      return;
    }
    // LIKE's and IN's keywords name no operator (the tree names ~~, =, <> instead).
    if (op.empty() || std::isalpha(static_cast<unsigned char>(op[0]))) return;
    add(Reference::Kind::operator_, names, field(node, "lexpr").is_null() ? 1 : 2, here);
  }

  // table_to_xml('t'::regclass, ...) reads t as FROM t would: t becomes a relation of the
  // statement. Anything but a constant name (an oid, a column such as pg_class.oid, an
  // expression, to_regclass(...)) could name any relation, so the call is refused.
  void relation_argument(const std::string& function, const json& call, size_t here) {
    const json& args = field(call, "args");
    const json* arg = args.is_array() && !args.empty() && node_type(args[0]) != "NamedArgExpr" ? &args[0] : nullptr;
    if (args.is_array() && !arg) {
      for (const json& a : args) {
        const json& named = field(a, "NamedArgExpr");
        if (text_field(named, "name") == "tbl") arg = &field(named, "arg");
      }
    }
    size_t at = arg ? location_of(unwrap(*arg)).value_or(here) : here;
    // 'name'::regclass, CAST('name' AS regclass), or 'name' alone.
    while (arg && node_type(*arg) == "TypeCast" &&
           fold_name(last_name(field(field(unwrap(*arg), "typeName"), "names"))) == "regclass") {
      arg = &field(unwrap(*arg), "arg");
    }
    const json& constant = arg && node_type(*arg) == "A_Const" ? unwrap(*arg) : null_json();
    std::optional<RelationName> named;
    if (constant.contains("sval")) named = parse_relation_name(text_field(field(constant, "sval"), "sval"));
    if (!named) {
      report(Rule::relation_argument,
             fmt::format("{}() reads the relation its first argument names: give it as a constant name "
                         "('schema.table'::regclass) so the gate can check what it reads (foreign tables can run "
                         "programs); an oid, a column or an expression is refused",
                         function),
             at);
      return;
    }
    if (const DeniedFamily* family = denied_relation(fold_name(named->name))) {
      report(Rule::denied_relation,
             fmt::format("{}() reads {}, which is not allowed: {} [{}]", function, named->name, family->reason,
                         family->family),
             at);
    }
    Reference r;
    r.kind = Reference::Kind::relation;
    r.schema = named->schema;
    r.name = named->name;
    references_.push_back({std::move(r), at});
  }

  void add_relation(const json& node, size_t here) {
    Reference r;
    r.kind = Reference::Kind::relation;
    r.schema = text_field(node, "schemaname");
    r.name = text_field(node, "relname");
    if (!r.name.empty()) references_.push_back({std::move(r), here});
  }

  void into_clause(const json& into, size_t here) {
    size_t target = location_of(field(into, "rel")).value_or(here);
    report(Rule::select_into, "SELECT INTO creates a table: not allowed (use a plain SELECT)",
           tokens_.find_word_before("into", target).value_or(target));
  }

  void locking_clause(const json& select, const json& clauses) {
    std::string strength = "LCS_FORUPDATE";
    std::string given = text_field(field(clauses[0], "LockingClause"), "strength");
    if (!given.empty()) strength = given;
    size_t after = max_location(select, "lockingClause");
    size_t at = tokens_.find_word("for", after).value_or(after);
    report(Rule::locking_clause,
           fmt::format("{} locks rows: not allowed in a read-only statement", strength_sql(strength)), at);
  }

  const Tokens& tokens_;
  size_t fallback_;
  std::optional<Finding> best_;
  std::vector<LocatedReference> references_;
  std::set<const json*> in_from_;
};

}  // namespace

WalkResult walk(const nlohmann::json& tree, const Tokens& tokens, size_t fallback) {
  return Walker(tokens, fallback).run(tree);
}

}  // namespace pgshift::sqlgate
