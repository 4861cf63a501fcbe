# Installs strata into a temporary prefix and builds tests/consumer against it
# with find_package, as an outside project would; also checks that asking for
# a version strata is not (99) is refused. The components go comma-separated:
# add_test would split a list into separate arguments.
list(JOIN STRATA_BUILT_COMPONENTS "," _components)
add_test(NAME package_consumer
         COMMAND "${CMAKE_COMMAND}"
                 -DSTRATA_BUILD_DIR=${PROJECT_BINARY_DIR}
                 -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer-work
                 -DCOMPONENTS=${_components}
                 -P "${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake")
set_tests_properties(package_consumer PROPERTIES LABELS package TIMEOUT 600)

# A consumer without a component's library is told which component and what
# to install (tests/consumer/diagnostics.cmake), one test per case, all
# against one installed copy. A component this build lacks is not installed,
# which the package reports otherwise: its case is left out.
set(_cases core unknown)
foreach(_component IN ITEMS redis postgres redis_postgres s3 json prometheus)
  if(_component IN_LIST STRATA_BUILT_COMPONENTS)
    list(APPEND _cases ${_component})
  endif()
endforeach()
set(_diagnostics_dir "${CMAKE_CURRENT_BINARY_DIR}/consumer-diagnostics")
add_test(NAME package_diagnostics_install
         COMMAND "${CMAKE_COMMAND}" --install "${PROJECT_BINARY_DIR}" --prefix "${_diagnostics_dir}/prefix")
set_tests_properties(package_diagnostics_install PROPERTIES
                     LABELS package FIXTURES_SETUP strata_package_installed TIMEOUT 120)
foreach(case IN LISTS _cases)
  add_test(NAME package_diagnostics.${case}
           COMMAND "${CMAKE_COMMAND}"
                   -DCASE=${case}
                   -DPREFIX=${_diagnostics_dir}/prefix
                   -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
                   -DWORK_DIR=${_diagnostics_dir}
                   -P "${CMAKE_CURRENT_SOURCE_DIR}/consumer/diagnostics.cmake")
  set_tests_properties(package_diagnostics.${case} PROPERTIES
                       LABELS package FIXTURES_REQUIRED strata_package_installed TIMEOUT 300)
endforeach()
