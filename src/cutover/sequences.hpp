// Sequences at cutover: logical replication does not carry sequence values, so once writes
// have stopped on the old writer, every sequence is set on the new writer from the old one's
// value (plus an optional margin), before any client writes there.
//
// Which sequences: every sequence of the old writer that also exists on the new one — owned by a
// serial or identity column, called by a column default, or standalone and called by
// application code (nextval('invoice_no')), which no catalog link reveals. A sequence missing on
// the new writer is reported, not created. pgshift's own schema is never touched.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/model.hpp"
#include "catalog/providers.hpp"
#include "pg/connection.hpp"

namespace pgshift::cutover {

struct SequenceCopy {
  catalog::TableRef sequence;
  int64_t from_value = 0;     // last_value on the old writer
  bool from_called = false;   // is_called on the old writer
  std::optional<int64_t> set_to;  // what the new writer was set to; nullopt when missing there
  bool set_called = false;
  bool written = false;  // this call's setval set it (copy_sequences: only what moved since prepare)
};

// The value to set on the new writer: the old writer's position moved `margin` increments ahead
// (a never-called sequence stays uncalled unless a margin is asked for).
SequenceCopy plan_sequence_copy(const catalog::TableRef& sequence, int64_t last_value, bool is_called,
                                int64_t increment, int64_t margin);

// What was set on the new writer before the pause (prepare_sequences): the sequences it has and
// the value and is_called each was given.
struct PreparedSequences {
  std::map<catalog::TableRef, std::pair<int64_t, bool>> set;  // sequence -> (value, is_called)
  std::vector<catalog::TableRef> missing_on_target;
  catalog::ProviderSchemas provider;  // the old writer's provider schemas, read before the pause
};

// Before the pause, while writes go on: sets every same-named sequence on `to` from `from` as
// copy_sequences would (one read, one statement), so that in the pause only the sequences that
// moved since need setting. `to` is fenced (the replica), so nothing else changes them.
PreparedSequences prepare_sequences(pg::Connection& from, pg::Connection& to, int64_t margin);

// In the pause: reads every sequence on `from` (one query, plus one for all never-called ones)
// and sets on `to` those whose value differs from what `prepared` set (all of them when nothing
// was prepared), in one statement. Returns one entry per sequence of `from`, `written` on those
// this call set.
std::vector<SequenceCopy> copy_sequences(pg::Connection& from, pg::Connection& to, int64_t margin,
                                         const PreparedSequences* prepared = nullptr);

nlohmann::json to_json(const std::vector<SequenceCopy>& copies);

}  // namespace pgshift::cutover
