# The console's static files (src/console/assets/*) embedded into the binary: at build time
# embed_assets.cmake turns them into a generated .cpp of byte arrays (console/assets.hpp reads
# them). Building pgshift needs no node or any other tool than CMake itself.
file(GLOB PGSHIFT_CONSOLE_ASSETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/console/assets/*)
list(SORT PGSHIFT_CONSOLE_ASSETS)
set(PGSHIFT_CONSOLE_ASSETS_CPP ${CMAKE_BINARY_DIR}/generated/console_assets.cpp)
string(REPLACE ";" "|" PGSHIFT_CONSOLE_ASSETS_ARG "${PGSHIFT_CONSOLE_ASSETS}")
add_custom_command(
  OUTPUT ${PGSHIFT_CONSOLE_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} "-DINPUTS=${PGSHIFT_CONSOLE_ASSETS_ARG}" -DOUTPUT=${PGSHIFT_CONSOLE_ASSETS_CPP}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  DEPENDS ${PGSHIFT_CONSOLE_ASSETS} ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  COMMENT "Embedding the console's assets"
  VERBATIM)
target_sources(pgshift_core PRIVATE ${PGSHIFT_CONSOLE_ASSETS_CPP})
