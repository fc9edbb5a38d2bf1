// `pgshift schema copy` (see schemacopy.hpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "catalog/catalog.hpp"
#include "catalog/dependents.hpp"
#include "catalog/providers.hpp"
#include "localpg/cluster.hpp"
#include "pg/connection.hpp"
#include "pg/quote.hpp"
#include "schemacopy/schemacopy.hpp"
#include "schemacopy/toc.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace pgshift::schemacopy {
namespace {

constexpr std::string_view kExtensionSchemasSql = R"sql(
SELECT e.extname AS name, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 ORDER BY 1
)sql";

// A pg_dump pattern that matches exactly this name (double quotes: no wildcards, case kept).
std::string exact_pattern(const std::string& name) { return pg::quote_ident(name); }

// Runs a PostgreSQL client program, against a server when one is given: the password travels
// in the environment, never in argv (which `ps` shows). Notices are not output.
util::RunResult run_tool(std::vector<std::string> argv, const pg::ConnInfo* server = nullptr) {
  util::ProcessSpec spec;
  if (server) {
    pg::ConnInfo info = *server;
    std::string password = info.get("password");
    info.erase("password");
    info.set("application_name", "pgshift/schema-copy");
    argv.push_back("--dbname=" + info.to_conninfo());
    if (!password.empty()) spec.env["PGPASSWORD"] = password;
    spec.env["PGOPTIONS"] = "-c client_min_messages=warning";
  }
  spec.argv = std::move(argv);
  return util::run(spec);
}

// Throws a RuntimeError naming the tool, where it ran and its first line of complaint.
const util::RunResult& require_ok(const util::RunResult& r, const std::string& what, const std::string& where) {
  if (r.exit_code == 0) return r;
  std::string err = r.err.substr(0, r.err.find('\n'));
  throw RuntimeError(fmt::format("schema copy: {} {} failed (exit {}): {}", what, where, r.exit_code,
                                 err.empty() ? r.out.substr(0, r.out.find('\n')) : err));
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw RuntimeError(fmt::format("schema copy: cannot write {}", path));
}

// The object and statement a psql error (psql:<file>:<line>: ERROR: ...) stopped at: the
// nearest "-- Name: ...; Type: ...; Schema: ..." header above the line, and the lines from the
// header to the failing line.
std::string explain_failure(const std::string& script, const std::string& err) {
  std::string first_error;
  int line_no = 0;
  std::istringstream es(err);
  for (std::string l; std::getline(es, l);) {
    size_t at = l.find("ERROR:");
    if (at == std::string::npos) continue;
    first_error = l.substr(at);
    size_t colon = l.rfind(':', at - 2);
    size_t before = colon == std::string::npos ? std::string::npos : l.rfind(':', colon - 1);
    if (before != std::string::npos) line_no = std::atoi(l.c_str() + before + 1);
    break;
  }
  if (first_error.empty()) first_error = err.substr(0, err.find('\n'));
  std::vector<std::string> lines;
  std::istringstream ss(script);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  std::string object = "?", statement;
  for (int i = std::min<int>(line_no, static_cast<int>(lines.size())) - 1; i >= 0; --i) {
    const std::string& l = lines[static_cast<size_t>(i)];
    if (l.rfind("-- Name: ", 0) == 0) {
      object = l.substr(9);
      break;
    }
    if (!l.empty() && l.rfind("--", 0) != 0) statement = l + (statement.empty() ? "" : " ") + statement;
  }
  // Keep the statement readable on one line.
  std::string flat;
  for (char c : statement) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && !flat.empty() && flat.back() == ' ') continue;
    flat += c;
  }
  if (flat.size() > 300) flat = flat.substr(0, 297) + "...";
  return fmt::format("{} at {} (script line {}); statement: {}", first_error, object, line_no, flat);
}

}  // namespace

