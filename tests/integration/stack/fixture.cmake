# Included by tests/CMakeLists.txt after strata_stack_tests is defined: the
# stack tests use the servers of the Redis and PostgreSQL suites (their
# fixtures, their state directories), so they need both fixtures at once.
# gtest_discover_tests flattens list-valued PROPERTIES, so the two-element
# FIXTURES_REQUIRED and ENVIRONMENT are set by a test include file that runs
# after discovery, on the list of tests discovery produced.
# The state directories the Redis and PostgreSQL fixtures start their servers in.
set(_stack_redis_dir "${CMAKE_CURRENT_BINARY_DIR}/redis-server")
set(_stack_pg_dir "${CMAKE_CURRENT_BINARY_DIR}/postgres-server")

gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 TEST_LIST strata_stack_test_list
                     PROPERTIES LABELS stack TIMEOUT 180)
set(_stack_props "${CMAKE_CURRENT_BINARY_DIR}/strata_stack_properties.cmake")
file(WRITE "${_stack_props}"
     "if(strata_stack_test_list)\n"
     "  set_tests_properties(\${strata_stack_test_list} PROPERTIES\n"
     "    FIXTURES_REQUIRED [[redis_server;postgres_server]]\n"
     "    ENVIRONMENT [[STRATA_REDIS_DIR=${_stack_redis_dir};STRATA_PG_STATE_DIR=${_stack_pg_dir}]])\n"
     "endif()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_stack_props}")
