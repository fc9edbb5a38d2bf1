// One reader per source kind (dir_source.cpp, pgbackrest_source.cpp, barman_source.cpp,
// cnpg_source.cpp) and the judgements they share (inventory.cpp). A reader throws RuntimeError
// when it cannot read its source; read_source() turns that into an "unreadable" verdict.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "backup/inventory.hpp"
#include "backup/tools.hpp"

namespace pgshift::backup {

SourceInventory read_dir(const SourceSpec& spec, const InventoryOptions& o, const std::optional<ArchiverStatus>& a);
SourceInventory read_pgbackrest(const SourceSpec& spec, const InventoryOptions& o, const std::optional<ArchiverStatus>& a);
SourceInventory read_barman(const SourceSpec& spec, const InventoryOptions& o);
SourceInventory read_cnpg(const SourceSpec& spec, const InventoryOptions& o);

// WAL continuity from the newest usable backup's begin WAL to the archiver's last archived
// segment (or the newest segment present): adds a problem naming the first missing segment,
// sets last_wal, and sets the window's last point.
void check_continuity(SourceInventory& inv, const std::vector<std::string>& archive_files,
                      const std::optional<ArchiverStatus>& archiver, int64_t segment_size, const std::string& where);

// The window's first point (oldest usable backup's end) and, when nothing better is known, its
// last (newest usable backup's end); problems for no usable backup or one older than max_age.
void judge_backups(SourceInventory& inv, util::Millis max_backup_age, int64_t now);

// pg_verifybackup on a plain directory (tar backups are extracted first); "" when it passes,
// else its first error line.
std::string verify_basebackup(const std::string& backup_dir, bool tar, const std::string& wal_archive);

// Reads a pg_basebackup directory (backup_manifest, backup_label) into an entry, unverified.
BackupEntry read_basebackup_dir(const std::string& dir, const std::string& source);

}  // namespace pgshift::backup
