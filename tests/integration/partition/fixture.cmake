# Included by tests/CMakeLists.txt after strata_partition_tests is defined:
# partitions (nftables rules on lo) between one manager and the servers of
# the Redis, PostgreSQL and S3 suites, so the tests need all three fixtures,
# set as in stack/fixture.cmake (list-valued properties through a test
# include file). The rules drop those servers' ports for every process, so
# these tests run alone (RUN_SERIAL); each removes its rules when it ends and
# the partition_rules fixture removes any a crashed test left, before and after.
# Under LeakSanitizer, lsan.supp names a leak of libpqxx 6 that cut calls hit.
set(_partition_redis_dir "${CMAKE_CURRENT_BINARY_DIR}/redis-server")
set(_partition_pg_dir "${CMAKE_CURRENT_BINARY_DIR}/postgres-server")
set(_partition_s3_dir "${CMAKE_CURRENT_BINARY_DIR}/s3-server")
set(_partition_sweep
    "command -v nft >/dev/null || exit 0; for t in $(nft list tables 2>/dev/null | sed -n 's/^table inet \\(strata_partition_[0-9a-z_]*\\)$/\\1/p'); do nft delete table inet \"$t\"; done; exit 0")
add_test(NAME partition_rules_sweep_before COMMAND sh -c "${_partition_sweep}")
set_tests_properties(partition_rules_sweep_before PROPERTIES FIXTURES_SETUP partition_rules LABELS partition TIMEOUT 30)
add_test(NAME partition_rules_sweep_after COMMAND sh -c "${_partition_sweep}")
set_tests_properties(partition_rules_sweep_after PROPERTIES FIXTURES_CLEANUP partition_rules LABELS partition TIMEOUT 30)

gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 TEST_LIST strata_partition_test_list
                     PROPERTIES LABELS partition RUN_SERIAL TRUE TIMEOUT 120)
set(_partition_props "${CMAKE_CURRENT_BINARY_DIR}/strata_partition_properties.cmake")
file(WRITE "${_partition_props}"
     "if(strata_partition_test_list)\n"
     "  set_tests_properties(\${strata_partition_test_list} PROPERTIES\n"
     "    FIXTURES_REQUIRED [[redis_server;postgres_server;s3_server;partition_rules]]\n"
     "    ENVIRONMENT [[STRATA_REDIS_DIR=${_partition_redis_dir};STRATA_PG_STATE_DIR=${_partition_pg_dir};STRATA_S3_STATE=${_partition_s3_dir};LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/integration/partition/lsan.supp]])\n"
     "endif()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_partition_props}")
