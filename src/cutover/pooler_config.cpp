#include "cutover/pooler_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/error.hpp"

namespace pgshift::cutover {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One key=value pair of a libpq-style connect string as PgBouncer reads it; values may be
// single-quoted.
struct Pair {
  std::string key;
  std::string value;
};

std::vector<Pair> parse_pairs(const std::string& text) {
  std::vector<Pair> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    size_t eq = text.find('=', i);
    if (eq == std::string::npos) break;
    Pair p{trim(text.substr(i, eq - i)), ""};
    i = eq + 1;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      while (i < text.size() && text[i] != '\'') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        p.value += text[i++];
      }
      ++i;
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) p.value += text[i++];
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string render_value(const std::string& v) {
  bool plain = !v.empty() && v.find_first_of(" '\\") == std::string::npos;
  if (plain) return v;
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// Calls visit(line_index, value_text) for the [databases] entry named db.
template <typename Visit>
bool find_entry(const std::vector<std::string>& lines, const std::string& db, Visit visit) {
  bool in_databases = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string t = trim(lines[i]);
    if (t.empty() || t[0] == ';' || t[0] == '#') continue;
    if (t.front() == '[') {
      in_databases = lower(t) == "[databases]";
      continue;
    }
    if (!in_databases) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string name = trim(t.substr(0, eq));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (name == db) {
      visit(i, trim(t.substr(eq + 1)));
      return true;
    }
  }
  return false;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::string PoolerEndpoint::display() const { return fmt::format("{}:{}/{}", host, port, dbname); }

PoolerEndpoint parse_pooler_endpoint(const std::string& text, const std::string& what) {
  size_t slash = text.find('/');
  size_t colon = slash == std::string::npos ? std::string::npos : text.rfind(':', slash);
  bool ok = colon != std::string::npos && colon > 0 && slash > colon + 1 && slash + 1 < text.size();
  std::string port = ok ? text.substr(colon + 1, slash - colon - 1) : "";
  ok = ok && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) throw UsageError(fmt::format("{}: '{}' is not host:port/dbname", what, text));
  return {text.substr(0, colon), port, text.substr(slash + 1)};
}

std::optional<PoolerEndpoint> read_database_entry(const std::string& ini_text, const std::string& db) {
  std::optional<PoolerEndpoint> out;
  find_entry(split_lines(ini_text), db, [&](size_t, const std::string& value) {
    PoolerEndpoint e{"", "5432", db};
    for (const auto& p : parse_pairs(value)) {
      if (p.key == "host") e.host = p.value;
      if (p.key == "port") e.port = p.value;
      if (p.key == "dbname") e.dbname = p.value;
    }
    out = e;
  });
  return out;
}

std::string rewrite_database_entry(const std::string& ini_text, const std::string& db, const PoolerEndpoint& to) {
  std::vector<std::string> lines = split_lines(ini_text);
  bool found = find_entry(lines, db, [&](size_t index, const std::string& value) {
    std::vector<Pair> pairs = parse_pairs(value);
    auto set = [&](const std::string& key, const std::string& v) {
      for (auto& p : pairs) {
        if (p.key == key) {
          p.value = v;
          return;
        }
      }
      pairs.push_back({key, v});
    };
    set("host", to.host);
    set("port", to.port);
    set("dbname", to.dbname);
    std::string rendered;
    for (const auto& p : pairs) rendered += (rendered.empty() ? "" : " ") + p.key + "=" + render_value(p.value);
    lines[index] = db + " = " + rendered;
  });
  if (!found) {
    throw UsageError(fmt::format("the pooler config has no [databases] entry '{}' (--pooler-db)", db));
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("--pooler-config {}: cannot read: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_config_file(const std::string& path, const std::string& text) {
  struct stat st {};
  bool have_stat = ::stat(path.c_str(), &st) == 0;
  std::string tmp = path + ".pgshift-tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw RuntimeError(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  }
  if (have_stat) {
    (void)!::chown(tmp.c_str(), st.st_uid, st.st_gid);
    ::chmod(tmp.c_str(), st.st_mode & 07777);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw RuntimeError(fmt::format("cannot replace {}: {}", path, std::strerror(errno)));
  }
}

std::string rewrite_config_file(const std::string& path, const std::string& db, const PoolerEndpoint& to) {
  std::string before = read_config_file(path);
  write_config_file(path, rewrite_database_entry(before, db, to));
  return before;
}

}  // namespace pgshift::cutover