Result copy_schema(const pg::ConnInfo& source_info, const pg::ConnInfo& target_info, const Options& options) {
  auto started = std::chrono::steady_clock::now();
  Result result;
  result.source_endpoint = source_info.redacted();
  result.target_endpoint = target_info.redacted();
  pg::Connection source = pg::Connection::open(source_info, "source");
  pg::Connection target = pg::Connection::open(target_info, "target");
  catalog::Snapshot src = catalog::read_snapshot(source);
  catalog::Snapshot tgt = catalog::read_snapshot(target);
  result.provider = src.server.provider;

  catalog::ProviderSchemas provider = catalog::provider_schemas(src);
  provider.adjust(options.include_schemas, options.exclude_schemas);

  // An empty target: no application table (the target's own provider schemas aside).
  catalog::ProviderSchemas target_provider = catalog::provider_schemas(tgt);
  std::vector<std::string> existing;
  for (const auto& t : tgt.tables) {
    if (!target_provider.contains(t.ref.schema)) existing.push_back(t.ref.display());
  }
  if (!existing.empty()) {
    std::string some;
    for (size_t i = 0; i < existing.size() && i < 5; ++i) some += (i ? ", " : "") + existing[i];
    std::string what = fmt::format("the target {} already holds {} table(s) ({}{})", result.target_endpoint,
                                   existing.size(), some, existing.size() > 5 ? ", ..." : "");
    if (!options.skip_if_not_empty) {
      throw UsageError(what + ": schema copy fills an empty target; drop them, or pass --skip-if-not-empty to "
                              "leave the target as it is");
    }
    result.skipped = what;
    return result;
  }

  for (const auto& s : catalog::read_schema_names(source)) {
    if (provider.contains(s)) result.provider_schemas.push_back(s);
  }
  result.event_triggers = catalog::read_event_triggers(source);
  result.unavailable_extensions = catalog::unavailable_extensions(src, tgt);
  std::vector<std::string> extension_schemas;  // provider schemas the kept extensions live in
  {
    pg::Result r = source.exec(kExtensionSchemasSql);
    for (int i = 0; i < r.rows(); ++i) {
      std::string name = r.row(i).text("name"), schema = r.row(i).text("schema");
      const auto& un = result.unavailable_extensions;
      if (name == "plpgsql" || std::find(un.begin(), un.end(), name) != un.end()) continue;
      result.extensions.push_back(name);
      if (provider.contains(schema) &&
          std::find(extension_schemas.begin(), extension_schemas.end(), schema) == extension_schemas.end()) {
        extension_schemas.push_back(schema);
      }
    }
  }

  std::string dir = localpg::make_private_dir("schema-copy");
  struct Cleanup {
    std::string dir;
    ~Cleanup() { localpg::remove_tree(dir); }
  } cleanup{dir};
  const std::string dump = dir + "/schema.dump";
  std::vector<std::string> dump_argv = {localpg::client_program("pg_dump"), "--format=custom", "--schema-only",
                                        "--no-owner", "--no-privileges", "--no-publications", "--no-subscriptions",
                                        "--no-security-labels", "--file=" + dump, "--exclude-schema=" + exact_pattern(std::string(catalog::kStateSchema))};
  for (const auto& s : result.provider_schemas) dump_argv.push_back("--exclude-schema=" + exact_pattern(s));
  spdlog::info("dumping the schema of {} ({} provider schema(s) left out)", result.source_endpoint,
               result.provider_schemas.size());
  require_ok(run_tool(dump_argv, &source_info), "pg_dump of", result.source_endpoint);

  // pg_dump records owners in an archive whatever --no-owner says ("only meaningful for plain
  // text"): the restore must say it again.
  const std::string restore = localpg::client_program("pg_restore");
  std::vector<TocEntry> toc = parse_toc(require_ok(run_tool({restore, "--list", dump}), "pg_restore --list of", dump).out);
  attach_script(toc, require_ok(run_tool({restore, "--verbose", "--no-owner", "--no-privileges", "--file=-", dump}), "pg_restore of", dump).out);

  // What the application has that the target will not be able to create.
  std::set<catalog::ObjectId> in_dump;
  for (const auto& e : toc) in_dump.insert(e.id);
  catalog::DependentsQuery dq;
  dq.schemas = provider;
  dq.missing_extensions = result.unavailable_extensions;
  dq.target_roles = catalog::read_role_names(target);
  dq.stands_alone = [&](catalog::ObjectId o) { return in_dump.count(o) > 0; };
  std::map<catalog::ObjectId, std::string> blocked;
  for (const auto& d : catalog::read_provider_dependents(source, dq)) blocked[d.object] = d.depends_on;

  std::vector<Decision> decisions = decide(toc, blocked, result.unavailable_extensions);
  for (const auto& d : decisions) {
    if (d.verdict == Verdict::keep) ++result.entries;
    if (d.verdict == Verdict::blocked || d.verdict == Verdict::extension_unavailable) {
      result.left_out.push_back({d.entry.display(), to_string(d.verdict), d.depends_on, d.entry.statement});
    }
  }
  write_text(dir + "/kept.list", list_file(decisions, true));
  std::string prelude = "-- pgshift schema copy: the schemas of the extensions created below (the provider's "
                        "schemas themselves are not copied)\n";
  for (const auto& s : extension_schemas) prelude += fmt::format("CREATE SCHEMA IF NOT EXISTS {};\n", pg::quote_ident(s));
  std::string script =
      prelude +
      require_ok(run_tool({restore, "--use-list=" + dir + "/kept.list", "--no-owner", "--no-privileges", "--file=-", dump}), "pg_restore of", dump).out;

  if (options.dry_run) {
    result.script = std::move(script);
  } else {
    const std::string file = dir + "/schema.sql";
    write_text(file, script);
    spdlog::info("creating {} object(s) on {} in one transaction", result.entries, result.target_endpoint);
    util::RunResult r = run_tool({localpg::client_program("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
                                  "--set=ON_ERROR_STOP=1", "--file=" + file},
                                 &target_info);
    std::istringstream warnings(r.err);
    for (std::string l; r.exit_code == 0 && std::getline(warnings, l);) spdlog::warn("{}", l);
    if (r.exit_code != 0) {
      throw RuntimeError(fmt::format("schema copy into {} failed, nothing was created: {}", result.target_endpoint,
                                     explain_failure(script, r.err)));
    }
    result.copied = true;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace pgshift::schemacopy
