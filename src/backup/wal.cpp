#include "backup/wal.hpp"

#include <fmt/format.h>

#include <cctype>

namespace pgshift::backup {
namespace {

uint64_t segments_per_log(int64_t segment_size) { return 0x100000000ULL / static_cast<uint64_t>(segment_size); }

}  // namespace

std::optional<WalName> parse_wal_name(std::string_view file, int64_t segment_size) {
  if (file.size() < 24) return std::nullopt;
  for (size_t i = 0; i < 24; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(file[i]))) return std::nullopt;
  }
  std::string_view rest = file.substr(24);
  for (std::string_view not_segment : {".backup", ".history", ".partial"}) {
    if (rest.find(not_segment) != std::string_view::npos) return std::nullopt;
  }
  if (!rest.empty() && std::isxdigit(static_cast<unsigned char>(rest.front()))) return std::nullopt;
  WalName w;
  w.timeline = static_cast<uint32_t>(std::stoul(std::string(file.substr(0, 8)), nullptr, 16));
  uint64_t log = std::stoull(std::string(file.substr(8, 8)), nullptr, 16);
  uint64_t seg = std::stoull(std::string(file.substr(16, 8)), nullptr, 16);
  w.segno = log * segments_per_log(segment_size) + seg;
  return w;
}

std::string wal_name(uint32_t timeline, uint64_t segno, int64_t segment_size) {
  uint64_t per = segments_per_log(segment_size);
  return fmt::format("{:08X}{:08X}{:08X}", timeline, segno / per, segno % per);
}

std::string wal_name_for(uint32_t timeline, pg::Lsn lsn, int64_t segment_size) {
  return wal_name(timeline, lsn.value() / static_cast<uint64_t>(segment_size), segment_size);
}

std::set<uint64_t> segments_present(const std::vector<std::string>& files, uint32_t from_timeline,
                                    int64_t segment_size) {
  std::set<uint64_t> out;
  for (const auto& f : files) {
    auto w = parse_wal_name(f, segment_size);
    if (w && w->timeline >= from_timeline) out.insert(w->segno);
  }
  return out;
}

std::optional<uint64_t> first_gap(const std::set<uint64_t>& present, uint64_t first, uint64_t last) {
  for (uint64_t s = first; s <= last; ++s) {
    if (!present.count(s)) return s;
  }
  return std::nullopt;
}

}  // namespace pgshift::backup
