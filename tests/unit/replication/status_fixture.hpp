// A status sample of healthy replication, for the unit tests of the pure replication parts.
#pragma once

#include "replication/replication.hpp"

namespace pgshift::replication::fixtures {

// Syncing, subscription enabled with its apply worker running, slot active, two tables ready,
// small lag, no error.
inline Status healthy_status() {
  Status st;
  st.phase = state::Phase::syncing;
  st.migration_id = 7;
  st.phase_since = "2025-06-01T10:00:00.000Z";
  st.names = {"app@db1:5432/shop", "app@pg:5432/shop", "pgshift", "pgshift"};
  st.publication_exists = true;
  st.subscription_state.exists = true;
  st.subscription_state.enabled = true;
  st.subscription_state.apply_pid = 99;
  st.subscription_state.apply_error_count = 0;
  st.subscription_state.sync_error_count = 0;
  st.slot.exists = true;
  st.slot.active = true;
  st.slot.wal_status = "reserved";
  st.lag_bytes = 120;
  st.tables = {{{"public", "a"}, "ready", {}, {}, {}}, {{"public", "b"}, "ready", {}, {}, {}}};
  return st;
}

}  // namespace pgshift::replication::fixtures
