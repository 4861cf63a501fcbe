# Included by tests/CMakeLists.txt after strata_s3_tests is defined: one
# s3rver (behind the signature-checking front) for the whole suite, started
# and stopped by scripts/s3-server.sh as CTest fixtures.
set(_s3_state "${CMAKE_CURRENT_BINARY_DIR}/s3-server")
add_test(NAME s3_server_start COMMAND bash "${PROJECT_SOURCE_DIR}/scripts/s3-server.sh" start "${_s3_state}")
set_tests_properties(s3_server_start PROPERTIES FIXTURES_SETUP s3_server TIMEOUT 240 LABELS s3)
add_test(NAME s3_server_stop COMMAND bash "${PROJECT_SOURCE_DIR}/scripts/s3-server.sh" stop "${_s3_state}")
set_tests_properties(s3_server_stop PROPERTIES FIXTURES_CLEANUP s3_server TIMEOUT 60 LABELS s3)
gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60
                     PROPERTIES FIXTURES_REQUIRED s3_server ENVIRONMENT "STRATA_S3_STATE=${_s3_state}"
                                LABELS s3 TIMEOUT 300)
