# PostgreSQL integration tests: a throwaway cluster (scripts/postgres-server.sh)
# started before and stopped after them as a CTest fixture. Tests find it
# through STRATA_PG_STATE_DIR (its conninfo file); tests that stop or restart
# a server start their own private cluster with the same script.
set(_pg_state "${CMAKE_CURRENT_BINARY_DIR}/postgres-server")
set(_pg_script "${PROJECT_SOURCE_DIR}/scripts/postgres-server.sh")
add_test(NAME postgres_server_start COMMAND "${_pg_script}" start "${_pg_state}")
add_test(NAME postgres_server_stop COMMAND "${_pg_script}" stop "${_pg_state}")
set_tests_properties(postgres_server_start PROPERTIES FIXTURES_SETUP postgres_server LABELS "postgres" TIMEOUT 60)
set_tests_properties(postgres_server_stop PROPERTIES FIXTURES_CLEANUP postgres_server LABELS "postgres" TIMEOUT 60)
gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60
                     PROPERTIES FIXTURES_REQUIRED postgres_server LABELS postgres TIMEOUT 120
                                ENVIRONMENT "STRATA_PG_STATE_DIR=${_pg_state}")
