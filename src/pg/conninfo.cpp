#include "pg/conninfo.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "pg/error.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::pg {
void register_written_passwords(std::string_view text) {
  for (const auto& [begin, end] : password_spans(text)) {
    std::string_view password = text.substr(begin, end - begin);
    util::register_secret(password);
    // An unencoded '@' makes libpq end the password early and read the rest as the host,
    // which then appears in messages: register each piece too.
    for (size_t start = 0; start <= password.size();) {
      size_t at = password.find('@', start);
      util::register_secret(password.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
      if (at == std::string_view::npos) break;
      start = at + 1;
    }
  }
}

std::vector<std::pair<size_t, size_t>> password_spans(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  // scheme://user:PASSWORD@host. libpq ends the user info at the first '@', but a password
  // with an unencoded '@' (a common slip) continues to the last one: take the longer span.
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    for (size_t at = text.find(scheme); at != std::string_view::npos; at = text.find(scheme, at + 1)) {
      size_t begin = at + scheme.size();
      size_t first_at = text.find_first_of("@/", begin);
      if (first_at == std::string_view::npos || text[first_at] != '@') continue;
      size_t segment_end = std::min(text.find("postgresql://", begin), text.find("postgres://", begin));
      size_t end = text.substr(0, segment_end).rfind('@');
      size_t colon = text.find(':', begin);
      if (colon < first_at) spans.emplace_back(colon + 1, end);
    }
  }
  // password=VALUE: a URL query parameter (ends at '&') or a key=value pair (quoted with
  // backslash escapes, or ending at white space).
  auto space = [&](size_t i) { return std::isspace(static_cast<unsigned char>(text[i])) != 0; };
  for (size_t at = text.find("password"); at != std::string_view::npos; at = text.find("password", at + 1)) {
    size_t i = at + 8;
    while (i < text.size() && space(i)) ++i;
    if (i >= text.size() || text[i] != '=') continue;
    ++i;
    while (i < text.size() && space(i)) ++i;
    size_t begin = i;
    if (i < text.size() && text[i] == '\'') {
      begin = ++i;
      while (i < text.size() && text[i] != '\'') i += text[i] == '\\' && i + 1 < text.size() ? 2 : 1;
    } else {
      while (i < text.size() && !space(i) && text[i] != '&') ++i;
    }
    if (i > begin) spans.emplace_back(begin, std::min(i, text.size()));
  }
  return spans;
}

ConnInfo ConnInfo::parse(std::string_view text, std::string_view what) {
  std::string input(text);
  // Trim surrounding whitespace: values pasted from a secret store often end with a newline.
  while (!input.empty() && std::isspace(static_cast<unsigned char>(input.back()))) input.pop_back();
  size_t lead = 0;
  while (lead < input.size() && std::isspace(static_cast<unsigned char>(input[lead]))) ++lead;
  input.erase(0, lead);
  if (input.empty()) throw UsageError(fmt::format("{}: empty connection string", what));

  char* errmsg = nullptr;
  // libpq's errors for text it cannot parse quote the input back (a bad percent escape, or the
  // whole URI) before any password is learnt from the parse.
  register_written_passwords(input);
  PQconninfoOption* options = PQconninfoParse(input.c_str(), &errmsg);
  if (options == nullptr) {
    std::string reason = errmsg ? one_line(errmsg) : "out of memory";
    if (errmsg) PQfreemem(errmsg);
    // The parser may quote part of the input back; the input can hold a password.
    throw UsageError(util::redact(fmt::format("{}: invalid connection string: {}", what, reason)));
  }
  ConnInfo info;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') info.params_[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  // libpq checks ports only when connecting; a typo should be a usage error now.
  std::string port = info.get("port");
  for (size_t start = 0; !port.empty() && start <= port.size();) {
    size_t comma = port.find(',', start);
    std::string one = port.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool digits = !one.empty() && one.size() <= 5 &&
                  std::all_of(one.begin(), one.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(one) < 1 || std::stoi(one) > 65535) {
      if (auto pw = info.params_.find("password"); pw != info.params_.end()) util::register_secret(pw->second);
      throw UsageError(fmt::format("{}: port '{}' is not a TCP port number", what, one));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (auto pw = info.params_.find("password"); pw != info.params_.end()) {
    util::register_secret(pw->second);
  }
  return info;
}

std::optional<ConnInfo> ConnInfo::from_env(const char* variable) {
  const char* value = std::getenv(variable);
  if (value == nullptr || value[0] == '\0') return std::nullopt;
  return parse(value, variable);
}

std::string ConnInfo::get(const std::string& key) const {
  auto it = params_.find(key);
  return it == params_.end() ? std::string() : it->second;
}

void ConnInfo::set(const std::string& key, std::string value) {
  if (key == "password") util::register_secret(value);
  params_[key] = std::move(value);
}

void ConnInfo::erase(const std::string& key) { params_.erase(key); }

std::string ConnInfo::host() const {
  std::string h = get("host");
  if (h.empty()) h = get("hostaddr");
  if (h.empty()) {
    const char* env = std::getenv("PGHOST");
    h = env ? env : "localhost";
  }
  return h;
}

std::string ConnInfo::port() const {
  std::string p = get("port");
  if (p.empty()) {
    const char* env = std::getenv("PGPORT");
    p = env ? env : "5432";
  }
  return p;
}

std::string ConnInfo::user() const {
  std::string u = get("user");
  if (!u.empty()) return u;
  if (const char* env = std::getenv("PGUSER")) return env;
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return "postgres";
}

std::string ConnInfo::dbname() const {
  std::string d = get("dbname");
  if (!d.empty()) return d;
  if (const char* env = std::getenv("PGDATABASE")) return env;
  return user();
}

std::string ConnInfo::redacted() const {
  std::string host_part = host();
  if (host_part.find(':') != std::string::npos && host_part.find(',') == std::string::npos &&
      host_part.front() != '/') {
    host_part = "[" + host_part + "]";  // IPv6 literal
  }
  return util::redact(fmt::format("{}@{}:{}/{}", user(), host_part, port(), dbname()));
}

std::string conninfo_quote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string ConnInfo::to_conninfo() const {
  std::string out;
  for (const auto& [key, value] : params_) {
    if (!out.empty()) out += ' ';
    out += key + "=" + conninfo_quote(value);
  }
  return out;
}

ConnInfo ConnInfo::with_dbname(std::string dbname) const {
  ConnInfo copy = *this;
  copy.params_["dbname"] = std::move(dbname);
  return copy;
}

}  // namespace pgshift::pg
