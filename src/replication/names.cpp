// Names of a migration for results and messages.
#include <fmt/format.h>

#include "fence/fence.hpp"
#include "replication/internal.hpp"

namespace pgshift::replication {

Names Names::of(const state::Plan& plan) {
  return {plan.source.empty() ? "" : plan.source.redacted(), plan.target.empty() ? "" : plan.target.redacted(),
          plan.publication, plan.subscription};
}

std::string detail::target_fence_reason(const state::Plan& plan) {
  return fence::reason_replication_target(plan.source.redacted());
}

}  // namespace pgshift::replication
