// Reading `pg_restore -l` and deciding which entries a schema copy restores (see toc.hpp).
#include "schemacopy/toc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <sstream>

#include "util/error.hpp"

namespace pgshift::schemacopy {
namespace {

constexpr uint32_t kPgClass = 1259;

// Descriptions of more than one word (pg_dump's ArchiveEntry descriptions); any other is one word.
constexpr std::array<std::string_view, 22> kMultiWord = {
    "PUBLICATION TABLES IN SCHEMA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH TEMPLATE",
    "TEXT SEARCH PARSER", "FOREIGN DATA WRAPPER", "DATABASE PROPERTIES", "PROCEDURAL LANGUAGE",
    "SEQUENCE OWNED BY", "MATERIALIZED VIEW DATA", "MATERIALIZED VIEW", "PUBLICATION TABLE", "CHECK CONSTRAINT",
    "OPERATOR FAMILY", "OPERATOR CLASS", "FK CONSTRAINT", "EVENT TRIGGER", "FOREIGN TABLE", "ACCESS METHOD",
    "SECURITY LABEL", "ROW SECURITY", "DEFAULT ACL",
};

}  // namespace

std::string TocEntry::display() const {
  return schema == "-" ? fmt::format("{} {}", desc, tag) : fmt::format("{} {}.{}", desc, schema, tag);
}

std::vector<TocEntry> parse_toc(const std::string& text) {
  std::vector<TocEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') continue;
    TocEntry e;
    e.line = line;
    unsigned long classid = 0, objid = 0;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%d; %lu %lu %n", &e.dump_id, &classid, &objid, &consumed) != 3 || consumed == 0) {
      throw RuntimeError(fmt::format("schema copy: cannot read the dump's table of contents at line '{}'", line));
    }
    e.id = {static_cast<uint32_t>(classid), static_cast<uint32_t>(objid)};
    std::string rest = line.substr(static_cast<size_t>(consumed));
    auto multi = std::find_if(kMultiWord.begin(), kMultiWord.end(), [&](std::string_view d) {
      return rest.compare(0, d.size(), d) == 0 && (rest.size() == d.size() || rest[d.size()] == ' ');
    });
    e.desc = multi != kMultiWord.end() ? std::string(*multi) : rest.substr(0, rest.find(' '));
    rest = rest.size() > e.desc.size() ? rest.substr(e.desc.size() + 1) : "";
    size_t space = rest.find(' ');
    e.schema = rest.substr(0, space);
    rest = space == std::string::npos ? "" : rest.substr(space + 1);
    // The owner is the last word (empty for extensions); the tag is what lies between.
    size_t last = rest.rfind(' ');
    e.tag = last == std::string::npos ? rest : rest.substr(0, last);
    out.push_back(std::move(e));
  }
  return out;
}

std::string to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::keep: return "keep";
    case Verdict::event_trigger: return "event_trigger";
    case Verdict::extension_unavailable: return "extension_unavailable";
    case Verdict::extension_comment: return "extension_comment";
    case Verdict::blocked: return "blocked";
  }
  return "keep";
}

void attach_script(std::vector<TocEntry>& toc, const std::string& verbose_script) {
  std::map<int, TocEntry*> by_id;
  for (auto& e : toc) by_id[e.dump_id] = &e;
  std::istringstream in(verbose_script);
  std::string line;
  TocEntry* at = nullptr;
  while (std::getline(in, line)) {
    int id = 0;
    if (std::sscanf(line.c_str(), "-- TOC entry %d ", &id) == 1) {
      auto it = by_id.find(id);
      at = it == by_id.end() ? nullptr : it->second;
      continue;
    }
    if (!at) continue;
    if (line.rfind("-- Dependencies:", 0) == 0) {
      std::istringstream deps(line.substr(16));
      int dep = 0;
      while (deps >> dep) at->depends.push_back(dep);
    } else if (!line.empty() && line.rfind("--", 0) != 0 && line[0] != '\\') {
      at->statement += (at->statement.empty() ? "" : "\n") + line;
    }
  }
}

std::vector<Decision> decide(const std::vector<TocEntry>& toc, const std::map<catalog::ObjectId, std::string>& blocked,
                             const std::vector<std::string>& unavailable_extensions) {
  std::vector<Decision> out;
  std::map<int, size_t> index;
  for (const auto& e : toc) {
    Decision d{e, Verdict::keep, ""};
    catalog::ObjectId object = e.id.classid == 0 ? catalog::ObjectId{kPgClass, e.id.objid} : e.id;
    if (e.desc == "EVENT TRIGGER") {
      d.verdict = Verdict::event_trigger;
    } else if (e.desc == "COMMENT" && e.tag.rfind("EXTENSION ", 0) == 0) {
      d.verdict = Verdict::extension_comment;
    } else if (e.desc == "EXTENSION" && std::find(unavailable_extensions.begin(), unavailable_extensions.end(),
                                                  e.tag) != unavailable_extensions.end()) {
      d.verdict = Verdict::extension_unavailable;
      d.depends_on = "extension " + e.tag;
    } else if (auto it = blocked.find(object); e.id.objid != 0 && it != blocked.end()) {
      d.verdict = Verdict::blocked;
      d.depends_on = it->second;
    }
    index[e.dump_id] = out.size();
    out.push_back(std::move(d));
  }
  // A dropped entry's dependents are dropped with it (until nothing changes: the order of the
  // list is not always the order of the dependencies).
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& d : out) {
      if (d.verdict != Verdict::keep) continue;
      for (int dep : d.entry.depends) {
        auto it = index.find(dep);
        if (it == index.end()) continue;
        const Decision& on = out[it->second];
        if (on.verdict == Verdict::keep || on.verdict == Verdict::extension_comment) continue;
        d.verdict = Verdict::blocked;
        d.depends_on = on.entry.display();
        changed = true;
        break;
      }
    }
  }
  return out;
}

std::string list_file(const std::vector<Decision>& decisions, bool kept) {
  std::string out;
  for (const auto& d : decisions) {
    if ((d.verdict == Verdict::keep) == kept) out += d.entry.line + "\n";
  }
  return out;
}

}  // namespace pgshift::schemacopy
