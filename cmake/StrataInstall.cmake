# Install rules: headers as FILE_SETs, one export file per component so a
# consumer only needs the libraries of the components it asks for.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STRATA_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/strata")

foreach(component IN LISTS STRATA_BUILT_COMPONENTS)
  install(TARGETS strata_${component} EXPORT strata-${component}-targets
          FILE_SET HEADERS DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT strata-${component}-targets NAMESPACE strata::
          FILE strata-${component}-targets.cmake DESTINATION "${STRATA_CMAKE_DIR}")
endforeach()

configure_package_config_file(cmake/strataConfig.cmake.in "${PROJECT_BINARY_DIR}/strataConfig.cmake"
                              INSTALL_DESTINATION "${STRATA_CMAKE_DIR}")
# Header-only: the package fits any architecture. 0.x releases may break.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/strataConfigVersion.cmake"
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/strataConfig.cmake" "${PROJECT_BINARY_DIR}/strataConfigVersion.cmake"
        DESTINATION "${STRATA_CMAKE_DIR}")
install(FILES LICENSE README.md DESTINATION "${CMAKE_INSTALL_DOCDIR}" OPTIONAL)
