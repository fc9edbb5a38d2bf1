// Human and JSON renderings of a preflight report.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "preflight/preflight.hpp"
#include "util/terminal.hpp"

namespace pgshift::preflight {
namespace {

util::Color color_of(Severity s) {
  switch (s) {
    case Severity::error: return util::Color::red;
    case Severity::warning: return util::Color::yellow;
    case Severity::info: return util::Color::cyan;
  }
  return util::Color::none;
}

std::string label(Severity s) {
  switch (s) {
    case Severity::error: return "ERROR  ";
    case Severity::warning: return "WARNING";
    case Severity::info: return "INFO   ";
  }
  return "";
}

}  // namespace

std::string render_text(const Report& report) {
  const Inputs& in = report.inputs;
  std::string out;
  out += fmt::format("source  {}  (PostgreSQL {})\n", report.source_endpoint, in.source.server.short_version());
  out += fmt::format("target  {}  (PostgreSQL {})\n", report.target_endpoint, in.target.server.short_version());
  out += fmt::format("tables  {} replicated, {} left out\n\n", in.selection.replicated.size(),
                     in.selection.left_out.size());
  for (const auto& h : report.hazards) {
    out += fmt::format("{} {}  ({})\n", util::paint(label(h.severity), color_of(h.severity)),
                       util::paint(h.code, util::Color::bold), h.side);
    out += fmt::format("        {}\n", h.message);
    for (const auto& o : h.objects) out += fmt::format("          - {}\n", o);
    if (!h.fix.empty()) out += fmt::format("        {} {}\n", util::paint("fix:", util::Color::green), h.fix);
  }
  int errors = report.count(Severity::error), warnings = report.count(Severity::warning),
      infos = report.count(Severity::info);
  out += fmt::format("\n{} error(s), {} warning(s), {} note(s): {}\n", errors, warnings, infos,
                     errors ? util::paint("not ready — fix the errors and run pgshift check again", util::Color::red)
                            : util::paint("ready for pgshift sync start", util::Color::green));
  return out;
}

nlohmann::json to_json(const Report& report) {
  using nlohmann::json;
  const Inputs& in = report.inputs;
  auto side = [](const std::string& endpoint, const catalog::ServerInfo& s) {
    return json{{"endpoint", endpoint}, {"version_num", s.version_num}, {"version", s.version},
                {"user", s.current_user}, {"database", s.database}};
  };
  json replicated = json::array();
  for (const auto& r : in.selection.replicated) replicated.push_back(r.display());
  json left_out = json::array();
  for (const auto& lo : in.selection.left_out) {
    left_out.push_back({{"table", lo.table.display()}, {"reason", catalog::to_string(lo.reason)},
                        {"detail", lo.detail}, {"explanation", catalog::explain(lo.reason)}});
  }
  json hazards = json::array();
  for (const auto& h : report.hazards) {
    hazards.push_back({{"severity", to_string(h.severity)}, {"code", h.code}, {"side", h.side},
                       {"message", h.message}, {"objects", h.objects}, {"fix", h.fix}});
  }
  return json{{"source", side(report.source_endpoint, in.source.server)},
              {"target", side(report.target_endpoint, in.target.server)},
              {"replicated_tables", replicated},
              {"left_out", left_out},
              {"hazards", hazards},
              {"summary",
               {{"errors", report.count(Severity::error)},
                {"warnings", report.count(Severity::warning)},
                {"info", report.count(Severity::info)},
                {"ok", report.ok()}}}};
}

}  // namespace pgshift::preflight
