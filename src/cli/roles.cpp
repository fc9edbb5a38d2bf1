// `pgshift roles plan|apply|check -f roles.yaml --db URL [--json]`: declarative roles.
#include <cstdio>
#include <cstdlib>

#include "access/spec.hpp"
#include "cli/cli.hpp"
#include "pg/connection.hpp"
#include "roles/roles.hpp"
#include "util/error.hpp"

namespace pgshift::cli {
namespace {

struct RolesFlags {
  std::string file;
  std::string db;
  bool json = false;
  std::vector<std::string> roles;
  std::vector<std::string> probe_urls;
  bool no_probe = false;
};

pg::ConnInfo database(const RolesFlags& f) {
  if (!f.db.empty()) return pg::ConnInfo::parse(f.db, "--db");
  if (auto env = pg::ConnInfo::from_env("PGSHIFT_DB_URL")) return *env;
  throw UsageError("roles: --db URL (or PGSHIFT_DB_URL) is required");
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void add_common(CLI::App* cmd, RolesFlags& f, bool file_required) {
  auto* opt = cmd->add_option("-f,--file", f.file, "roles.yaml: roles in CloudNativePG managed.roles shape plus access");
  if (file_required) opt->required();
  cmd->add_option("--db", f.db, "Database URL or conninfo, as a role that may manage roles (env PGSHIFT_DB_URL)");
  cmd->add_flag("--json", f.json, "Print JSON");
}

// plan, or apply: both print what the plan holds (apply: what ran).
int run_plan(const RolesFlags& f, bool apply) {
  access::RolesFile file = access::load_roles_file(f.file);
  pg::Connection conn = pg::Connection::open(database(f), "db");
  access::RolesPlan p = apply ? roles::apply(conn, file) : roles::plan(conn, file);
  if (f.json) print_json(roles::plan_to_json(p));
  else print(roles::render_plan(p, apply));
  return p.refused() ? static_cast<int>(ExitCode::problems_found) : 0;
}

}  // namespace

void register_roles(CLI::App& app, Context& ctx) {
  CLI::App* roles = app.add_subcommand("roles", "Declarative read-only roles: plan, apply, and prove no write path");
  roles->require_subcommand(1);
  auto flags = std::make_shared<RolesFlags>();

  CLI::App* plan = roles->add_subcommand("plan", "Print the statements apply would run (passwords redacted); change nothing");
  add_common(plan, *flags, true);
  plan->callback([flags, &ctx] {
    ctx.prepare("roles-plan");
    ctx.exit_code = run_plan(*flags, false);
  });

  CLI::App* apply = roles->add_subcommand("apply", "Run the plan in one transaction (idempotent; never drops an undeclared role)");
  add_common(apply, *flags, true);
  apply->callback([flags, &ctx] {
    ctx.prepare("roles-apply");
    ctx.exit_code = run_plan(*flags, true);
  });

  CLI::App* check = roles->add_subcommand(
      "check", "Prove each read-only role has no write path (catalog, then a live probe as the role); exit 1 when any");
  add_common(check, *flags, false);
  check->add_option("--role", flags->roles, "Also check this role (repeatable)")->allow_extra_args(false);
  check->add_option("--probe-url", flags->probe_urls,
                    "Connect as a role for the live probe (its user is the role; repeatable)")
      ->allow_extra_args(false);
  check->add_flag("--no-probe", flags->no_probe,
                  "Skip the live probe (otherwise a role the check cannot log in as fails it)");
  check->callback([flags, &ctx] {
    ctx.prepare("roles-check");
    access::RolesFile file;
    if (!flags->file.empty()) file = access::load_roles_file(flags->file);
    pg::ConnInfo db = database(*flags);
    roles::CheckOptions options;
    options.extra_roles = flags->roles;
    options.probe_enabled = !flags->no_probe;
    for (const auto& url : flags->probe_urls) {
      pg::ConnInfo info = pg::ConnInfo::parse(url, "--probe-url");
      options.probe[info.user()] = info;
    }
    pg::Connection conn = pg::Connection::open(db, "db");
    roles::CheckReport report = roles::check(conn, db, file, options);
    if (flags->json) print_json(roles::check_to_json(report));
    else print(roles::render_check(report));
    ctx.exit_code = report.ok() ? 0 : static_cast<int>(ExitCode::problems_found);
  });
}

}  // namespace pgshift::cli
