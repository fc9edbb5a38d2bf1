// WAL segment file names ("000000010000000A000000FF": timeline, log, segment) and the continuity
// of an archive: which segments between two points are missing.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/lsn.hpp"

namespace pgshift::backup {

struct WalName {
  uint32_t timeline = 0;
  uint64_t segno = 0;  // log * segments_per_log + seg
};

// Parses the first 24 characters of a file name when they are a WAL segment name (a suffix such
// as ".gz" or pgBackRest's "-<sha1>" is allowed; ".backup", ".history", ".partial" are not).
std::optional<WalName> parse_wal_name(std::string_view file, int64_t segment_size);
std::string wal_name(uint32_t timeline, uint64_t segno, int64_t segment_size);
std::string wal_name_for(uint32_t timeline, pg::Lsn lsn, int64_t segment_size);

// Segment numbers present (any timeline >= from_timeline) among file names.
std::set<uint64_t> segments_present(const std::vector<std::string>& files, uint32_t from_timeline,
                                    int64_t segment_size);

// The first segment in [first, last] that is not present, or nullopt when none is missing.
std::optional<uint64_t> first_gap(const std::set<uint64_t>& present, uint64_t first, uint64_t last);

}  // namespace pgshift::backup
