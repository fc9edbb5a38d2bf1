// The result of a verify run, and its two renderings (pure). Exit code: 3 when a table could
// not be verified (error), else 1 when a table differs, else 0; skipped tables do not count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "catalog/model.hpp"
#include "verify/diff.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

enum class TableStatus { match, mismatch, skipped, error };
std::string to_string(TableStatus status);

struct TableReport {
  catalog::TableRef table;
  TableStatus status = TableStatus::match;
  std::string reason;                    // skipped: why; error: the message
  std::string strategy;                  // key-ranges, key-scan, whole-table
  std::vector<std::string> key_columns;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  size_t chunks = 0;
  int64_t min_chunk_rows = 0;            // source rows in the smallest and largest chunk
  int64_t max_chunk_rows = 0;
  size_t mismatched_chunks = 0;          // chunks whose first checksums differed
  size_t rechecks = 0;                   // fenced re-hashes
  size_t cleared_by_recheck = 0;         // chunks that matched after the fence (lag)
  std::vector<Difference> differences;   // the first ones, in key order
  int64_t differences_total = 0;         // rows that differ
  bool differences_total_exact = true;   // false: at least differences_total
  std::vector<std::string> missing_columns;  // source columns the target lacks
  std::vector<std::string> excluded_columns; // not compared: --exclude-column
  std::vector<std::string> notes;
  double seconds = 0;
};

struct Report {
  std::string source_endpoint;
  std::string target_endpoint;
  Mode mode = Mode::full;
  int jobs = 0;
  int64_t chunk_rows = 0;
  std::string fence_slot;  // the slot the fence waits on; "" when there is none
  std::string fence_note;  // why there is no fence
  std::string direction;   // e.g. "after cutover: the target (writer) against the source, over the replication back"
  std::vector<TableReport> tables;
  double seconds = 0;

  size_t count(TableStatus status) const;
  int64_t rows() const;  // source rows compared, over all verified tables
  int exit_code() const;
};

// "id=42", "(tenant, id)=(3, 42)": a key as the report shows it.
std::string describe_key(const std::vector<std::string>& columns, const Key& key);

// Human report: a line per table, then the differences of each mismatching table (at most
// max_listed each), skip reasons and errors, and a summary with timings.
std::string render_text(const Report& report, size_t max_listed = 20);
nlohmann::json to_json(const Report& report);

}  // namespace pgshift::verify
