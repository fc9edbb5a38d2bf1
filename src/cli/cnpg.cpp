// `pgshift cnpg render -f cnpg.yaml [--source URL] [-o DIR]` (with its window: section) and `pgshift cnpg lint [--crds PATH] FILE...`.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "access/spec.hpp"
#include "cli/cli.hpp"
#include "cnpg/cnpg.hpp"
#include "pg/connection.hpp"
#include "util/error.hpp"

namespace pgshift::cli {
namespace {

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int run_render(const std::string& file, const std::string& source, const std::string& out_dir, bool json) {
  cnpg::ClusterFile cluster = cnpg::load_cluster_file(file);
  std::optional<access::RolesFile> roles;
  // Passwords come from passwordSecret: render needs no password variable.
  if (!cluster.roles_file.empty()) roles = access::load_roles_file(cluster.roles_file, access::Passwords::ignore);
  std::optional<cnpg::SourceFacts> facts;
  if (!source.empty()) {
    pg::Connection conn = pg::Connection::open(pg::ConnInfo::parse(source, "--source"), "source");
    facts = cnpg::read_source(conn);
  }
  cnpg::Rendered r = cnpg::render(cluster, roles, facts);
  for (const auto& w : r.warnings) spdlog::warn("cnpg render: {}", w);
  if (json) {
    nlohmann::ordered_json docs = nlohmann::ordered_json::array();
    for (const auto& d : r.documents) docs.push_back(d.body);
    print(nlohmann::ordered_json({{"documents", docs}, {"warnings", r.warnings}}).dump(2) + "\n");
    return 0;
  }
  if (out_dir.empty()) {
    for (const auto& d : r.documents) print("---\n" + cnpg::to_yaml(d.body));
    return 0;
  }
  std::filesystem::create_directories(out_dir);
  for (const auto& d : r.documents) {
    std::string kind = d.kind;
    for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string path = (std::filesystem::path(out_dir) / fmt::format("{}-{}.yaml", kind, d.name)).string();
    std::ofstream out(path);
    out << cnpg::to_yaml(d.body);
    if (!out) throw RuntimeError(fmt::format("-o {}: cannot write {}", out_dir, path));
    print(path + "\n");
  }
  return 0;
}

int run_lint(const std::vector<std::string>& crds_paths, const std::vector<std::string>& files, bool json) {
  cnpg::CrdSet crds = crds_paths.empty() ? cnpg::crds_from_kubectl() : cnpg::load_crds(crds_paths);
  std::vector<cnpg::Problem> problems = cnpg::lint_files(files, crds);
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : problems) list.push_back({{"where", p.where}, {"path", p.path}, {"message", p.message}, {"rule", p.rule}});
    print_json({{"ok", problems.empty()}, {"problems", list}, {"schemas", crds.schemas.size()}});
  } else {
    std::string out;
    for (const auto& p : problems) out += fmt::format("{}: {}: {} [{}]\n", p.where, p.path, p.message, p.rule);
    out += problems.empty() ? fmt::format("lint: {} file(s) valid against {} CRD schema(s) and the webhook rules\n",
                                          files.size(), crds.schemas.size())
                            : fmt::format("lint: {} problem(s)\n", problems.size());
    print(out);
  }
  return problems.empty() ? 0 : static_cast<int>(ExitCode::problems_found);
}

}  // namespace

void register_cnpg(CLI::App& app, Context& ctx) {
  CLI::App* cnpg = app.add_subcommand("cnpg", "CloudNativePG manifests: render from one file, lint against the CRDs");
  cnpg->require_subcommand(1);

  struct RenderFlags {
    std::string file, source, out_dir;
    bool json = false;
  };
  auto rf = std::make_shared<RenderFlags>();
  CLI::App* render = cnpg->add_subcommand("render", "Cluster, ObjectStore, ScheduledBackup, Poolers and the window (console, MCP, drill, monitoring) as YAML documents");
  render->add_option("-f,--file", rf->file, "cnpg.yaml")->required();
  render->add_option("--source", rf->source, "Source database URL: derive image, extensions, storage, replication settings");
  render->add_option("-o,--output", rf->out_dir, "Write one file per document into this directory");
  render->add_flag("--json", rf->json, "Print the documents as JSON");
  render->callback([rf, &ctx] {
    ctx.prepare("cnpg-render");
    ctx.exit_code = run_render(rf->file, rf->source, rf->out_dir, rf->json);
  });

  struct LintFlags {
    std::vector<std::string> crds, files;
    bool json = false;
  };
  auto lf = std::make_shared<LintFlags>();
  CLI::App* lint = cnpg->add_subcommand("lint", "Validate manifests against CloudNativePG CRD schemas and webhook rules");
  lint->add_option("--crds", lf->crds, "CRD files, a directory of them, or a release manifest (default: kubectl get crd); repeatable")
      ->allow_extra_args(false);
  lint->add_option("files", lf->files, "Manifest files")->required();
  lint->add_flag("--json", lf->json, "Print JSON");
  lint->callback([lf, &ctx] {
    ctx.prepare("cnpg-lint");
    ctx.exit_code = run_lint(lf->crds, lf->files, lf->json);
  });
}

}  // namespace pgshift::cli
