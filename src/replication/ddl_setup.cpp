// Schema changes during the move: setting up the ddl room's mechanism for a migration, removing
// it, and what status and soak show of it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "pg/error.hpp"
#include "replication/ddl_setup.hpp"
#include "util/error.hpp"

namespace pgshift::replication::detail {

DdlSetup set_up_ddl(pg::Connection& source, pg::Connection& target, const state::Plan& plan, ddl::Policy policy,
                    bool fresh) {
  DdlSetup setup;
  setup.policy = ddl::to_string(policy);
  ddl::Settings settings{policy, plan.exclude_patterns()};
  try {
    ddl::Capability sc = ddl::install(source, settings, true, fresh);
    setup.source_captures = sc.capture;
    setup.source_why_not = sc.why_not;
  } catch (const pg::SqlError& e) {
    setup.source_why_not = fmt::format("pgshift's schema change log could not be created on the source: {}",
                                       e.server_message());
    spdlog::warn("source: schema changes will not be followed: {}", setup.source_why_not);
    return setup;
  }
  ddl::Capability tc = ddl::install(target, settings, true, fresh);
  setup.target_captures = tc.capture;
  setup.target_why_not = tc.why_not;
  setup.followed = true;
  if (setup.source_captures) {
    spdlog::info("schema changes on the source are followed to the target in stream order (--ddl {})", setup.policy);
  } else {
    spdlog::warn("schema changes on the source are not captured ({}): status and soak find them by comparing "
                 "catalogs and print the statement to run on the target",
                 setup.source_why_not);
  }
  if (!setup.target_captures) {
    spdlog::warn("schema changes on the target after cutover will not be captured ({})", setup.target_why_not);
  }
  return setup;
}

nlohmann::json to_json(const DdlSetup& setup) {
  return {{"followed", setup.followed},
          {"source_captures", setup.source_captures},
          {"target_captures", setup.target_captures},
          {"policy", setup.policy},
          {"source_why_not", setup.source_why_not},
          {"target_why_not", setup.target_why_not}};
}

std::vector<std::string> tear_down_ddl(pg::Connection& source, pg::Connection& target) {
  std::vector<std::string> failures;
  for (pg::Connection* conn : {&source, &target}) {
    try {
      if (ddl::installed(*conn)) ddl::uninstall(*conn);
    } catch (const std::exception& e) {
      failures.push_back(fmt::format("{}: schema change log not removed: {}", conn->endpoint(), e.what()));
    }
  }
  return failures;
}

Status::Ddl read_ddl_status(pg::Connection& writer, pg::Connection& replica) {
  Status::Ddl out;
  try {
    out.followed = ddl::installed(writer) && ddl::installed(replica);
    out.capturing = ddl::capturing(writer);
    if (!out.followed) return out;
    out.policy = ddl::recorded_policy(replica);
    std::vector<ddl::Entry> all = ddl::entries(writer, replica, 1000);
    out.pending = ddl::pending(all);
    size_t first = all.size() > 20 ? all.size() - 20 : 0;
    out.recent.assign(all.begin() + static_cast<std::ptrdiff_t>(first), all.end());
  } catch (const pg::SqlError& e) {
    spdlog::debug("schema change log not readable: {}", e.server_message());
  }
  return out;
}

}  // namespace pgshift::replication::detail
