// The plan a migration was started with, as the target's journal recorded it. Commands that act
// on a running migration (status, soak, stop, verify, cutover) use the recorded publication,
// subscription and excludes, not whatever a plan file says today.
#pragma once

#include "pg/connection.hpp"
#include "state/plan.hpp"

namespace pgshift::state {

// `given` with names and excludes taken from the current migration's record, keeping the given
// connections. Throws UsageError when the given source is not the recorded one and
// refuse_other_endpoints is set (acting on the wrong server must not happen); otherwise warns.
// Returns `given` when nothing is recorded.
Plan recorded_plan(pg::Connection& target, const Plan& given, bool refuse_other_endpoints);

}  // namespace pgshift::state
