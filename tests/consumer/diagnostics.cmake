# Script mode: configure tests/consumer against the installed package (PREFIX)
# on a machine made to lack the library behind one component, and expect the
# failure to name the component and what to install. CASE is one of:
#   redis, postgres  pkg-config searches only an empty directory, as where
#                    hiredis or libpqxx is not installed
#   redis_postgres   the named stack, pkg-config searching the same empty one
#   s3               find_package(CURL) and find_package(EXPAT) disabled
#   json, prometheus find_package(nlohmann_json) or find_package(prometheus-cpp) disabled
#   core             find_package(OpenSSL) and find_package(ZLIB) disabled
#   unknown          a component strata does not have
set(empty_pc "${WORK_DIR}/empty-pkgconfig")
file(REMOVE_RECURSE "${WORK_DIR}/${CASE}")
file(MAKE_DIRECTORY "${empty_pc}")
set(env "")
set(args "")
if(CASE STREQUAL "redis" OR CASE STREQUAL "postgres" OR CASE STREQUAL "redis_postgres")
  set(components ${CASE})
  set(env --unset=PKG_CONFIG_PATH "PKG_CONFIG_LIBDIR=${empty_pc}")
  if(CASE STREQUAL "redis")
    set(expect "component 'redis' needs hiredis" "libhiredis-dev")
  elseif(CASE STREQUAL "postgres")
    set(expect "component 'postgres' needs libpqxx" "libpqxx-dev and libpq-dev")
  else()
    set(expect "component 'redis_postgres' needs components redis, postgres: component 'redis' needs hiredis"
               "libhiredis-dev" "component 'postgres' needs libpqxx" "libpqxx-dev and libpq-dev")
  endif()
elseif(CASE STREQUAL "s3")
  set(components s3)
  set(args -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON -DCMAKE_DISABLE_FIND_PACKAGE_EXPAT=ON)
  set(expect "component 's3' needs libcurl and expat" "libcurl4-openssl-dev and libexpat1-dev")
elseif(CASE STREQUAL "json")
  set(components json)
  set(args -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON)
  set(expect "component 'json' needs nlohmann-json" "nlohmann-json3-dev")
elseif(CASE STREQUAL "prometheus")
  set(components prometheus)
  set(args -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON)
  set(expect "component 'prometheus' needs prometheus-cpp" "prometheus-cpp-dev")
elseif(CASE STREQUAL "core")
  set(components "")
  set(args -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON)
  set(expect "component 'core' needs OpenSSL \\(libcrypto\\) and zlib" "libssl-dev and zlib1g-dev")
elseif(CASE STREQUAL "unknown")
  set(components nosuch)
  set(expect "strata has no component 'nosuch' \\(it has: core, redis, postgres, s3, json, prometheus, redis_postgres, redis_postgres_s3\\)")
else()
  message(FATAL_ERROR "unknown CASE '${CASE}'")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" -E env ${env}
                        "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/${CASE}"
                        "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DSTRATA_COMPONENTS=${components}" ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(strata COMPONENTS ${components}) succeeded where its library is missing:\n${out}")
endif()
# CMake wraps the message it prints; compare with the wrapping undone.
string(REGEX REPLACE "[ \n]+" " " flat "${err}")
foreach(phrase IN LISTS expect)
  if(NOT flat MATCHES "${phrase}")
    message(FATAL_ERROR "the failure does not say \"${phrase}\":\n${err}")
  endif()
endforeach()
message(STATUS "find_package(strata) failed and said why:\n${err}")
