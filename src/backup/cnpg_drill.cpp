// A drill in a Kubernetes cluster: the recovery Cluster applied with kubectl, waited for until
// Ready, checked through `kubectl port-forward` with live's credentials (a physical restore has
// live's roles), and deleted always. Needs a Kubernetes cluster with CloudNativePG: untested here.
#include <libpq-fe.h>
#include <signal.h>

#include <fmt/format.h>

#include <thread>

#include "backup/drill.hpp"
#include "backup/drill_checks.hpp"
#include "backup/drill_steps.hpp"
#include "backup/tools.hpp"
#include "localpg/cluster.hpp"
#include "util/interrupt.hpp"
#include "util/redact.hpp"

namespace pgshift::backup {
namespace {

std::vector<std::string> kubectl(const InventoryOptions& o, std::vector<std::string> args) {
  std::vector<std::string> argv = {o.kubectl};
  if (!o.kubeconfig.empty()) argv.push_back("--kubeconfig=" + o.kubeconfig);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Deletes the recovery Cluster when the drill ends, however it ends.
struct DeleteCluster {
  const InventoryOptions& tools;
  std::string ns, name;
  bool applied = false;
  ~DeleteCluster() {
    if (!applied) return;
    try {
      util::run(tool_spec(kubectl(tools, {"delete", "clusters.postgresql.cnpg.io", name, "-n", ns, "--wait=false"}), false),
                util::Millis(120'000));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pgshift: deleting drill Cluster %s/%s: %s (delete it by hand)\n", ns.c_str(), name.c_str(), e.what());
    }
  }
};

}  // namespace

DrillReport run_cnpg_drill(const CnpgDrillOptions& o) {
  auto t0 = Clock::now();
  auto deadline = t0 + o.timeout;
  size_t slash = o.cluster.find('/');
  if (slash == std::string::npos) throw UsageError("--cnpg: expected NAMESPACE/CLUSTER, got " + o.cluster);
  std::string ns = o.cluster.substr(0, slash), name = o.cluster.substr(slash + 1);
  util::install_interrupt_handler();
  DrillReport r;
  r.source = "cnpg:" + o.cluster;
  r.backup_method = "cnpg bootstrap.recovery";
  DeleteCluster guard{o.tools, ns, ""};
  util::Child forward;
  bool started = false;
  try {
    pg::Connection live = pg::Connection::open(o.live, "live");
    util::RunResult got = run_tool(tool_spec(kubectl(o.tools, {"get", "clusters.postgresql.cnpg.io", name, "-n", ns, "-o", "json"}), false),
                                   "kubectl get cluster " + o.cluster, util::Millis(120'000));
    nlohmann::json cluster = nlohmann::json::parse(got.out);
    if (o.progress) o.progress("writing the marker on live");
    auto tm = Clock::now();
    write_marker(live, r, deadline, o.progress);
    r.marker_s = seconds_since(tm);
    nlohmann::json manifest = render_cnpg_recovery(cluster, drill_name_suffix());
    guard.name = manifest["metadata"]["name"];
    r.backup_id = guard.name;
    if (o.progress) o.progress("applying recovery Cluster " + ns + "/" + guard.name);
    auto tr = Clock::now();
    started = true;
    util::RunResult applied = util::run(tool_spec(kubectl(o.tools, {"apply", "-f", "-"}), false), util::Millis(120'000), manifest.dump());
    guard.applied = applied.exit_code == 0;
    if (!guard.applied) throw RuntimeError("kubectl apply failed: " + first_error_line(applied.err + applied.out));
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
    run_watched(tool_spec(kubectl(o.tools, {"wait", "--for=condition=Ready", "clusters.postgresql.cnpg.io/" + guard.name, "-n", ns,
                                            fmt::format("--timeout={}s", std::max<long long>(left, 1))}),
                          false),
                "waiting for the recovery Cluster to be Ready", "/dev/null", deadline);
    r.restore_s = seconds_since(tr);
    r.notes.push_back("restore and recovery are timed together (apply until Ready)");
    int port = localpg::free_port();
    util::ProcessSpec pf = tool_spec(kubectl(o.tools, {"port-forward", "-n", ns, "svc/" + guard.name + "-rw", fmt::format("{}:5432", port)}), false);
    pf.parent_death_signal = SIGTERM;
    pf.output_file = "/dev/null";
    forward = util::spawn(pf);
    std::string ping = fmt::format("host=127.0.0.1 port={} dbname=postgres connect_timeout=2", port);
    while (PQping(ping.c_str()) != PQPING_OK) {
      if (!forward.running()) throw RuntimeError("kubectl port-forward to the recovery Cluster exited");
      if (util::interrupted()) throw DrillFailed("interrupted (SIGINT/SIGTERM) while connecting to the recovery Cluster");
      if (Clock::now() >= deadline) throw DrillFailed("timed out connecting to the recovery Cluster");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    pg::ConnInfo restored_info = o.live;
    restored_info.set("host", "127.0.0.1");
    restored_info.set("port", std::to_string(port));
    restored_info.erase("hostaddr");
    pg::Connection restored = pg::Connection::open(restored_info, "restored");
    check_restore(live, restored, o.tolerance, r);
  } catch (const DrillFailed& e) {
    record_error(r, e, false);
  } catch (const Error& e) {
    if (e.exit_code() == ExitCode::usage) throw;
    record_error(r, e, !started);
  } catch (const nlohmann::json::exception& e) {
    record_error(r, RuntimeError(fmt::format("kubectl get cluster: not JSON: {}", e.what())), true);
  }
  mark_interrupted(r);
  forward.signal(SIGTERM);
  if (forward.pid() > 0) forward.wait();
  r.total_s = seconds_since(t0);
  notify(o.notify_command, r);
  return r;  // guard deletes the recovery Cluster
}

}  // namespace pgshift::backup
