// The OCI image as a user runs it (ctest image.run, after image.build made it with `make image`'s
// own script, packaging/build-image): loaded from its OCI archive into podman, it runs as a
// non-root user with pgshift as entrypoint and carries what a drill runs (PostgreSQL 15's server,
// pgBackRest, barman-cloud); the console started from the image serves a local cluster.
// Environment (set by tests/packaging/CMakeLists.txt): PGSHIFT_IMAGE_ARCHIVE, the archive;
// PGSHIFT_CONTAINERS_DIR, podman's storage for packaging/podman.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "support/console_server.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

std::vector<std::string> podman(std::vector<std::string> args) {
  args.insert(args.begin(), PGSHIFT_SOURCE_DIR "/packaging/podman");
  return args;
}

util::RunResult run(const std::vector<std::string>& argv) {
  util::ProcessSpec spec;
  spec.argv = argv;
  return util::run(spec, util::Millis(300'000));
}

class ImageTest : public ::testing::Test {
 protected:
  // Loads the archive once; the image's name comes from podman's "Loaded image: NAME".
  static void SetUpTestSuite() {
    const char* archive = std::getenv("PGSHIFT_IMAGE_ARCHIVE");
    ASSERT_NE(archive, nullptr) << "PGSHIFT_IMAGE_ARCHIVE is not set";
    util::RunResult load = run(podman({"load", "-i", archive}));
    ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
    std::smatch m;
    std::string out = load.out + load.err;
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(Loaded image(?:\(s\))?: (\S+))"))) << out;
    image_ = m[1];
  }
  static void TearDownTestSuite() {
    if (!image_.empty()) run(podman({"rmi", "--force", image_}));
  }
  static std::string image_;
};
std::string ImageTest::image_;

TEST_F(ImageTest, RunsAsANonRootUserWithWhatADrillRuns) {
  util::RunResult config = run(podman({"image", "inspect", image_, "--format",
                                       "{{.Config.User}} {{json .Config.Entrypoint}}"}));
  ASSERT_EQ(config.exit_code, 0) << config.err;
  EXPECT_EQ(config.out, "10001:10001 [\"/usr/bin/pgshift\"]\n");

  util::RunResult version = run(podman({"run", "--rm", image_, "--version"}));
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out, std::string(PGSHIFT_VERSION) + "\n");

  util::RunResult tools = run(podman({"run", "--rm", "--entrypoint", "sh", image_, "-c",
                                      "id -u; /usr/lib/postgresql/15/bin/postgres --version; pgbackrest version; "
                                      "barman-cloud-backup-list --version; curl --version | head -1; "
                                      "kubectl version --client"}));
  ASSERT_EQ(tools.exit_code, 0) << tools.out << tools.err;
  EXPECT_TRUE(tools.out.starts_with("10001\npostgres (PostgreSQL) 15.")) << tools.out;
  EXPECT_NE(tools.out.find("pgBackRest 2."), std::string::npos) << tools.out;
  EXPECT_NE((tools.out + tools.err).find("barman-cloud-backup-list 3."), std::string::npos) << tools.out << tools.err;
  EXPECT_NE(tools.out.find("curl 7."), std::string::npos) << tools.out;
  // What the console's cnpg: backups view and a cnpg drill run inside the cluster.
  EXPECT_NE(tools.out.find("Client Version:"), std::string::npos) << tools.out;
}

TEST_F(ImageTest, ConsoleFromTheImageServesALocalCluster) {
  auto cluster = start_cluster("image-console");
  cluster->create_database("app");
  pg::Connection admin = connect(*cluster, "app");
  // The console refuses a superuser: a read-only role as the README advises.
  run_sql(admin, "CREATE ROLE reader LOGIN PASSWORD 'image-reader-pw'; GRANT pg_read_all_data, pg_monitor TO reader; "
                 "CREATE TABLE shipped_orders (id int PRIMARY KEY, total numeric); "
                 "INSERT INTO shipped_orders SELECT g, g * 1.5 FROM generate_series(1, 10) g; ANALYZE");
  std::string url = fmt::format("postgresql://reader:image-reader-pw@127.0.0.1:{}/app", cluster->port());

  // The container shares the host's network (packaging/containers.conf), so the cluster on
  // 127.0.0.1 is reachable and the console listens on the host's loopback. The URL travels in the
  // environment, not on podman's command line.
  std::string name = fmt::format("pgshift-image-test-{}", getpid());
  ServerProcess console = ServerProcess::start_command(
      podman({"run", "--rm", "--name", name, "--env", "PGSHIFT_DB_URL", image_, "console", "--listen", "127.0.0.1:0"}),
      {{"PGSHIFT_DB_URL", url}});

  HttpResponse health = http_get(console.port(), "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  HttpResponse tables = http_get(console.port(), "/tables");
  EXPECT_EQ(tables.status, 200) << tables.body.substr(0, 500);
  EXPECT_NE(tables.body.find("shipped_orders"), std::string::npos);

  // SIGTERM to podman reaches pgshift in the container, which shuts down cleanly.
  EXPECT_EQ(console.terminate(util::Millis(60'000)), 0) << console.output();
  run(podman({"rm", "--force", name}));
}

}  // namespace
