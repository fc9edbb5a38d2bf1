# The Debian package (`make package`, packaging/build-deb): CPack's DEB generator.
# - pgshift installs as /usr/bin/pgshift, stripped; its debug symbols (-g1: functions and line
#   tables) go to pgshift-dbgsym_<version>_<arch>.ddeb beside it, found by build id
#   (/usr/lib/debug/.build-id/…), as Debian's own -dbgsym packages are.
# - Depends is computed by dpkg-shlibdeps from the libraries the binary links (libpq5, libfmt9…).
# - Recommends lists the programs some commands run (PostgreSQL's client tools, PgBouncer,
#   pgBackRest, barman-cloud); a drill also needs a PostgreSQL server (postgresql-NN), which the
#   OCI image carries.
# Packages land in <build>/packages. Building the package needs only the pgshift target, not `all`.

install(TARGETS pgshift RUNTIME DESTINATION bin)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgshift)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "pgshift developers <dev@pgshift.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "move a live PostgreSQL database; a safe read-only window on it")
set(CPACK_PACKAGE_DESCRIPTION
  "pgshift moves a live PostgreSQL database to another server with logical replication
(check, sync, verify, cutover) and offers a read-only window on it: query, a web console,
an MCP server, backup inventories and restore drills, roles and CloudNativePG manifests.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client, pgbouncer, pgbackrest, barman-cli-cloud")
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
# Named here so that the tests (tests/packaging) know the files' names.
find_program(PGSHIFT_DPKG dpkg)
if(PGSHIFT_DPKG)
  execute_process(COMMAND ${PGSHIFT_DPKG} --print-architecture OUTPUT_VARIABLE PGSHIFT_DEB_ARCH
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${PGSHIFT_DEB_ARCH})
endif()
include(CPack)
