// `pgshift drill`: restore a backup into a throwaway server, prove it (schema, row counts, a
// marker written just before), measure restore/recovery time and RPO, tear everything down.
// Exit 0 passed, 1 failed, 3 could not run. `--cnpg NS/CLUSTER --render` prints the recovery
// Cluster a CloudNativePG drill applies.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backup/drill.hpp"
#include "backup/time_text.hpp"
#include "backup/tools.hpp"
#include "cli/cli.hpp"
#include "util/error.hpp"
#include "util/process.hpp"
#include "util/terminal.hpp"

namespace pgshift::cli {
namespace {

double parse_tolerance(const std::string& text) {
  std::string t = text;
  bool percent = !t.empty() && t.back() == '%';
  if (percent) t.pop_back();
  try {
    size_t used = 0;
    double v = std::stod(t, &used);
    if (used != t.size()) throw std::invalid_argument(t);
    return percent || v >= 1 ? v / 100 : v;
  } catch (const std::exception&) {
    throw UsageError("--tolerance: expected a percentage such as 10% (or a fraction such as 0.1), got " + text);
  }
}

nlohmann::json read_cluster_json(const std::string& file, const std::string& target, const backup::InventoryOptions& tools) {
  std::string text;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw UsageError("--cluster-json " + file + ": cannot read");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    size_t slash = target.find('/');
    if (slash == std::string::npos) throw UsageError("--cnpg: expected NAMESPACE/CLUSTER, got " + target);
    std::vector<std::string> argv = {tools.kubectl};
    if (!tools.kubeconfig.empty()) argv.push_back("--kubeconfig=" + tools.kubeconfig);
    argv.insert(argv.end(), {"get", "clusters.postgresql.cnpg.io", target.substr(slash + 1), "-n", target.substr(0, slash), "-o", "json"});
    text = backup::run_tool(backup::tool_spec(argv, false), "kubectl get cluster " + target, util::Millis(120'000)).out;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("the Cluster JSON is not JSON: {}", e.what()));
  }
}

void print_drill(const backup::DrillReport& r, bool json, Context& ctx) {
  if (json) {
    print_json(r.to_json());
  } else {
    std::string text = r.render_text();
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  ctx.exit_code = r.exit_code();
}

}  // namespace

void register_drill(CLI::App& app, Context& ctx) {
  struct Flags {
    std::string db, from, backup = "latest", tolerance = "10%", timeout = "30m", notify, heapallindexed_budget = "5m";
    bool keep = false, json = false;
    std::string cnpg, cluster_json;
    bool render = false, apply = false;
    backup::InventoryOptions tools;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("drill", "Restore a backup into a throwaway server and prove it: schema, row counts, a marker; RTO and RPO");
  cmd->add_option("--db", f->db, "Live database URL (env PGSHIFT_DB_URL)");
  cmd->add_option("--from", f->from, "Backup source: dir:PATH, pgbackrest:STANZA, barman-cloud:URL/SERVER");
  cmd->add_option("--backup", f->backup, "Backup id, or latest")->capture_default_str();
  cmd->add_option("--tolerance", f->tolerance, "How far a table's restored row count may be from live's")->capture_default_str();
  cmd->add_option("--timeout", f->timeout, "Deadline for the whole drill")->capture_default_str();
  cmd->add_option("--heapallindexed-budget", f->heapallindexed_budget,
                  "Time for pg_amcheck --heapallindexed on the restored tables, smallest first (0: none; heap and B-tree are always checked)")
      ->capture_default_str();
  cmd->add_flag("--keep-on-failure", f->keep, "Keep the restored server's files when the drill fails, and say how to connect");
  cmd->add_option("--notify-command", f->notify, "Shell command run on failure with the JSON report on stdin");
  cmd->add_option("--cnpg", f->cnpg, "CloudNativePG NAMESPACE/CLUSTER (with --render)");
  cmd->add_option("--cluster-json", f->cluster_json, "The live Cluster's JSON (kubectl get cluster -o json) instead of kubectl");
  cmd->add_flag("--render", f->render, "With --cnpg: print the recovery Cluster manifest the drill would apply");
  cmd->add_flag("--apply", f->apply, "With --cnpg: apply the recovery Cluster, wait for Ready, check it through a port-forward, delete it (untested here)");
  add_backup_tool_flags(cmd, f->tools);
  cmd->add_flag("--json", f->json, "Print the report as JSON");
  cmd->callback([f, &ctx] {
    ctx.prepare("drill");
    if (!f->cnpg.empty() || !f->cluster_json.empty()) {
      if (f->apply) {
        if (f->cnpg.empty()) throw UsageError("--apply needs --cnpg NAMESPACE/CLUSTER");
        backup::CnpgDrillOptions c;
        if (!f->db.empty()) c.live = pg::ConnInfo::parse(f->db, "--db");
        else if (auto env = pg::ConnInfo::from_env("PGSHIFT_DB_URL")) c.live = *env;
        else throw UsageError("drill --apply needs --db (or PGSHIFT_DB_URL): the live database to compare with");
        c.cluster = f->cnpg;
        c.tolerance = parse_tolerance(f->tolerance);
        c.timeout = util::parse_duration(f->timeout, "--timeout");
        c.notify_command = f->notify;
        c.tools = f->tools;
        if (!ctx.quiet) c.progress = [](const std::string& line) { std::fprintf(stderr, "drill: %s\n", line.c_str()); };
        print_drill(backup::run_cnpg_drill(c), f->json, ctx);
        return;
      }
      if (!f->render) throw UsageError("--cnpg: add --render to print the recovery Cluster, or --apply to run the drill");
      nlohmann::json live = read_cluster_json(f->cluster_json, f->cnpg, f->tools);
      nlohmann::json manifest = backup::render_cnpg_recovery(live, backup::drill_name_suffix());
      if (f->json) {
        print_json(manifest);
      } else {
        std::string text = backup::to_yaml(manifest);
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
      ctx.exit_code = 0;
      return;
    }
    backup::DrillOptions o;
    if (!f->db.empty()) o.live = pg::ConnInfo::parse(f->db, "--db");
    else if (auto env = pg::ConnInfo::from_env("PGSHIFT_DB_URL")) o.live = *env;
    else throw UsageError("drill needs --db (or PGSHIFT_DB_URL): the live database to compare with");
    if (f->from.empty()) throw UsageError("drill needs --from SOURCE");
    o.source = f->from;
    o.backup = f->backup;
    o.tolerance = parse_tolerance(f->tolerance);
    o.timeout = util::parse_duration(f->timeout, "--timeout");
    o.heapallindexed_budget = util::parse_duration(f->heapallindexed_budget, "--heapallindexed-budget");
    o.keep_on_failure = f->keep;
    o.notify_command = f->notify;
    o.tools = f->tools;
    if (!ctx.quiet) o.progress = [](const std::string& line) { std::fprintf(stderr, "drill: %s\n", line.c_str()); };
    print_drill(backup::run_drill(o), f->json, ctx);
  });
}

}  // namespace pgshift::cli
