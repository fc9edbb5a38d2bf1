// Human and JSON renderings of a schema copy.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "schemacopy/schemacopy.hpp"

namespace pgshift::schemacopy {

std::string render_text(const Result& r) {
  std::string out = fmt::format("schema copy  {} ({}) -> {}\n", r.source_endpoint, r.provider, r.target_endpoint);
  if (!r.skipped.empty()) return out + fmt::format("skipped: {}; nothing copied\n", r.skipped);
  auto list = [](const std::vector<std::string>& v) { return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", ")); };
  out += fmt::format("provider schemas left out: {}\n", list(r.provider_schemas));
  out += fmt::format("event triggers left out: {}\n", list(r.event_triggers));
  out += fmt::format("extensions: {}\n", list(r.extensions));
  if (!r.unavailable_extensions.empty()) {
    out += fmt::format("extensions the target cannot create (left out): {}\n", list(r.unavailable_extensions));
  }
  if (!r.left_out.empty()) {
    out += fmt::format("{} object(s) left out: they need what the target lacks; create it, then run their statements:\n",
                       r.left_out.size());
    for (const auto& o : r.left_out) {
      out += fmt::format("  - {}  (needs {})\n", o.what, o.depends_on);
      std::string stmt = o.statement;
      for (size_t at = 0; (at = stmt.find('\n', at)) != std::string::npos; at += 7) stmt.replace(at, 1, "\n      ");
      if (!stmt.empty()) out += fmt::format("      {}\n", stmt);
    }
  }
  if (!r.script.empty()) return out + fmt::format("dry run: {} object(s) would be created by:\n\n{}", r.entries, r.script);
  return out + fmt::format("copied: {} object(s) created in one transaction in {:.1f}s\n", r.entries, r.seconds);
}

nlohmann::json to_json(const Result& r) {
  nlohmann::json left_out = nlohmann::json::array();
  for (const auto& o : r.left_out) {
    left_out.push_back({{"object", o.what}, {"reason", o.reason}, {"depends_on", o.depends_on}, {"statement", o.statement}});
  }
  nlohmann::json j{{"source", r.source_endpoint},
                   {"target", r.target_endpoint},
                   {"provider", r.provider},
                   {"provider_schemas", r.provider_schemas},
                   {"event_triggers", r.event_triggers},
                   {"extensions", r.extensions},
                   {"unavailable_extensions", r.unavailable_extensions},
                   {"left_out", left_out},
                   {"objects", r.entries},
                   {"copied", r.copied},
                   {"dry_run", !r.script.empty()},
                   {"seconds", r.seconds}};
  if (!r.skipped.empty()) j["skipped"] = r.skipped;
  if (!r.script.empty()) j["sql"] = r.script;
  return j;
}

}  // namespace pgshift::schemacopy
