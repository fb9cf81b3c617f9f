# The integration-test harness: real processes, a wire client, the state DB
# read-only. Included from tests/integration and from bench (which must build
# without the tests), so it defines the target once.
if(NOT TARGET sluice_integ_harness)
  set(_harness_dir ${PROJECT_SOURCE_DIR}/tests/integration)
  add_library(sluice_integ_harness STATIC
    ${_harness_dir}/process.cc
    ${_harness_dir}/temp_dir.cc
    ${_harness_dir}/wire_client.cc
    ${_harness_dir}/state_db.cc
    ${_harness_dir}/cluster.cc
    ${_harness_dir}/s3_front.cc)
  target_compile_options(sluice_integ_harness PRIVATE ${SLUICE_WARNINGS})
  target_compile_definitions(sluice_integ_harness PRIVATE SLUICE_BIN_DIR="${PROJECT_BINARY_DIR}/bin"
    SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(sluice_integ_harness PUBLIC
    sluice_schemas nlohmann_json::nlohmann_json PkgConfig::SQLITE3 Threads::Threads
    PRIVATE sluice_curl)
  # The binaries under test are built before anything that starts them.
  foreach(bin sluice-broker sluice-worker sluice)
    if(TARGET ${bin})
      add_dependencies(sluice_integ_harness ${bin})
    endif()
  endforeach()
endif()
