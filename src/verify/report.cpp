#include "verify/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "util/duration.hpp"
#include "util/terminal.hpp"
#include "util/text_table.hpp"

namespace pgshift::verify {
namespace {

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string seconds_text(double s) {
  return util::format_duration(util::Millis(static_cast<int64_t>(s * 1000)));
}

std::string kind_text(DiffKind k) {
  switch (k) {
    case DiffKind::missing_on_target: return "missing on target";
    case DiffKind::extra_on_target: return "extra on target";
    case DiffKind::different: return "different";
  }
  return "";
}

std::string shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

// A key held more than once on a side (a side without a unique index on it).
bool duplicated(const Difference& d) { return !d.key.empty() && (d.source_copies > 1 || d.target_copies > 1); }

std::string difference_line(const TableReport& t, const Difference& d) {
  if (d.key.empty()) {
    return fmt::format("  {:<18} {}  (source {} cop{}, target {})", kind_text(d.kind), shorten(d.row, 120),
                       d.source_copies, d.source_copies == 1 ? "y" : "ies", d.target_copies);
  }
  std::string line = fmt::format("  {:<18} {}", kind_text(d.kind), describe_key(t.key_columns, d.key));
  if (!d.columns.empty()) line += fmt::format("  ({})", fmt::join(d.columns, ", "));
  if (duplicated(d)) {
    line += fmt::format("  (duplicate key: source {} cop{}, target {})", d.source_copies,
                        d.source_copies == 1 ? "y" : "ies", d.target_copies);
  }
  return line;
}

std::string total_text(const TableReport& t) {
  return fmt::format("{}{} row{} differ{}", t.differences_total_exact ? "" : "at least ", grouped(t.differences_total),
                     t.differences_total == 1 ? "" : "s", t.differences_total == 1 ? "s" : "");
}

nlohmann::json difference_json(const TableReport& t, const Difference& d) {
  nlohmann::json j = {{"kind", to_string(d.kind)}};
  if (d.key.empty()) {
    j["row"] = d.row;
    j["source_copies"] = d.source_copies;
    j["target_copies"] = d.target_copies;
  } else {
    nlohmann::json key = nlohmann::json::object();
    for (size_t i = 0; i < d.key.size() && i < t.key_columns.size(); ++i) key[t.key_columns[i]] = d.key[i];
    j["key"] = key;
    if (d.kind == DiffKind::different) j["columns"] = d.columns;
    if (duplicated(d)) {
      j["source_copies"] = d.source_copies;
      j["target_copies"] = d.target_copies;
    }
  }
  return j;
}

}  // namespace

std::string to_string(TableStatus status) {
  switch (status) {
    case TableStatus::match: return "match";
    case TableStatus::mismatch: return "mismatch";
    case TableStatus::skipped: return "skipped";
    case TableStatus::error: return "error";
  }
  return "error";
}

size_t Report::count(TableStatus status) const {
  size_t n = 0;
  for (const auto& t : tables) n += t.status == status;
  return n;
}

int64_t Report::rows() const {
  int64_t n = 0;
  for (const auto& t : tables) {
    if (t.status == TableStatus::match || t.status == TableStatus::mismatch) n += t.source_rows;
  }
  return n;
}

int Report::exit_code() const {
  if (count(TableStatus::error)) return 3;
  if (count(TableStatus::mismatch)) return 1;
  return 0;
}

std::string describe_key(const std::vector<std::string>& columns, const Key& key) {
  if (columns.size() == 1 && key.size() == 1) return columns[0] + "=" + key[0];
  return fmt::format("({})=({})", fmt::join(columns, ", "), fmt::join(key, ", "));
}

std::string render_text(const Report& r, size_t max_listed) {
  std::string out = fmt::format("source  {}\ntarget  {}\n", r.source_endpoint, r.target_endpoint);
  if (!r.direction.empty()) out += r.direction + "\n";
  out += fmt::format("mode {}, {} job{}, chunks of ~{} rows, {}\n\n", to_string(r.mode), r.jobs, r.jobs == 1 ? "" : "s",
                     grouped(r.chunk_rows),
                     r.fence_slot.empty() ? "no lag fence (" + r.fence_note + ")" : "lag fence on slot " + r.fence_slot);

  util::TextTable table({"TABLE", "STATUS", "SOURCE ROWS", "TARGET ROWS", "CHUNKS", "STRATEGY", "TIME"});
  for (size_t c : {2, 3, 4, 6}) table.set_align(c, util::TextTable::Align::right);
  for (const auto& t : r.tables) {
    bool ran = (t.status == TableStatus::match || t.status == TableStatus::mismatch) && !t.strategy.empty();
    table.add_row({t.table.display(), to_string(t.status), ran ? grouped(t.source_rows) : "",
                   ran ? grouped(t.target_rows) : "", ran ? std::to_string(t.chunks) : "", t.strategy,
                   ran ? seconds_text(t.seconds) : ""});
  }
  out += table.render();

  for (const auto& t : r.tables) {
    std::string head = util::paint(t.table.display(), util::Color::bold);
    switch (t.status) {
      case TableStatus::mismatch: {
        // A table that was never compared (on the source only) says why instead of a count.
        bool compared = !t.strategy.empty();
        out += fmt::format("\n{} {}: {}", head, util::paint("MISMATCH", util::Color::red),
                           compared ? total_text(t) : t.reason);
        if (t.source_rows != t.target_rows) {
          out += fmt::format(" (source {} rows, target {})", grouped(t.source_rows), grouped(t.target_rows));
        }
        out += "\n";
        if (!t.missing_columns.empty()) {
          out += fmt::format("  columns missing on target: {}\n", fmt::join(t.missing_columns, ", "));
        }
        size_t shown = std::min(max_listed, t.differences.size());
        for (size_t i = 0; i < shown; ++i) out += difference_line(t, t.differences[i]) + "\n";
        int64_t listed_rows = 0;
        for (size_t i = 0; i < shown; ++i) listed_rows += rows_of(t.differences[i]);
        if (t.differences_total > listed_rows) {
          out += fmt::format("  ... and {}{} more\n", t.differences_total_exact ? "" : "at least ",
                             grouped(t.differences_total - listed_rows));
        }
        break;
      }
      case TableStatus::error:
        out += fmt::format("\n{} {}: {}\n", head, util::paint("ERROR", util::Color::red), t.reason);
        break;
      case TableStatus::skipped:
        out += fmt::format("\n{} {}: {}\n", head, util::paint("skipped", util::Color::dim), t.reason);
        break;
      case TableStatus::match:
        if (t.cleared_by_recheck) {
          out += fmt::format("\n{} {}: {} chunk{} differed at first and matched after the lag fence\n", head,
                             util::paint("match", util::Color::green), t.cleared_by_recheck,
                             t.cleared_by_recheck == 1 ? "" : "s");
        }
        if (t.source_rows != t.target_rows) {
          // Each chunk was counted on both sides at nearly the same moment, but the source kept
          // changing: every row that differed was confirmed as lag under the fence.
          out += fmt::format("\n{} {}: the row counts ({} on the source, {} on the target) were read while writes "
                             "arrived; every row that differed was still on its way and arrived under the lag fence\n",
                             head, util::paint("match", util::Color::green), grouped(t.source_rows),
                             grouped(t.target_rows));
        }
        break;
    }
    // Whatever the verdict, it says which columns it did not look at.
    if (!t.excluded_columns.empty()) {
      bool headed = t.status != TableStatus::match || t.cleared_by_recheck || t.source_rows != t.target_rows;
      if (!headed) out += fmt::format("\n{} {}\n", head, util::paint("match", util::Color::green));
      out += fmt::format("  columns not compared (--exclude-column): {}\n", fmt::join(t.excluded_columns, ", "));
    }
    // Notes explain a result; for a plain match they are in the JSON report only.
    if (t.status == TableStatus::mismatch || t.status == TableStatus::error || t.cleared_by_recheck) {
      for (const auto& n : t.notes) out += fmt::format("  note: {}\n", n);
    }
  }

  double rate = r.seconds > 0 ? static_cast<double>(r.rows()) / r.seconds : 0;
  size_t mismatches = r.count(TableStatus::mismatch), errors = r.count(TableStatus::error);
  // counts mode compared row counts (and keys where they differed), never content.
  std::string matched = r.mode == Mode::counts ? "row counts match (content not compared; --mode full compares it)"
                                               : "the target matches the source";
  std::string verdict = errors      ? util::paint("incomplete: some tables could not be verified", util::Color::red)
                        : mismatches ? util::paint("the target differs from the source", util::Color::red)
                                     : util::paint(matched, util::Color::green);
  out += fmt::format("\n{} table{}: {} match, {} mismatch, {} skipped, {} error; {} rows in {} ({} rows/s): {}\n",
                     r.tables.size(), r.tables.size() == 1 ? "" : "s", r.count(TableStatus::match), mismatches,
                     r.count(TableStatus::skipped), errors,
                     grouped(r.rows()), seconds_text(r.seconds), grouped(static_cast<int64_t>(rate)), verdict);
  return out;
}

nlohmann::json to_json(const Report& r) {
  using nlohmann::json;
  json tables = json::array();
  for (const auto& t : r.tables) {
    json diffs = json::array();
    for (const auto& d : t.differences) diffs.push_back(difference_json(t, d));
    tables.push_back({{"table", t.table.display()},
                      {"status", to_string(t.status)},
                      {"reason", t.reason},
                      {"strategy", t.strategy},
                      {"key", t.key_columns},
                      {"source_rows", t.source_rows},
                      {"target_rows", t.target_rows},
                      {"chunks", t.chunks},
                      {"chunk_rows", {{"min", t.min_chunk_rows}, {"max", t.max_chunk_rows}}},
                      {"mismatched_chunks", t.mismatched_chunks},
                      {"rechecks", t.rechecks},
                      {"cleared_by_recheck", t.cleared_by_recheck},
                      {"differences", diffs},
                      {"differences_total", t.differences_total},
                      {"differences_total_exact", t.differences_total_exact},
                      {"missing_columns", t.missing_columns},
                      {"excluded_columns", t.excluded_columns},
                      {"notes", t.notes},
                      {"seconds", t.seconds}});
  }
  double rate = r.seconds > 0 ? static_cast<double>(r.rows()) / r.seconds : 0;
  return json{{"source", {{"endpoint", r.source_endpoint}}},
              {"target", {{"endpoint", r.target_endpoint}}},
              {"mode", to_string(r.mode)},
              {"jobs", r.jobs},
              {"chunk_rows", r.chunk_rows},
              {"fence", {{"enabled", !r.fence_slot.empty()}, {"slot", r.fence_slot}, {"note", r.fence_note}}},
              // null unless verify runs against the replication's direction (after cutover).
              {"direction", r.direction.empty() ? json(nullptr) : json(r.direction)},
              {"tables", tables},
              {"summary",
               {{"tables", r.tables.size()},
                {"match", r.count(TableStatus::match)},
                {"mismatch", r.count(TableStatus::mismatch)},
                {"skipped", r.count(TableStatus::skipped)},
                {"error", r.count(TableStatus::error)},
                {"rows", r.rows()},
                {"seconds", r.seconds},
                {"rows_per_second", rate},
                {"ok", r.exit_code() == 0}}}};
}

}  // namespace pgshift::verify
