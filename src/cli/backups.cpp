// `pgshift backups`: WAL archiving health and the base backups of every source, one model, a
// recoverability window and a verdict per source. Exit 0 healthy, 1 a problem, 3 a source or the
// server could not be read.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "backup/inventory.hpp"
#include "cli/cli.hpp"
#include "util/error.hpp"

namespace pgshift::cli {

void add_backup_tool_flags(CLI::App* cmd, backup::InventoryOptions& o) {
  cmd->add_option("--wal-archive", o.wal_archive, "WAL archive directory of dir: sources (what archive_command copies into)");
  cmd->add_option("--pgbackrest-config", o.pgbackrest_config, "pgbackrest.conf for pgbackrest: sources");
  cmd->add_option("--endpoint-url", o.s3_endpoint_url, "Object store endpoint for barman-cloud: sources (else AWS_ENDPOINT_URL)");
  cmd->add_option("--aws-profile", o.aws_profile, "AWS profile for barman-cloud: sources (credentials else from AWS_* variables)");
  cmd->add_option("--kubectl", o.kubectl, "kubectl binary for cnpg: sources")->capture_default_str();
  cmd->add_option("--kubeconfig", o.kubeconfig, "kubeconfig for cnpg: sources");
}

void register_backups(CLI::App& app, Context& ctx) {
  struct Flags {
    std::string db;
    std::vector<std::string> from;
    std::string max_archive_age = "10m";
    std::string max_backup_age = "26h";
    bool no_verify = false;
    bool json = false;
    backup::InventoryOptions options;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("backups", "WAL archiving health and every backup source's inventory, window and verdict");
  cmd->add_option("--db", f->db, "Live database URL (pg_stat_archiver; env PGSHIFT_DB_URL)");
  cmd->add_option("--from", f->from, "Backup source: dir:PATH, pgbackrest:STANZA, barman-cloud:URL/SERVER, cnpg:NS/CLUSTER; repeatable")
      ->required();
  cmd->add_option("--max-archive-age", f->max_archive_age, "A problem when the last WAL archival is older")->capture_default_str();
  cmd->add_option("--max-backup-age", f->max_backup_age, "A problem when a source's newest usable backup is older")
      ->capture_default_str();
  cmd->add_flag("--no-verify", f->no_verify, "Skip pg_verifybackup / pgbackrest verify");
  add_backup_tool_flags(cmd, f->options);
  cmd->add_flag("--json", f->json, "Print the inventory as JSON");
  cmd->callback([f, &ctx] {
    ctx.prepare("backups");
    backup::InventoryOptions o = f->options;
    if (!f->db.empty()) o.db = pg::ConnInfo::parse(f->db, "--db");
    else if (auto env = pg::ConnInfo::from_env("PGSHIFT_DB_URL")) o.db = *env;
    o.sources = f->from;
    o.max_archive_age = util::parse_duration(f->max_archive_age, "--max-archive-age");
    o.max_backup_age = util::parse_duration(f->max_backup_age, "--max-backup-age");
    o.verify = !f->no_verify;
    backup::Inventory inv = backup::collect_inventory(o);
    if (f->json) {
      print_json(inv.to_json());
    } else {
      std::string text = inv.render_text();
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    ctx.exit_code = inv.exit_code();
  });
}

}  // namespace pgshift::cli
