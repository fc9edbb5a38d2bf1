// The table of contents of a custom-format dump (`pg_restore -l`) and the choice of the entries a
// schema copy restores. Pure: no process, no database.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "catalog/dependents.hpp"

namespace pgshift::schemacopy {

// One line of `pg_restore -l`: "238; 1259 16539 TABLE public profiles postgres".
struct TocEntry {
  int dump_id = 0;
  catalog::ObjectId id;   // {0, 0} for entries attached to the one before (COMMENT, SEQUENCE OWNED BY)
  std::string desc;       // TABLE, FK CONSTRAINT, EVENT TRIGGER, COMMENT, ...
  std::string schema;     // "-" when none
  std::string tag;        // the object's name as the dump names it
  std::string line;       // the line as pg_restore printed it
  std::vector<int> depends;  // dump ids it depends on (from the verbose script)
  std::string statement;     // its SQL (from the verbose script)
  std::string display() const;  // "FK CONSTRAINT public.profiles profiles_id_fkey"
};

// Parses `pg_restore -l` output (comment lines skipped). Throws RuntimeError on a line it cannot read.
std::vector<TocEntry> parse_toc(const std::string& text);

// Fills depends and statement from `pg_restore -v -f -` output of the same dump, whose blocks
// start "-- TOC entry N (class C OID O)" and carry "-- Dependencies: ...".
void attach_script(std::vector<TocEntry>& toc, const std::string& verbose_script);

enum class Verdict {
  keep,
  event_trigger,          // never copied: superuser triggers on every DDL, the provider's
  extension_unavailable,  // the target cannot create the extension
  extension_comment,      // COMMENT ON EXTENSION: comes with CREATE EXTENSION, needs its owner
  blocked,                // depends on what the target will not have (catalog::read_provider_dependents)
};
std::string to_string(Verdict verdict);

struct Decision {
  TocEntry entry;
  Verdict verdict = Verdict::keep;
  std::string depends_on;  // blocked: the object it needs; extension_unavailable: the extension
};

// blocked: object -> what it depends on. ROW SECURITY names its table's oid and follows the
// table. Then pg_dump's own dependencies carry every dropped entry's fate to the entries that
// depend on it (a COMMENT on a dropped view, a view on a dropped view), transitively.
std::vector<Decision> decide(const std::vector<TocEntry>& toc, const std::map<catalog::ObjectId, std::string>& blocked,
                             const std::vector<std::string>& unavailable_extensions);

// A list file for `pg_restore -L`: the entries' lines.
std::string list_file(const std::vector<Decision>& decisions, bool kept);

}  // namespace pgshift::schemacopy
