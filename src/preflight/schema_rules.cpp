// Schema hazards: what the target lacks or has differently for the replicated tables.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <set>

#include "preflight/rules.hpp"

namespace pgshift::preflight {
namespace {

using catalog::ColumnDifference;

// Type changes that logical replication applies without loss (values travel as text):
// integer widening, real to double, and varchar to text or to a longer varchar.
bool is_widening(const std::string& from, const std::string& to) {
  static const std::set<std::pair<std::string, std::string>> widen = {
      {"smallint", "integer"}, {"smallint", "bigint"}, {"integer", "bigint"}, {"real", "double precision"},
  };
  if (widen.count({from, to})) return true;
  auto base = [](const std::string& t) { return t.substr(0, t.find('(')); };
  auto length = [](const std::string& t) {
    size_t open = t.find('(');
    return open == std::string::npos ? INT_MAX : std::atoi(t.c_str() + open + 1);
  };
  return base(from) == "character varying" &&
         (to == "text" || (base(to) == "character varying" && length(to) >= length(from)));
}

}  // namespace

void check_schema(const Inputs& in, const Options& options, std::vector<Hazard>& out) {
  // ---- tables on one side only
  std::vector<std::string> source_only, target_only;
  for (const auto& lo : in.selection.left_out) {
    if (lo.reason == catalog::LeftOutReason::source_only) source_only.push_back(lo.table.display());
    if (lo.reason == catalog::LeftOutReason::target_only) target_only.push_back(lo.table.display());
  }
  if (in.selection.replicated.empty() && !source_only.empty()) {
    // Nothing in common: the target has no schema yet (sync start would say "nothing to replicate").
    out.push_back({Severity::error, "target-empty", "target",
                   fmt::format("the target has none of the source's {} table(s): logical replication copies rows, "
                               "not the schema, so the target needs the schema first",
                               source_only.size()),
                   cap_list(source_only),
                   "pgshift schema copy --source ... --target ... (the application's schemas, without the "
                   "provider's; see docs/schema-copy.md)"});
  } else if (!source_only.empty()) {
    out.push_back({options.allow_missing_tables ? Severity::warning : Severity::error, "source-only-tables", "source",
                   fmt::format("{} table(s) exist on the source only and would not be migrated: after cutover the "
                               "application would find them missing or empty; the publication covers the {} "
                               "table(s) present on both sides",
                               source_only.size(), in.selection.replicated.size()),
                   cap_list(source_only),
                   options.allow_missing_tables
                       ? "--allow-missing-tables: they stay behind on the source"
                       : "create them on the target (pgshift schema copy into an empty target, or pg_dump --schema-only "
                         "-t ... | psql target), --exclude them, or "
                         "pass --allow-missing-tables to leave them behind"});
  }
  if (!target_only.empty()) {
    out.push_back({Severity::info, "target-only-tables", "target",
                   fmt::format("{} table(s) exist on the target only; pgshift leaves them alone",
                               target_only.size()),
                   cap_list(target_only), ""});
  }

  // ---- columns of replicated tables
  std::vector<std::string> missing, required_extra, mismatched, widened, generated, extra;
  for (const auto& d : in.diff.columns) {
    if (!in.selection.contains(d.table)) continue;
    switch (d.kind) {
      case ColumnDifference::Kind::missing_on_target: missing.push_back(describe(d)); break;
      case ColumnDifference::Kind::extra_on_target:
        (d.target_requires_value ? required_extra : extra).push_back(describe(d));
        break;
      case ColumnDifference::Kind::type_mismatch:
        (is_widening(d.source_type, d.target_type) ? widened : mismatched).push_back(describe(d));
        break;
      case ColumnDifference::Kind::generated_mismatch: generated.push_back(describe(d)); break;
    }
  }
  if (!missing.empty()) {
    out.push_back({Severity::error, "column-missing-on-target", "target",
                   fmt::format("{} column(s) of replicated tables are missing on the target; the apply "
                               "worker stops at the first change that carries them",
                               missing.size()),
                   cap_list(missing), "ALTER TABLE ... ADD COLUMN on the target with the source's type"});
  }
  if (!required_extra.empty()) {
    out.push_back({Severity::error, "target-column-requires-value", "target",
                   fmt::format("{} target-only column(s) are NOT NULL without a default; every replicated "
                               "INSERT would fail",
                               required_extra.size()),
                   cap_list(required_extra), "give them a DEFAULT or drop NOT NULL on the target"});
  }
  if (!mismatched.empty()) {
    out.push_back({Severity::error, "column-type-mismatch", "both",
                   fmt::format("{} column(s) have different types on the two sides", mismatched.size()),
                   cap_list(mismatched), "ALTER TABLE ... ALTER COLUMN ... TYPE on the target to match the source"});
  }
  if (!widened.empty()) {
    out.push_back({Severity::warning, "column-type-widened", "both",
                   fmt::format("{} column(s) have a wider type on the target; values replicate, but "
                               "verify compares their text forms",
                               widened.size()),
                   cap_list(widened), "usually fine; match the types to keep verify exact"});
  }
  if (!generated.empty()) {
    out.push_back({Severity::error, "generated-column-mismatch", "both",
                   fmt::format("{} column(s) are generated on one side only; logical replication does "
                               "not carry generated values",
                               generated.size()),
                   cap_list(generated), "define the column the same way (GENERATED ALWAYS AS ... STORED) on both sides"});
  }
  if (!extra.empty()) {
    out.push_back({Severity::info, "target-extra-columns", "target",
                   fmt::format("{} target-only column(s) will be filled by their defaults", extra.size()),
                   cap_list(extra), ""});
  }

  // ---- enums
  std::vector<std::string> enum_missing;
  for (const auto& e : in.diff.enums) {
    if (e.missing_on_target) {
      enum_missing.push_back(fmt::format("{} (type missing)", e.type));
    } else {
      std::string labels;
      for (const auto& l : e.missing_labels) labels += (labels.empty() ? "" : ", ") + ("'" + l + "'");
      enum_missing.push_back(fmt::format("{}: {}", e.type, labels));
    }
  }
  if (!enum_missing.empty()) {
    out.push_back({Severity::error, "enum-labels-missing", "target",
                   fmt::format("{} enum type(s) lack labels on the target; a row carrying one stops the "
                               "apply worker",
                               enum_missing.size()),
                   cap_list(enum_missing), "ALTER TYPE ... ADD VALUE '...' on the target (or create the type)"});
  }

  // ---- sequences
  if (!in.source.sequences.empty()) {
    std::vector<std::string> names;
    for (const auto& s : in.source.sequences) {
      std::string owner = "standalone";
      if (s.owner_table) {
        owner = fmt::format("owned by {}.{}", s.owner_table->display(), s.owner_column);
      } else if (!s.used_by.empty()) {
        // Not OWNED BY a column but called by column defaults (nextval('...')), as in Pagila.
        std::vector<std::string> users;
        for (const auto& t : s.used_by) users.push_back(t.display());
        owner = fmt::format("used by a column default of {}", fmt::join(users, ", "));
      }
      std::string value = s.last_value ? fmt::format("last value {}", *s.last_value) : "never used";
      names.push_back(fmt::format("{} ({}, {})", s.ref.display(), owner, value));
    }
    out.push_back({Severity::info, "sequences", "both",
                   fmt::format("{} sequence(s) are not carried by logical replication; cutover sets them on "
                               "the target from the source's values",
                               in.source.sequences.size()),
                   cap_list(names), ""});
  }
  if (!in.diff.missing_sequences.empty()) {
    std::vector<std::string> names;
    for (const auto& s : in.diff.missing_sequences) names.push_back(s.display());
    out.push_back({Severity::warning, "sequence-missing-on-target", "target",
                   fmt::format("{} sequence(s) exist on the source only; cutover cannot set them",
                               names.size()),
                   cap_list(names), "create them on the target (they come with pgshift schema copy)"});
  }

  // ---- extensions
  std::vector<std::string> ext_create, ext_versions;
  const std::vector<std::string> ext_unavailable = catalog::unavailable_extensions(in.source, in.target);
  for (const auto& e : in.source.extensions) {
    if (e.name == "plpgsql") continue;
    const catalog::Extension* te = in.target.extension(e.name);
    if (te) {
      if (te->version != e.version) {
        ext_versions.push_back(fmt::format("{} {} on the source, {} on the target", e.name, e.version, te->version));
      }
    } else if (std::find(ext_unavailable.begin(), ext_unavailable.end(), e.name) == ext_unavailable.end()) {
      ext_create.push_back(e.name);
    }
  }
  if (!ext_create.empty()) {
    out.push_back({Severity::warning, "extension-missing-on-target", "target",
                   fmt::format("{} extension(s) installed on the source are not created on the target",
                               ext_create.size()),
                   ext_create, "CREATE EXTENSION ... on the target before creating the tables that use them"});
  }
  if (!ext_unavailable.empty()) {
    out.push_back({Severity::error, "extension-unavailable-on-target", "target",
                   fmt::format("{} extension(s) used on the source are not even available on the target "
                               "server",
                               ext_unavailable.size()),
                   ext_unavailable,
                   "install the extension's package in the target image (CloudNativePG: an image that "
                   "ships it), or drop the dependency"});
  }
  if (!ext_versions.empty()) {
    out.push_back({Severity::info, "extension-versions", "both", "extension versions differ", ext_versions,
                   "ALTER EXTENSION ... UPDATE where the behaviour matters"});
  }
}

}  // namespace pgshift::preflight
