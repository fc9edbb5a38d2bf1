#include "verify/table_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pg/quote.hpp"

namespace pgshift::verify {
namespace {

// Types whose btree order is the same in every database and free of collations.
bool stable_order(const std::string& type) {
  static const std::set<std::string> types = {
      "smallint", "integer", "bigint", "oid", "numeric", "real", "double precision", "uuid", "date",
      "time without time zone", "timestamp without time zone", "timestamp with time zone", "bytea", "boolean"};
  return types.count(type) > 0;
}

bool text_like(const std::string& type) {
  return type == "text" || type == "character varying" || type == "character";
}

std::string effective_type(const catalog::Column& c) {
  return strip_typmod(c.type_kind == "domain" ? c.domain_base : c.type);
}

bool integer_type(const catalog::Column& c) {
  return c.type_kind == "base" && (c.type == "smallint" || c.type == "integer" || c.type == "bigint");
}

KeyPart key_part(const catalog::Column& here, const catalog::Column& there, bool linguistic) {
  KeyPart k;
  k.column = here.name;
  const std::string q = pg::quote_ident(here.name);
  const std::string type = effective_type(here);
  const bool same = same_type(here, there);
  k.text_expr = "(" + q + ")::text";
  if (!same && integer_type(here) && integer_type(there)) {
    // integer against bigint: compared as numbers. Bounds and lookups are bigint on both sides
    // (the integer btree family compares across widths, so the index still serves them).
    k.order_expr = q;
    k.bound_type = "bigint";
    k.lookup_expr = q;
    k.lookup_type = "bigint";
    return k;
  }
  if (!same) k.text_expr = output_text(q);  // as replication carries it: char(n) keeps its padding
  if (same && stable_order(type)) {
    k.order_expr = q;
    k.bound_type = here.type;
  } else if (same && text_like(type)) {
    // Text compares byte-wise on both sides. bpchar keeps its own type: casting it to text
    // would strip the padding and hide the index.
    k.bound_type = type == "character" ? here.type : "text";
    k.order_expr = linguistic ? q + " COLLATE \"C\"" : q;
    k.index_order = !linguistic;
  } else {
    k.order_expr = k.text_expr + " COLLATE \"C\"";
    k.bound_type = "text";
    k.index_order = false;
  }
  if (same && (stable_order(type) || text_like(type))) {
    k.lookup_expr = q;
    k.lookup_type = here.type;
  } else {
    k.lookup_expr = k.text_expr;
    k.lookup_type = "text";
  }
  return k;
}

bool has_index_on(const catalog::Table& t, const std::vector<std::string>& columns) {
  for (const auto& idx : t.unique_indexes) {
    if (idx.columns == columns && idx.valid && !idx.partial && !idx.has_expressions) return true;
  }
  return false;
}

std::vector<std::string> choose_key(const catalog::Table& t) {
  if (!t.primary_key.empty()) return t.primary_key;
  if (const catalog::UniqueIndex* idx = t.identity_candidate()) return idx->columns;
  return {};
}

// A compared column on one side, before hashing: the column (its domain's base type when hashed
// natively), or, when its type differs between the sides, the value as replication carries it:
// the source's output text cast to the target's type (output text on both sides when the
// target's type cannot be named on the source).
std::string column_ref(const catalog::Column& col, const catalog::Column& other, HashMethod method, bool is_source) {
  std::string q = pg::quote_ident(col.name);
  if (same_type(col, other)) {
    std::string cast = native_cast(col);
    return method != HashMethod::text_form && !cast.empty() ? "(" + q + ")::" + cast : q;
  }
  const catalog::Column& target = is_source ? other : col;
  if (!builtin_type(target)) return output_text(q);
  return is_source ? "(" + output_text(q) + ")::" + target.type : q;
}

SideSql side_sql(const catalog::Table& here, const catalog::Table& there, const std::vector<std::string>& key,
                 const std::vector<CompareColumn>& columns, const std::set<std::string>& linguistic, Mode mode,
                 const EnumLabels& enums, bool is_source) {
  SideSql s;
  s.relation = here.ref.quoted();
  for (const auto& name : key) {
    s.key.push_back(key_part(*here.column(name), *there.column(name), linguistic.count(name) > 0));
  }
  s.has_key_index = !key.empty() && has_index_on(here, key);
  for (size_t i = 0; i < columns.size(); ++i) {
    const catalog::Column& col = *here.column(columns[i].name);
    const catalog::Column& other = *there.column(columns[i].name);
    std::string ref = column_ref(col, other, columns[i].method, is_source);
    auto labels = enums.find(col.type);
    if (col.type_kind == "enum" && labels != enums.end() && same_type(col, other)) {
      s.terms.push_back(enum_term(ref, col.type, labels->second, i, !col.not_null, s.term_params));
    } else {
      s.terms.push_back(hash_term(columns[i].method, ref, i, !col.not_null));
    }
  }
  if (mode == Mode::full) {
    s.row_hash = s.terms.empty() ? "0::bigint" : fmt::format("{}", fmt::join(s.terms, " # "));
  }
  return s;
}

// Counts mode where a side has no unique index on the key: that side may hold a key twice (a
// duplicate in place of a missing row keeps the count), so each side's checksum is over the
// keys (their hashes' XOR per row), which a count alone is not.
void key_set_hash(TablePlan& p) {
  for (SideSql* side : {&p.source, &p.target}) {
    std::vector<std::string> terms;
    for (size_t i = 0; i < side->key.size(); ++i) {
      terms.push_back(hash_term(HashMethod::text_form, side->key[i].text_expr, i, true));
    }
    side->row_hash = fmt::format("{}", fmt::join(terms, " # "));
    side->row_hash_binds_terms = false;
  }
}

}  // namespace

std::string to_string(Strategy strategy) {
  switch (strategy) {
    case Strategy::key_ranges: return "key-ranges";
    case Strategy::key_scan: return "key-scan";
    case Strategy::whole: return "whole-table";
  }
  return "whole-table";
}

EnumLabels enum_labels(const catalog::Snapshot& snapshot) {
  EnumLabels out;
  for (const auto& e : snapshot.enums) out[e.name] = e.labels;
  return out;
}

TablePlan plan_table(const catalog::Table& source, const catalog::Table& target,
                     const std::set<std::string>& linguistic_source, const std::set<std::string>& linguistic_target,
                     Mode mode, const EnumLabels& source_enums, const EnumLabels& target_enums,
                     const std::set<std::string>& excluded_columns) {
  TablePlan p;
  p.table = source.ref;
  for (const auto& c : source.columns) {
    if (excluded_columns.count(c.name)) {
      p.excluded_columns.push_back(c.name);
    } else if (const catalog::Column* t = target.column(c.name)) {
      p.columns.push_back({c.name, hash_method(c, *t)});
    } else {
      p.missing_on_target.push_back(c.name);
    }
  }
  std::vector<std::string> extra;
  for (const auto& c : target.columns) {
    if (!source.column(c.name) && !excluded_columns.count(c.name)) extra.push_back(c.name);
  }
  if (!extra.empty()) {
    p.notes.push_back(fmt::format("target-only columns not compared: {}", fmt::join(extra, ", ")));
  }

  std::vector<std::string> key = choose_key(source);
  if (key.empty()) p.notes.push_back("no primary key or unique NOT NULL index: hashed whole");
  for (const auto& k : key) {
    if (!target.column(k)) {
      p.notes.push_back(fmt::format("key column {} is missing on the target: hashed whole", k));
      key.clear();
      break;
    }
  }
  p.key_columns = key;
  p.source = side_sql(source, target, key, p.columns, linguistic_source, mode, source_enums, true);
  p.target = side_sql(target, source, key, p.columns, linguistic_target, mode, target_enums, false);

  if (key.empty()) {
    p.strategy = Strategy::whole;
    return p;
  }
  // Key ranges need every key part index-ordered and a unique index on the key, on both sides.
  std::vector<std::string> bytewise, no_index;
  for (const SideSql* side : {&p.source, &p.target}) {
    const char* name = side == &p.source ? "source" : "target";
    for (const auto& part : side->key) {
      if (!part.index_order) {
        bytewise.push_back(fmt::format("{} on the {}", part.column, name));
      }
    }
    if (!side->has_key_index) no_index.push_back(name);
  }
  p.strategy = bytewise.empty() && no_index.empty() ? Strategy::key_ranges : Strategy::key_scan;
  if (mode == Mode::counts && !no_index.empty()) key_set_hash(p);
  if (!bytewise.empty()) {
    p.notes.push_back(fmt::format("key compared byte-wise (COLLATE \"C\"), which the index cannot serve ({}): "
                                  "one scan per side",
                                  fmt::join(bytewise, ", ")));
  }
  if (!no_index.empty()) {
    p.notes.push_back(fmt::format("no unique index on ({}) on the {}: one scan per side", fmt::join(key, ", "),
                                  fmt::join(no_index, " and ")));
  }
  return p;
}

}  // namespace pgshift::verify
