# Included by tests/CMakeLists.txt with `target` and `backend` set: one
# redis-server (scripts/redis-server.sh) for the whole test binary, started
# and stopped by CTest fixtures; the tests find its port in
# $STRATA_REDIS_DIR/port. Failure tests start private servers of their own.
set(strata_redis_dir "${CMAKE_CURRENT_BINARY_DIR}/redis-server")
set(strata_redis_script "${PROJECT_SOURCE_DIR}/scripts/redis-server.sh")

add_test(NAME redis_server_start COMMAND "${strata_redis_script}" start "${strata_redis_dir}")
set_tests_properties(redis_server_start PROPERTIES FIXTURES_SETUP redis_server LABELS redis TIMEOUT 60)
add_test(NAME redis_server_stop COMMAND "${strata_redis_script}" stop "${strata_redis_dir}")
set_tests_properties(redis_server_stop PROPERTIES FIXTURES_CLEANUP redis_server LABELS redis TIMEOUT 60)

gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60
                     PROPERTIES FIXTURES_REQUIRED redis_server
                                ENVIRONMENT "STRATA_REDIS_DIR=${strata_redis_dir}"
                                LABELS redis
                                TIMEOUT 120)
