// Pure planning: which tables the publication covers, which replica identities change, what
// differs between the sides at start, and drift since then.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "pg/quote.hpp"
#include "logical/logical.hpp"

namespace pgshift::logical {
namespace {

using catalog::ReplicaIdentity;

catalog::ReplicaIdentity identity_from_string(const std::string& text) {
  if (text == "full") return ReplicaIdentity::full;
  if (text == "index") return ReplicaIdentity::index;
  if (text == "nothing") return ReplicaIdentity::nothing;
  return ReplicaIdentity::default_key;
}

using Columns = std::vector<std::string>;

Columns index_columns(const catalog::Table& t, const std::string& index) {
  for (const auto& idx : t.unique_indexes) {
    if (idx.name == index) return idx.columns;
  }
  return {};
}

bool within(const Columns& part, const Columns& whole) {
  return std::all_of(part.begin(), part.end(),
                     [&](const std::string& c) { return std::find(whole.begin(), whole.end(), c) != whole.end(); });
}

bool same_set(const Columns& a, const Columns& b) { return a.size() == b.size() && within(a, b); }

// The columns the subscriber finds a row by: its replica identity index, else its primary key
// (whatever REPLICA IDENTITY says otherwise). Empty when it has neither.
Columns subscriber_key(const catalog::Table& t) {
  if (t.replica_identity == ReplicaIdentity::index && !t.replica_identity_index.empty()) {
    return index_columns(t, t.replica_identity_index);
  }
  return t.primary_key;
}

// The columns the source sends to identify a row once `identity` is in place; empty for FULL
// (every column is sent).
Columns published_key(const catalog::Table& t, ReplicaIdentity identity, const std::string& index) {
  if (identity == ReplicaIdentity::index) return index_columns(t, index);
  if (identity == ReplicaIdentity::default_key) return t.primary_key;
  return {};
}

// The narrowest usable unique index of t (not the primary key) whose columns satisfy pred.
template <typename Pred>
const catalog::UniqueIndex* usable_index(const catalog::Table& t, Pred pred) {
  const catalog::UniqueIndex* best = nullptr;
  for (const auto& idx : t.unique_indexes) {
    if (idx.primary || !idx.usable_as_identity() || !pred(idx.columns)) continue;
    if (!best || idx.columns.size() < best->columns.size()) best = &idx;
  }
  return best;
}

IdentityChange change(IdentityChange::Side side, const catalog::Table& t, ReplicaIdentity to, std::string to_index,
                      std::string why) {
  IdentityChange c;
  c.side = side;
  c.table = t.ref;
  c.from = t.replica_identity;
  c.from_index = t.replica_identity_index;
  c.to = to;
  c.to_index = std::move(to_index);
  c.why = std::move(why);
  return c;
}

// The source change a table (or leaf partition) needs so its UPDATE and DELETE can be
// published, ignoring the target: for partitions, whose target side is the partitioned root.
std::optional<IdentityChange> source_change_alone(const catalog::Table& t) {
  if (t.replica_identity == ReplicaIdentity::nothing && !t.primary_key.empty()) {
    return change(IdentityChange::Side::source, t, ReplicaIdentity::default_key, "",
                  "REPLICA IDENTITY NOTHING would make UPDATE and DELETE fail once published; the primary key serves");
  }
  if (t.has_usable_identity()) return std::nullopt;
  if (const catalog::UniqueIndex* idx = t.identity_candidate()) {
    return change(IdentityChange::Side::source, t, ReplicaIdentity::index, idx->name,
                  fmt::format("no primary key; unique index {} on NOT NULL columns ({})", idx->name,
                              fmt::join(idx->columns, ", ")));
  }
  return change(IdentityChange::Side::source, t, ReplicaIdentity::full, "",
                "no primary key and no unique index on NOT NULL columns; each replicated UPDATE/DELETE scans the "
                "target table");
}

// Both sides of one replicated (non-partitioned) table pair.
void plan_pair(const catalog::Table& s, const catalog::Table& t, PublicationPlan& plan) {
  const Columns target_key = subscriber_key(t);
  const bool chosen_by_us = !s.has_usable_identity() ||
                            (s.replica_identity == ReplicaIdentity::nothing && !s.primary_key.empty());
  if (s.replica_identity == ReplicaIdentity::full) return;  // every column is sent: any target works
  if (chosen_by_us && s.primary_key.empty()) {
    // Pick a source index the target can match, else FULL.
    const catalog::UniqueIndex* src_idx = nullptr;
    const catalog::UniqueIndex* tgt_idx = nullptr;
    if (!target_key.empty()) {
      src_idx = usable_index(s, [&](const Columns& cols) { return within(target_key, cols); });
    } else {
      src_idx = usable_index(s, [&](const Columns& cols) {
        return usable_index(t, [&](const Columns& tcols) { return same_set(tcols, cols); }) != nullptr;
      });
      if (src_idx) tgt_idx = usable_index(t, [&](const Columns& tcols) { return same_set(tcols, src_idx->columns); });
    }
    if (src_idx) {
      plan.identity_changes.push_back(change(IdentityChange::Side::source, s, ReplicaIdentity::index, src_idx->name,
                                             fmt::format("no primary key; unique index {} on NOT NULL columns ({})",
                                                         src_idx->name, fmt::join(src_idx->columns, ", "))));
      if (tgt_idx) {
        plan.identity_changes.push_back(change(IdentityChange::Side::target, t, ReplicaIdentity::index, tgt_idx->name,
                                               fmt::format("the subscriber finds rows by unique index {} ({})",
                                                           tgt_idx->name, fmt::join(tgt_idx->columns, ", "))));
      }
      return;
    }
    std::string why = s.identity_candidate()
                          ? "no primary key, and the target has no matching unique index for the source's unique "
                            "index; each replicated UPDATE/DELETE scans the target table"
                          : "no primary key and no unique index on NOT NULL columns; each replicated UPDATE/DELETE "
                            "scans the target table";
    plan.identity_changes.push_back(change(IdentityChange::Side::source, s, ReplicaIdentity::full, "", why));
    return;
  }
  // The source keeps (or gets back) a key of its own: the target must find rows by part of it.
  if (chosen_by_us) {
    plan.identity_changes.push_back(*source_change_alone(s));
  }
  const Columns sent = chosen_by_us ? s.primary_key : published_key(s, s.replica_identity, s.replica_identity_index);
  if (!target_key.empty()) {
    if (within(target_key, sent)) return;
    plan.key_problems.push_back(fmt::format("{}: the target finds rows by ({}), which the source does not send (its "
                                            "replica identity is ({})); make the keys match, or set REPLICA IDENTITY "
                                            "FULL on the source",
                                            s.ref.display(), fmt::join(target_key, ", "), fmt::join(sent, ", ")));
    return;
  }
  if (const catalog::UniqueIndex* idx = usable_index(t, [&](const Columns& cols) { return within(cols, sent); })) {
    plan.identity_changes.push_back(change(IdentityChange::Side::target, t, ReplicaIdentity::index, idx->name,
                                           fmt::format("no primary key on the target; unique index {} ({}) finds "
                                                       "the rows",
                                                       idx->name, fmt::join(idx->columns, ", "))));
    return;
  }
  plan.key_problems.push_back(fmt::format("{}: the target has no primary key or unique NOT NULL index on ({}), the "
                                          "source's replica identity, so UPDATE and DELETE could not be applied; "
                                          "add it on the target",
                                          s.ref.display(), fmt::join(sent, ", ")));
}

// A partitioned table published through its root: changes are decoded with each leaf's identity
// but announced under the root's, so both must agree. Without a key the root and every leaf
// become FULL.
void plan_partitioned(const catalog::Snapshot& source, const catalog::Table& root, PublicationPlan& plan) {
  bool full = root.replica_identity == ReplicaIdentity::full;
  if (!full && !root.has_usable_identity()) {
    if (auto c = source_change_alone(root); c && c->to == ReplicaIdentity::default_key) {
      plan.identity_changes.push_back(*c);
    } else {
      plan.identity_changes.push_back(change(IdentityChange::Side::source, root, ReplicaIdentity::full, "",
                                             "partitioned table without a primary key; its partitions' changes "
                                             "are published under its identity"));
      full = true;
    }
  }
  for (const auto& leaf : source.tables) {
    if (leaf.kind != catalog::TableKind::partition || !leaf.partition_root || *leaf.partition_root != root.ref) continue;
    if (full) {
      if (leaf.replica_identity != ReplicaIdentity::full) {
        plan.identity_changes.push_back(change(IdentityChange::Side::source, leaf, ReplicaIdentity::full, "",
                                               fmt::format("partition of {}, which is replicated with REPLICA "
                                                           "IDENTITY FULL",
                                                           root.ref.display())));
      }
    } else if (auto c = source_change_alone(leaf)) {
      plan.identity_changes.push_back(*c);
    }
  }
}

}  // namespace

std::string identity_clause(catalog::ReplicaIdentity identity, const std::string& index) {
  switch (identity) {
    case ReplicaIdentity::full: return "FULL";
    case ReplicaIdentity::nothing: return "NOTHING";
    case ReplicaIdentity::index: return "USING INDEX " + pg::quote_ident(index);
    case ReplicaIdentity::default_key: return "DEFAULT";
  }
  return "DEFAULT";
}

std::string IdentityChange::describe() const {
  auto clause = [](ReplicaIdentity id, const std::string& idx) {
    return id == ReplicaIdentity::index ? "USING INDEX " + idx : identity_clause(id, idx);
  };
  return fmt::format("{} {}: REPLICA IDENTITY {} (was {}; {})", database_role(), table.display(), clause(to, to_index), clause(from, from_index), why);
}

nlohmann::json IdentityChange::to_json() const {
  return {{"side", side == Side::source ? "source" : "target"},
          {"table", table.display()}, {"schema", table.schema},       {"name", table.name},
          {"from", catalog::to_string(from)}, {"from_index", from_index}, {"to", catalog::to_string(to)},
          {"to_index", to_index},             {"why", why}, {"reversed", reversed}};
}

IdentityChange IdentityChange::from_json(const nlohmann::json& doc) {
  IdentityChange c;
  c.side = doc.value("side", "source") == "target" ? Side::target : Side::source;
  c.table = {doc.at("schema").get<std::string>(), doc.at("name").get<std::string>()};
  c.from = identity_from_string(doc.value("from", "default"));
  c.from_index = doc.value("from_index", "");
  c.to = identity_from_string(doc.value("to", "full"));
  c.to_index = doc.value("to_index", "");
  c.reversed = doc.value("reversed", false);
  c.why = doc.value("why", "");
  return c;
}

namespace {

std::set<catalog::TableRef> leaves_of(const catalog::Snapshot& snap, const catalog::TableRef& root) {
  std::set<catalog::TableRef> out;
  for (const auto& t : snap.tables) {
    if (t.kind == catalog::TableKind::partition && t.partition_root == root) out.insert(t.ref);
  }
  return out;
}

// Partitions one partitioned side has and the other lacks, while both sides are partitioned: a
// row routed to a partition the other side lacks stops the apply ("no partition of relation ...
// found for row") for everything behind it.
std::vector<Drift> partition_drift(const catalog::Snapshot& source, const catalog::Snapshot& target,
                                   const catalog::TableRef& ref) {
  const catalog::Table* s = source.table(ref);
  const catalog::Table* t = target.table(ref);
  std::vector<Drift> out;
  if (!s || !t || s->kind != catalog::TableKind::partitioned || t->kind != catalog::TableKind::partitioned) return out;
  std::set<catalog::TableRef> sl = leaves_of(source, ref), tl = leaves_of(target, ref);
  for (const auto& leaf : sl) {
    if (tl.count(leaf)) continue;
    out.push_back({ref, "", "partition_missing_on_target",
                   fmt::format("{}: partition {} exists on the source only (rows routed to it cannot be applied on "
                               "the target: create the partition there)",
                               ref.display(), leaf.display()),
                   "", "", "", ""});
  }
  for (const auto& leaf : tl) {
    if (sl.count(leaf)) continue;
    out.push_back({ref, "", "partition_missing_on_source",
                   fmt::format("{}: partition {} exists on the target only (rows routed to it cannot be replicated "
                               "back to the source: create the partition there)",
                               ref.display(), leaf.display()),
                   "", "", "", ""});
  }
  return out;
}

}  // namespace

PublicationPlan plan_publication(const catalog::Snapshot& source, const catalog::Snapshot& target,
                                 const std::vector<catalog::TablePattern>& excludes) {
  PublicationPlan plan;
  catalog::TableSelection sel = catalog::select_tables(source, target, excludes);
  plan.tables = sel.replicated;
  plan.left_out = sel.left_out;
  for (const auto& ref : plan.tables) {
    const catalog::Table* t = source.table(ref);
    if (!t) continue;
    const catalog::Table* tt = target.table(ref);
    if (t->kind == catalog::TableKind::partitioned) {
      plan_partitioned(source, *t, plan);
    } else if (tt && tt->kind != catalog::TableKind::partitioned) {
      plan_pair(*t, *tt, plan);
    } else if (auto c = source_change_alone(*t)) {
      plan.identity_changes.push_back(*c);
    }
    if (tt) {
      for (const auto& d : catalog::diff_table(*t, *tt)) plan.accepted_differences.push_back(catalog::describe(d));
      // Partitioned differently from the start is the operator's choice (e.g. a default partition).
      for (const auto& d : partition_drift(source, target, ref)) plan.accepted_differences.push_back(d.description);
    }
  }
  // Labels only the target has were there from the start (the source's missing ones refuse it).
  for (const auto& d : enum_drift(source, target)) plan.accepted_differences.push_back(d.description);
  return plan;
}

std::vector<Drift> enum_drift(const catalog::Snapshot& source, const catalog::Snapshot& target) {
  std::vector<Drift> out;
  auto labels_missing = [&](const catalog::Snapshot& from, const catalog::Snapshot& to, const std::string& from_side,
                            const std::string& to_side) {
    for (const auto& e : from.enums) {
      const catalog::EnumType* other = nullptr;
      for (const auto& o : to.enums) {
        if (o.name == e.name) other = &o;
      }
      if (!other) continue;  // a whole type missing shows where a column uses it
      for (const auto& label : e.labels) {
        if (std::find(other->labels.begin(), other->labels.end(), label) != other->labels.end()) continue;
        size_t dot = e.name.find('.');
        catalog::TableRef ref{dot == std::string::npos ? "" : e.name.substr(0, dot),
                              dot == std::string::npos ? e.name : e.name.substr(dot + 1)};
        Drift d{ref, "", "enum_labels_missing_on_" + to_side,
                fmt::format("type {}: label '{}' exists on the {} only (a row using it cannot be applied on the {})",
                            e.name, label, from_side, to_side),
                "", "", "", ""};
        d.statement = fmt::format("ALTER TYPE {} ADD VALUE IF NOT EXISTS {}", e.name, pg::quote_literal(label));
        d.run_on = to_side;
        out.push_back(std::move(d));
      }
    }
  };
  labels_missing(source, target, "source", "target");
  labels_missing(target, source, "target", "source");
  return out;
}

std::vector<std::string> diff_tables(const std::vector<catalog::TableRef>& published,
                                     const std::vector<catalog::TableRef>& planned) {
  std::set<catalog::TableRef> have(published.begin(), published.end());
  std::set<catalog::TableRef> want(planned.begin(), planned.end());
  std::vector<std::string> out;
  for (const auto& t : want) {
    if (!have.count(t)) out.push_back("+ " + t.display());
  }
  for (const auto& t : have) {
    if (!want.count(t)) out.push_back("− " + t.display());
  }
  return out;
}

std::vector<Drift> find_drift(const catalog::Snapshot& source, const catalog::Snapshot& target,
                              const std::vector<catalog::TableRef>& published,
                              const std::vector<std::string>& accepted_differences) {
  std::set<std::string> accepted(accepted_differences.begin(), accepted_differences.end());
  std::vector<Drift> out;
  for (const auto& ref : published) {
    const catalog::Table* s = source.table(ref);
    const catalog::Table* t = target.table(ref);
    std::string sf = s ? catalog::fingerprint(*s) : "";
    std::string tf = t ? catalog::fingerprint(*t) : "";
    if (!s || !t) {
      std::string kind = s ? "table_missing_on_target" : "table_missing_on_source";
      out.push_back({ref, "", kind,
                     fmt::format("{}: published, but no longer exists on the {}", ref.display(), s ? "target" : "source"),
                     sf, tf, "", ""});
      continue;
    }
    for (auto& d : partition_drift(source, target, ref)) {
      if (!accepted.count(d.description)) out.push_back(std::move(d));
    }
    if (sf == tf) continue;
    for (const auto& d : catalog::diff_table(*s, *t)) {
      std::string text = catalog::describe(d);
      if (accepted.count(text)) continue;
      Drift drift{ref, d.column, catalog::to_string(d.kind), text, sf, tf, "", ""};
      std::string col = pg::quote_ident(d.column);
      switch (d.kind) {
        case catalog::ColumnDifference::Kind::missing_on_target:
          drift.statement = fmt::format("ALTER TABLE {} ADD COLUMN {} {}", ref.quoted(), col, d.source_type);
          drift.run_on = "target";
          break;
        case catalog::ColumnDifference::Kind::extra_on_target:
          drift.statement = fmt::format("ALTER TABLE {} ADD COLUMN {} {}", ref.quoted(), col, d.target_type);
          drift.run_on = "source";
          break;
        case catalog::ColumnDifference::Kind::type_mismatch:
          drift.statement = fmt::format("ALTER TABLE {} ALTER COLUMN {} TYPE {}", ref.quoted(), col, d.source_type);
          drift.run_on = "target";
          break;
        default: break;
      }
      out.push_back(std::move(drift));
    }
  }
  for (auto& d : enum_drift(source, target)) {
    if (!accepted.count(d.description)) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace pgshift::logical
