// The recorded plan wins for names and excludes: status, soak and stop act on the migration the
// target's journal describes, not on whatever a plan file says today.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "state/recorded_plan.hpp"
#include "state/journal.hpp"
#include "util/error.hpp"

namespace pgshift::state {

Plan recorded_plan(pg::Connection& target, const Plan& given, bool refuse_other_endpoints) {
  Journal journal(target, "");
  std::optional<Migration> current = journal.current();
  if (!current) return given;
  Plan plan = given;
  const nlohmann::json& r = current->plan;
  plan.publication = r.value("publication", given.publication);
  plan.subscription = r.value("subscription", given.subscription);
  plan.excludes = r.value("exclude", given.excludes);
  std::string recorded_source = r.value("source", "");
  if (!recorded_source.empty() && recorded_source != given.source.redacted()) {
    std::string message = fmt::format("migration {} on {} replicates from {}, not from {}", current->id,
                                      target.endpoint(), recorded_source, given.source.redacted());
    if (refuse_other_endpoints) throw UsageError(message + "; pass the recorded source with --source");
    spdlog::warn("{}", message);
  }
  return plan;
}

}  // namespace pgshift::state
