// Internal to the preflight room: the rule families that assess() runs in order. Each appends
// the hazards it finds; none reads a database.
#pragma once

#include <vector>

#include "preflight/preflight.hpp"

namespace pgshift::preflight {

// wal_level, slots, WAL senders, workers, roles and privileges, versions, standby, encoding.
void check_servers(const Inputs& in, const Options& options, std::vector<Hazard>& out);

// Tables on one side only, column and type differences, enum labels, sequences, extensions.
void check_schema(const Inputs& in, const Options& options, std::vector<Hazard>& out);

// Replica identity, target rows, unlogged tables, large objects, exclusions, partitions,
// leftover replication objects.
void check_tables(const Inputs& in, const Options& options, std::vector<Hazard>& out);

// Provider schemas left out, publications and event triggers that do not carry over, application
// objects that depend on the provider.
void check_provider(const Inputs& in, const Options& options, std::vector<Hazard>& out);

// Up to `limit` names followed by "... and N more".
std::vector<std::string> cap_list(std::vector<std::string> names, size_t limit = 20);

}  // namespace pgshift::preflight
