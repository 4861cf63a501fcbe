# Installs strata into a temporary prefix and builds tests/consumer against it
# with find_package, as an outside project would; also checks that asking for
# a version strata is not (99) is refused.
add_test(NAME package_consumer
         COMMAND "${CMAKE_COMMAND}"
                 -DSTRATA_BUILD_DIR=${PROJECT_BINARY_DIR}
                 -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer-work
                 -DCOMPONENTS=${STRATA_BUILT_COMPONENTS}
                 -P "${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake")
set_tests_properties(package_consumer PROPERTIES LABELS package TIMEOUT 600)
