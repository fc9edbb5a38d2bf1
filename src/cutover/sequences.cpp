#include "cutover/sequences.hpp"

#include <fmt/format.h>

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

std::vector<SequenceCopy> copy_sequences(pg::Connection& from, pg::Connection& to, int64_t margin) {
  std::set<catalog::TableRef> on_target;
  pg::Result target_list = to.exec(kListSequencesSql);
  for (int i = 0; i < target_list.rows(); ++i) {
    on_target.insert({target_list.row(i).text("schema"), target_list.row(i).text("name")});
  }
  std::vector<SequenceCopy> out;
  // One round trip for the positions and one for the setvals, whatever the count (this runs
  // inside the cutover's pause); only sequences never called are read one by one.
  pg::Result list = from.exec(kListSequencesSql);
  std::vector<std::string> names, set_values, set_called;
  for (int i = 0; i < list.rows(); ++i) {
    pg::Row row = list.row(i);
    catalog::TableRef ref{row.text("schema"), row.text("name")};
    int64_t last_value = 0;
    bool is_called = true;
    if (row.is_null("last_value")) {
      pg::Result v = from.exec(fmt::format("SELECT last_value, is_called FROM {}", ref.quoted()));
      last_value = v.row(0).int64("last_value");
      is_called = v.row(0).boolean("is_called");
    } else {
      last_value = row.int64("last_value");
    }
    SequenceCopy c = plan_sequence_copy(ref, last_value, is_called, row.int64("increment"), margin);
    if (!on_target.count(ref)) {
      c.set_to.reset();
    } else {
      names.push_back(ref.quoted());
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
