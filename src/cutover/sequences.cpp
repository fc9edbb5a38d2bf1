#include "cutover/sequences.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "pg/transaction.hpp"

namespace pgshift::cutover {
namespace {

// pg_sequence_last_value() would need privileges on each sequence; reading the sequence
// relation gives last_value and is_called, which setval() takes back.
constexpr std::string_view kListSequencesSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, s.seqincrement AS increment
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND c.relpersistence <> 't'
 ORDER BY 1, 2
)sql";

constexpr std::string_view kSetvalSql = "SELECT setval($1::regclass, $2::bigint, $3::boolean)";

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
  pg::Result list = from.exec(kListSequencesSql);
  pg::Transaction tx(to);
  for (int i = 0; i < list.rows(); ++i) {
    catalog::TableRef ref{list.row(i).text("schema"), list.row(i).text("name")};
    pg::Result v = from.exec(fmt::format("SELECT last_value, is_called FROM {}", ref.quoted()));
    SequenceCopy c = plan_sequence_copy(ref, v.row(0).int64("last_value"), v.row(0).boolean("is_called"),
                                        list.row(i).int64("increment"), margin);
    if (!on_target.count(ref)) {
      c.set_to.reset();
    } else {
      to.exec(kSetvalSql, {ref.quoted(), *c.set_to, c.set_called});
    }
    out.push_back(std::move(c));
  }
  tx.commit();
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
