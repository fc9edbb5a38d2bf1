// Human and JSON output of switches and finalize.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cutover/cutover.hpp"
#include "util/terminal.hpp"
#include "util/text_table.hpp"

namespace pgshift::cutover {
namespace {

std::string ms(double v) { return v < 1000 ? fmt::format("{:.0f}ms", v) : fmt::format("{:.2f}s", v / 1000); }

}  // namespace

nlohmann::json to_json(const SwitchResult& r) {
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& s : r.timeline) {
    timeline.push_back({{"step", s.step}, {"started_ms", s.started_ms}, {"took_ms", s.took_ms}, {"summary", s.detail}});
  }
  nlohmann::json j{{"action", r.action},
                   {"migration_id", r.migration_id},
                   {"switched", r.switched},
                   {"rolled_back", r.rolled_back},
                   {"exit_code", r.exit_code},
                   {"writer", r.writer},
                   {"writer_role", r.writer_role},
                   {"timeline", timeline},
                   {"sequences", to_json(r.sequences)},
                   {"took_ms", r.took_ms}};
  j["paused_ms"] = r.paused_ms ? nlohmann::json(*r.paused_ms) : nlohmann::json();
  j["writes_blocked_ms"] = r.fenced_ms ? nlohmann::json(*r.fenced_ms) : nlohmann::json();
  if (!r.error.empty()) {
    j["failed_step"] = r.failed_step;
    j["error"] = r.error;
  }
  j["undone"] = r.undone;
  return j;
}

std::string render(const SwitchResult& r) {
  std::string out;
  if (!r.timeline.empty()) {
    util::TextTable t({"step", "at", "took", "what"});
    t.set_align(1, util::TextTable::Align::right);
    t.set_align(2, util::TextTable::Align::right);
    for (const auto& s : r.timeline) t.add_row({s.step, ms(s.started_ms), ms(s.took_ms), s.detail});
    out += t.render() + "\n";
  }
  if (r.paused_ms) out += fmt::format("pooler paused (clients waited) for {}\n", ms(*r.paused_ms));
  if (r.fenced_ms) out += fmt::format("writes refused on both servers for {}\n", ms(*r.fenced_ms));
  if (!r.undone.empty()) {
    out += r.switched ? "finished:\n" : "undone:\n";
    for (const auto& u : r.undone) out += "  - " + u + "\n";
  }
  // The error goes to stderr once (cli), not here as well.
  std::string outcome = r.switched              ? r.action + " done"
                        : r.rolled_back && r.failed_step.empty()
                            ? r.action + ": the interrupted attempt was rolled back (exit 4)"
                        : r.failed_step.empty() ? r.action + " not done"
                                                : fmt::format("{} not done (failed at {})", r.action, r.failed_step);
  out += util::paint(fmt::format("{}: the writer is the {} ({}), in {}", outcome,
                                 r.writer_role, r.writer, ms(r.took_ms)),
                     r.switched ? util::Color::green : util::Color::yellow) +
         "\n";
  return out;
}

nlohmann::json to_json(const FinalizeResult& r) {
  return {{"migration_id", r.migration_id},
          {"removed", r.removed},
          {"source_fenced_tables", r.source_fenced_tables},
          {"took_ms", r.took_ms}};
}

std::string render(const FinalizeResult& r) {
  std::string out = fmt::format("migration {} finalized in {}\n", r.migration_id, ms(r.took_ms));
  for (const auto& line : r.removed) out += "  - " + line + "\n";
  out += fmt::format("the source stays fenced (read-only) on {} tables; the journal stays in schema pgshift on the "
                     "target\n",
                     r.source_fenced_tables);
  return out;
}

}  // namespace pgshift::cutover
