#include "cutover/sequences.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "access/text_array.hpp"

namespace pgshift::cutover {
namespace {

// Every sequence with its position in one query. pg_sequence_last_value() (which needs what
// SELECT on the sequence needs) is NULL for a sequence not called since its start or a
// setval(..., false): those few are read from the relation, which also gives is_called.
constexpr std::string_view kListSequencesSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, s.seqincrement AS increment,
       pg_sequence_last_value(c.oid) AS last_value
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND c.relpersistence <> 't'
 ORDER BY 1, 2
)sql";

// One statement, so all or none are set.
constexpr std::string_view kSetvalsSql = R"sql(
SELECT count(setval(u.seq::regclass, u.val, u.called))
  FROM unnest($1::text[], $2::bigint[], $3::boolean[]) AS u(seq, val, called)
)sql";

}  // namespace

SequenceCopy plan_sequence_copy(const catalog::TableRef& sequence, int64_t last_value, bool is_called,
                                int64_t increment, int64_t margin) {
  SequenceCopy c;
  c.sequence = sequence;
  c.from_value = last_value;
  c.from_called = is_called;
  if (margin == 0) {
    c.set_to = last_value;
    c.set_called = is_called;
  } else {
    c.set_to = last_value + margin * increment;
    c.set_called = true;
  }
  return c;
}

namespace {

struct Position {
  catalog::TableRef ref;
  int64_t last_value = 0;
  bool is_called = true;
  int64_t increment = 1;
};

// Every sequence of `from` with its position: one query, plus one UNION ALL for those never
// called (pg_sequence_last_value() is NULL for them), whatever the count. A provider's own
// sequences (Supabase's auth.refresh_tokens_id_seq) stay out, as their schemas do.
std::vector<Position> read_positions(pg::Connection& from, const catalog::ProviderSchemas& provider) {
  std::vector<Position> out;
  std::vector<size_t> uncalled;
  pg::Result list = from.exec(kListSequencesSql);
  for (int i = 0; i < list.rows(); ++i) {
    pg::Row row = list.row(i);
    if (provider.contains(row.view("schema"))) continue;
    Position p{{row.text("schema"), row.text("name")}, 0, true, row.int64("increment")};
    if (row.is_null("last_value")) {
      uncalled.push_back(out.size());
    } else {
      p.last_value = row.int64("last_value");
    }
    out.push_back(std::move(p));
  }
  if (!uncalled.empty()) {
    std::string sql;
    for (size_t k = 0; k < uncalled.size(); ++k) {
      if (k) sql += " UNION ALL ";
      sql += fmt::format("SELECT {}::int AS k, last_value, is_called FROM {}", k, out[uncalled[k]].ref.quoted());
    }
    pg::Result v = from.exec(sql);
    for (int i = 0; i < v.rows(); ++i) {
      Position& p = out[uncalled[static_cast<size_t>(v.row(i).int64("k"))]];
      p.last_value = v.row(i).int64("last_value");
      p.is_called = v.row(i).boolean("is_called");
    }
  }
  return out;
}

std::set<catalog::TableRef> sequences_on(pg::Connection& to) {
  std::set<catalog::TableRef> out;
  pg::Result list = to.exec(kListSequencesSql);
  for (int i = 0; i < list.rows(); ++i) out.insert({list.row(i).text("schema"), list.row(i).text("name")});
  return out;
}

// Plans every sequence; sets on `to`, in one statement, those `needs_set` says.
template <typename NeedsSet>
std::vector<SequenceCopy> plan_and_set(pg::Connection& to, const std::vector<Position>& positions,
                                       const std::set<catalog::TableRef>& on_target, int64_t margin,
                                       NeedsSet needs_set) {
  std::vector<SequenceCopy> out;
  std::vector<std::string> names, set_values, set_called;
  for (const Position& p : positions) {
    SequenceCopy c = plan_sequence_copy(p.ref, p.last_value, p.is_called, p.increment, margin);
    if (!on_target.count(p.ref)) {
      c.set_to.reset();
    } else if (needs_set(c)) {
      c.written = true;
      names.push_back(p.ref.quoted());
      set_values.push_back(std::to_string(*c.set_to));
      set_called.push_back(c.set_called ? "t" : "f");
    }
    out.push_back(std::move(c));
  }
  if (!names.empty()) {
    to.exec(kSetvalsSql, {access::text_array_literal(names), access::text_array_literal(set_values),
                          access::text_array_literal(set_called)});
  }
  return out;
}

}  // namespace

PreparedSequences prepare_sequences(pg::Connection& from, pg::Connection& to, int64_t margin) {
  std::set<catalog::TableRef> on_target = sequences_on(to);
  PreparedSequences prepared;
  prepared.provider = catalog::provider_schemas(catalog::read_provider(from), false);
  for (const SequenceCopy& c : plan_and_set(to, read_positions(from, prepared.provider), on_target, margin,
                                            [](const SequenceCopy&) { return true; })) {
    if (c.set_to) {
      prepared.set[c.sequence] = {*c.set_to, c.set_called};
    } else {
      prepared.missing_on_target.push_back(c.sequence);
    }
  }
  return prepared;
}

std::vector<SequenceCopy> copy_sequences(pg::Connection& from, pg::Connection& to, int64_t margin,
                                         const PreparedSequences* prepared) {
  std::set<catalog::TableRef> on_target;
  if (prepared) {
    // A sequence created on the new writer since then is read again below; one missing stays so.
    for (const auto& [ref, value] : prepared->set) on_target.insert(ref);
  } else {
    on_target = sequences_on(to);
  }
  // The provider was read before the pause when there was a preparation: nothing more in it.
  std::vector<Position> positions =
      read_positions(from, prepared ? prepared->provider
                                    : catalog::provider_schemas(catalog::read_provider(from), false));
  if (prepared) {
    // Sequences of the old writer not seen when preparing (created since) are looked up now.
    bool unseen = false;
    for (const Position& p : positions) {
      unseen = unseen || (!prepared->set.count(p.ref) &&
                          std::find(prepared->missing_on_target.begin(), prepared->missing_on_target.end(), p.ref) ==
                              prepared->missing_on_target.end());
    }
    if (unseen) on_target = sequences_on(to);
  }
  return plan_and_set(
      to, positions, on_target, margin,
      [&](const SequenceCopy& c) {
        if (!prepared) return true;
        auto it = prepared->set.find(c.sequence);
        return it == prepared->set.end() || it->second != std::make_pair(*c.set_to, c.set_called);
      });
}

nlohmann::json to_json(const std::vector<SequenceCopy>& copies) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : copies) {
    nlohmann::json j{{"sequence", c.sequence.display()}, {"from", c.from_value}, {"from_called", c.from_called}};
    if (c.set_to) {
      j["set_to"] = *c.set_to;
      j["set_called"] = c.set_called;
    } else {
      j["missing_on_target"] = true;
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace pgshift::cutover
