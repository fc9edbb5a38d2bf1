// Internal to the replication room: the ddl room's mechanism (ddl/ddl.hpp) as a migration uses
// it. Not for other rooms.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ddl/ddl.hpp"
#include "replication/replication.hpp"

namespace pgshift::replication::detail {

inline constexpr std::string_view kStepDdl = "ddl";

// Installs the log and apply trigger on both sides and capture where the role can (a
// superuser). A source that cannot hold the log at all leaves schema changes unfollowed
// (followed = false, with why), which is not an error: drift still finds them.
DdlSetup set_up_ddl(pg::Connection& source, pg::Connection& target, const state::Plan& plan, ddl::Policy policy,
                    bool fresh);
nlohmann::json to_json(const DdlSetup& setup);

// Removes the mechanism from both sides; returns what could not be removed.
std::vector<std::string> tear_down_ddl(pg::Connection& source, pg::Connection& target);

// The writer's log with the replica's outcomes. Never throws for a missing or unreadable log.
Status::Ddl read_ddl_status(pg::Connection& writer, pg::Connection& replica);

}  // namespace pgshift::replication::detail
