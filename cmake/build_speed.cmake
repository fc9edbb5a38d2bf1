# What makes a cold build cheaper, measured on a 2-core machine (README "Building from source"):
#
# - Lighter debug info: RelWithDebInfo compiles with -g1 (function names and line tables, enough
#   for backtraces and the -dbgsym package; no local variables), which cut a typical file's CPU
#   time by about a third and the link's input several-fold. -DPGSHIFT_FULL_DEBUG_INFO=ON gives -g.
# - Precompiled headers (pgshift_precompile_headers below) for the heavy headers most files
#   include: nlohmann/json, fmt and spdlog in pgshift_core; the same plus GoogleTest for the tests,
#   built once and reused by every test executable.
# - Unity groups where one heavy header is compiled many times over: every src/cli file includes
#   CLI11, whose header defines its validators as objects compiled again in each file (~10 s CPU
#   each); two unity groups compile that twice instead of 15 times. The groups are explicit lists:
#   a new file stays out of them until it is added here (files in one group must not define the
#   same name in an anonymous namespace).
#
# ccache and precompiled headers: ccache only caches a file compiled with a precompiled header
# when its `sloppiness` includes pch_defines and time_macros, so the launcher sets it.
# Include after project() and before the targets are defined.

option(PGSHIFT_FULL_DEBUG_INFO "RelWithDebInfo with full debug info (-g) instead of -g1" OFF)
option(PGSHIFT_PCH "Precompiled headers for the heavy third-party headers" ON)
option(PGSHIFT_UNITY "Unity groups for src/cli (CLI11 compiled twice instead of once per file)" ON)

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros
      ${CCACHE_PROGRAM})
endif()

if(NOT PGSHIFT_FULL_DEBUG_INFO)
  # After CMAKE_CXX_FLAGS_RELWITHDEBINFO's -g on the command line, so this level wins.
  add_compile_options($<$<CONFIG:RelWithDebInfo>:-g1>)
endif()

# GCC 12's -O2 flow warnings on inlined libstdc++ string code (array-bounds, stringop-overflow,
# restrict) are known to misfire (GCC PR 105651, 105329), and a precompiled header changes the
# inlining enough to make them fire where they did not (src/backup/tools.cpp's substr + "...").
# With precompiled headers on GCC < 13 they stay warnings but do not fail the build.
set(PGSHIFT_PCH_WARNING_RELIEF "")
if(PGSHIFT_PCH AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  set(PGSHIFT_PCH_WARNING_RELIEF -Wno-error=array-bounds -Wno-error=stringop-overflow -Wno-error=restrict)
endif()

# pgshift_precompile_headers(TARGET HEADER...): TARGET precompiles HEADERs (system headers,
# e.g. <fmt/format.h>) and force-includes them in each of its sources.
function(pgshift_precompile_headers target)
  if(PGSHIFT_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
    target_compile_options(${target} PRIVATE ${PGSHIFT_PCH_WARNING_RELIEF})
  endif()
endfunction()

# pgshift_reuse_precompiled_headers(TARGET FROM): TARGET (same flags as FROM) uses FROM's.
function(pgshift_reuse_precompiled_headers target from)
  if(PGSHIFT_PCH)
    target_precompile_headers(${target} REUSE_FROM ${from})
    target_compile_options(${target} PRIVATE ${PGSHIFT_PCH_WARNING_RELIEF})
  endif()
endfunction()

# pgshift_unity_groups(TARGET): the unity groups described above, for pgshift_core.
function(pgshift_unity_groups target)
  if(NOT PGSHIFT_UNITY)
    return()
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
  set(cli ${CMAKE_SOURCE_DIR}/src/cli)
  set_source_files_properties(
    ${cli}/sync.cpp ${cli}/demo.cpp ${cli}/cutover.cpp ${cli}/server_flags.cpp ${cli}/drill.cpp
    ${cli}/mcp.cpp ${cli}/cnpg.cpp
    TARGET_DIRECTORY ${target} PROPERTIES UNITY_GROUP cli_a)
  set_source_files_properties(
    ${cli}/query.cpp ${cli}/sync_ddl.cpp ${cli}/verify.cpp ${cli}/roles.cpp ${cli}/console.cpp
    ${cli}/backups.cpp ${cli}/common.cpp ${cli}/check.cpp ${cli}/schema.cpp
    TARGET_DIRECTORY ${target} PROPERTIES UNITY_GROUP cli_b)
endfunction()
