// Restoring one backup of a source into an empty data directory, and the restore_command that
// reads (never writes) that source's WAL archive. Each tool runs as the server's OS user, with
// output to log_file, stopped when interrupted or at the deadline.
#pragma once

#include <chrono>
#include <string>

#include "backup/inventory.hpp"
#include "backup/tools.hpp"

namespace pgshift::backup {

// Returns the restore_command for the restored server.
std::string restore_into(const SourceSpec& spec, const BackupEntry& backup, const InventoryOptions& tools,
                         const std::string& data_dir, const std::string& log_file,
                         std::chrono::steady_clock::time_point deadline);

}  // namespace pgshift::backup
