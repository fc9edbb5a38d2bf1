// Audit records as JSON lines; see audit/audit.hpp.
#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <regex>

#include "audit/audit.hpp"
#include "pg/conninfo.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::audit {
namespace {

constexpr size_t kMaxApplicationName = 63;

std::string iso_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(t)),
                     static_cast<int>(ms));
}

nlohmann::json redact_json(const nlohmann::json& value) {
  if (value.is_string()) return redact_statement(value.get<std::string>());
  if (value.is_array() || value.is_object()) {
    nlohmann::json out = value;
    for (auto& item : out) item = redact_json(item);
    return out;
  }
  return value;
}

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

}  // namespace

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::rejected: return "rejected";
    case Outcome::error: return "error";
    case Outcome::timeout: return "timeout";
    case Outcome::cancelled: return "cancelled";
  }
  return "?";
}

nlohmann::ordered_json Record::to_json() const {
  nlohmann::ordered_json j;
  j["time"] = iso_time(time);
  j["surface"] = surface;
  j["identity"] = identity;
  j["client_address"] = or_null(client_address);
  j["session_id"] = or_null(session_id);
  j["correlation_id"] = correlation_id;
  j["statement"] = redact_statement(statement);
  j["normalized"] = or_null(redact_statement(normalized));
  j["fingerprint"] = or_null(fingerprint);
  j["outcome"] = outcome_name(outcome);
  j["rule"] = or_null(rule);
  j["sqlstate"] = or_null(sqlstate);
  j["message"] = or_null(redact_statement(message));
  j["duration_ms"] = std::round(duration_ms * 1000) / 1000;
  j["rows"] = rows;
  j["truncated"] = truncated;
  j["bytes"] = bytes;
  j["extra"] = redact_json(extra.is_object() ? extra : nlohmann::json::object());
  return j;
}

Log::Log(const std::string& target) : target_(target) {
  if (target.empty()) return;
  if (target == "-") {
    out_ = stdout;
    return;
  }
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0 || !(out_ = fdopen(fd, "a"))) {
    if (fd >= 0) ::close(fd);
    throw RuntimeError(fmt::format("--audit-log: cannot open {} for appending: {}", target, std::strerror(errno)));
  }
  owned_ = true;
}

Log::~Log() {
  if (owned_ && out_) std::fclose(out_);
}

void Log::set_observer(std::function<void(const Record&)> observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

void Log::write(const Record& record) {
  std::string line;
  if (out_) line = record.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::function<void(const Record&)> observer;
  {
    std::lock_guard lock(mutex_);
    if (out_) {
      if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
        spdlog::error("audit log {}: write failed: {}", target_ == "-" ? "stdout" : target_, std::strerror(errno));
      }
    }
    observer = observer_;
  }
  if (observer) observer(record);
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw RuntimeError("OpenSSL RAND_bytes failed: no randomness for an id");
  }
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

std::string new_correlation_id() { return random_hex(8); }
std::string new_session_id() { return random_hex(16); }

std::string application_name(std::string_view surface, std::string_view correlation_id) {
  std::string name = fmt::format("pgshift/{}/{}", surface, correlation_id);
  if (name.size() > kMaxApplicationName) name.resize(kMaxApplicationName);
  return name;
}

std::string redact_statement(std::string_view text) {
  // PASSWORD 'literal' (CREATE/ALTER ROLE ... [ENCRYPTED] PASSWORD '...'), quotes doubled inside.
  static const std::regex kPasswordLiteral(R"((password\s*)'(?:[^']|'')*')", std::regex::icase);
  std::string out(text);
  auto spans = pg::password_spans(out);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->first, it->second - it->first, std::string(util::kRedacted));
  }
  out = std::regex_replace(out, kPasswordLiteral, "$1'" + std::string(util::kRedacted) + "'");
  return util::redact(out);
}

}  // namespace pgshift::audit
