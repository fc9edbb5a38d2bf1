// The console's query history; see console/history.hpp.
#include "console/history.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "util/error.hpp"
#include "util/utf8.hpp"

namespace pgshift::console {
namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 5> kOutcomes = {"ok", "rejected", "error", "timeout", "cancelled"};
// What an entry costs beyond its texts (keys, numbers, the JSON objects themselves).
constexpr size_t kEntryOverhead = 512;

// text cut to at most `bytes`, never inside a UTF-8 sequence.
std::string cut_text(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

size_t cost(const json& entry) {
  size_t n = kEntryOverhead;
  for (const char* key : {"statement", "message", "id", "time"}) {
    if (auto it = entry.find(key); it != entry.end() && it->is_string()) n += it->get_ref<const std::string&>().size();
  }
  return n;
}

// An entry read back from the file: the members a page relies on, of the right types.
bool well_formed(const json& e) {
  return e.is_object() && e.contains("id") && e["id"].is_string() && e.contains("statement") &&
         e["statement"].is_string() && e.contains("outcome") && e["outcome"].is_string() &&
         is_history_outcome(e["outcome"].get<std::string>()) && e.contains("time") && e["time"].is_string();
}

void write_all(int fd, const std::string& text, const std::string& file) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw RuntimeError(fmt::format("--history-file {}: write failed: {}", file, std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
}

std::string line_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace

bool is_history_outcome(std::string_view outcome) {
  for (auto o : kOutcomes) {
    if (o == outcome) return true;
  }
  return false;
}

History::History(std::string file) : History(std::move(file), Limits{}) {}

History::History(std::string file, Limits limits) : file_(std::move(file)), limits_(limits) {
  if (!file_.empty()) load();
}

History::~History() {
  if (fd_ >= 0) ::close(fd_);
}

void History::load() {
  // No symbolic link followed (a link planted where the file goes cannot redirect the writes);
  // created 0600 and tightened to 0600 when an existing file is looser.
  fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    throw RuntimeError(fmt::format("--history-file {}: cannot open: {}{}", file_, std::strerror(errno),
                                   errno == ELOOP ? " (a symbolic link; give the file itself)" : ""));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw RuntimeError(fmt::format("--history-file {}: not a regular file", file_));
  }
  if ((st.st_mode & 077) != 0) {
    spdlog::warn("--history-file {}: mode {:o} lets others read it; set to 600", file_, st.st_mode & 0777);
    if (::fchmod(fd_, 0600) != 0) {
      throw RuntimeError(fmt::format("--history-file {}: cannot set mode 600: {}", file_, std::strerror(errno)));
    }
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::pread(fd_, text.data() + got, text.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RuntimeError(fmt::format("--history-file {}: cannot read: {}", file_, std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  size_t number = 0, skipped = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++number;
    if (line.empty()) continue;
    ++file_lines_;
    json j = json::parse(line, nullptr, false);
    std::string why;
    if (j.is_discarded()) {
      why = "not JSON";
    } else if (!j.is_object() || !j.contains("identity") || !j["identity"].is_string()) {
      why = "no identity";
    } else if (j.value("clear", false) == true) {
      forget(j["identity"].get<std::string>());
      continue;
    } else if (!j.contains("entry") || !well_formed(j["entry"])) {
      why = "not a history entry";
    } else {
      keep(j["identity"].get<std::string>(), std::move(j["entry"]));
      continue;
    }
    ++skipped;
    spdlog::warn("--history-file {}: line {} skipped ({})", file_, number, why);
  }
  // A line cut short by a crash must not swallow the next one appended.
  if (!text.empty() && text.back() != '\n') write_all(fd_, "\n", file_);
  spdlog::info("--history-file {}: {} statement(s) of {} identit{} loaded{}", file_, kept_entries_,
               by_identity_.size(), by_identity_.size() == 1 ? "y" : "ies",
               skipped ? fmt::format(", {} line(s) skipped", skipped) : "");
  compact_if_large();
}

void History::keep(const std::string& identity, json entry) {
  Kept& k = by_identity_[identity];
  k.last_used = ++clock_;
  size_t c = cost(entry);
  k.entries.push_back(std::move(entry));
  k.bytes += c;
  total_bytes_ += c;
  ++kept_entries_;
  while (k.entries.size() > limits_.per_identity) {
    size_t old = cost(k.entries.front());
    k.entries.pop_front();
    k.bytes -= old;
    total_bytes_ -= old;
    --kept_entries_;
  }
  // Beyond the bounds: the identity whose last statement is oldest goes (never the one just kept
  // while another remains).
  while (by_identity_.size() > 1 && (by_identity_.size() > limits_.identities || total_bytes_ > limits_.total_bytes)) {
    auto oldest = by_identity_.end();
    for (auto it = by_identity_.begin(); it != by_identity_.end(); ++it) {
      if (it->first != identity && (oldest == by_identity_.end() || it->second.last_used < oldest->second.last_used)) {
        oldest = it;
      }
    }
    forget(oldest->first);
  }
}

void History::forget(const std::string& identity) {
  auto it = by_identity_.find(identity);
  if (it == by_identity_.end()) return;
  total_bytes_ -= it->second.bytes;
  kept_entries_ -= it->second.entries.size();
  by_identity_.erase(it);
}

void History::add(const audit::Record& record) {
  // The audit line's own form: redacted statement and message, its time and rounding.
  json a = record.to_json();
  const std::string statement = util::sanitize_utf8(a["statement"].get<std::string>());
  json entry = {{"id", record.correlation_id},
                {"time", a["time"]},
                {"route", record.extra.is_object() ? record.extra.value("route", "") : ""},
                {"statement", cut_text(statement, limits_.statement_bytes)},
                {"statement_bytes", statement.size()},
                {"cut", statement.size() > limits_.statement_bytes},
                {"outcome", a["outcome"]},
                {"rule", a["rule"]},
                {"sqlstate", a["sqlstate"]},
                {"message", a["message"].is_string() ? json(cut_text(util::sanitize_utf8(a["message"].get<std::string>()), 1024))
                                                     : json()},
                {"duration_ms", a["duration_ms"]},
                {"rows", a["rows"]},
                {"truncated", a["truncated"]}};
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) {
    try {
      append({{"identity", record.identity}, {"entry", entry}});
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());  // the statement ran; its history line is what is lost
    }
  }
  keep(record.identity, std::move(entry));
  compact_if_large();
}

json History::entries(const std::string& identity, const std::optional<std::string>& outcome) const {
  std::lock_guard lock(mutex_);
  json out = json::array();
  auto it = by_identity_.find(identity);
  if (it == by_identity_.end()) return out;
  for (auto e = it->second.entries.rbegin(); e != it->second.entries.rend(); ++e) {
    if (!outcome || (*e)["outcome"] == *outcome) out.push_back(*e);
  }
  return out;
}

std::optional<json> History::find(const std::string& identity, const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = by_identity_.find(identity);
  if (it == by_identity_.end()) return std::nullopt;
  for (const auto& e : it->second.entries) {
    if (e["id"] == id) return e;
  }
  return std::nullopt;
}

size_t History::clear(const std::string& identity) {
  std::lock_guard lock(mutex_);
  auto it = by_identity_.find(identity);
  size_t n = it == by_identity_.end() ? 0 : it->second.entries.size();
  forget(identity);
  if (fd_ >= 0) append({{"identity", identity}, {"clear", true}});
  compact_if_large();
  return n;
}

size_t History::identities() const {
  std::lock_guard lock(mutex_);
  return by_identity_.size();
}

size_t History::bytes() const {
  std::lock_guard lock(mutex_);
  return total_bytes_;
}

void History::append(const json& line) {
  write_all(fd_, line_of(line), file_);
  ++file_lines_;
}

void History::compact_if_large() {
  if (fd_ < 0 || file_lines_ <= 2 * kept_entries_ + limits_.compact_slack) return;
  try {
    compact();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

void History::compact() {
  // The kept entries, oldest first per identity, into a new file beside the old one (0600,
  // created exclusively), synced, then renamed over it: a crash leaves one whole file or the other.
  namespace fs = std::filesystem;
  std::string tmp = file_ + ".compact-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw RuntimeError(fmt::format("--history-file {}: cannot compact: {}", file_, std::strerror(errno)));
  try {
    ::fchmod(fd, 0600);
    // Identities in the order of their last statement, so a reload evicts the same ones.
    std::vector<std::pair<unsigned long long, const std::string*>> order;
    for (const auto& [identity, k] : by_identity_) order.emplace_back(k.last_used, &identity);
    std::sort(order.begin(), order.end());
    std::string text;
    size_t lines = 0;
    for (const auto& [used, identity] : order) {
      for (const auto& e : by_identity_.at(*identity).entries) {
        text += line_of({{"identity", *identity}, {"entry", e}});
        ++lines;
      }
    }
    write_all(fd, text, file_);
    if (::fsync(fd) != 0) throw RuntimeError(fmt::format("--history-file {}: fsync: {}", file_, std::strerror(errno)));
    if (::rename(tmp.c_str(), file_.c_str()) != 0) {
      throw RuntimeError(fmt::format("--history-file {}: cannot replace it: {}", file_, std::strerror(errno)));
    }
    ::close(fd_);
    fd_ = fd;  // the new file, opened O_RDWR by mkstemp: appends go to its end
    ::lseek(fd_, 0, SEEK_END);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_APPEND);
    file_lines_ = lines;
  } catch (...) {
    ::close(fd);
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

}  // namespace pgshift::console
