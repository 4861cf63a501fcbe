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

# The corruption and metrics tests take an S3 tier as the cold one where the s3 component
# is built: those tests alone also need the S3 suite's server (its fixture,
# its state directory), and the binary is told it has one.
if(STRATA_HAVE_s3)
  target_compile_definitions(${target} PRIVATE STRATA_STACK_S3=1)
  set(_stack_s3_dir "${CMAKE_CURRENT_BINARY_DIR}/s3-server")
  file(APPEND "${_stack_props}"
       "set(_stack_s3_tests \${strata_stack_test_list})\n"
       "list(FILTER _stack_s3_tests INCLUDE REGEX \"StackCorruption|StackMetrics\")\n"
       "if(_stack_s3_tests)\n"
       "  set_tests_properties(\${_stack_s3_tests} PROPERTIES\n"
       "    FIXTURES_REQUIRED [[redis_server;postgres_server;s3_server]]\n"
       "    ENVIRONMENT [[STRATA_REDIS_DIR=${_stack_redis_dir};STRATA_PG_STATE_DIR=${_stack_pg_dir};STRATA_S3_STATE=${_stack_s3_dir}]])\n"
       "endif()\n")
endif()
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_stack_props}")
