# Script mode: install, configure + build + run the consumer, then expect a
# too-new version request to fail.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run("${CMAKE_COMMAND}" --install "${STRATA_BUILD_DIR}" --prefix "${prefix}")
string(REPLACE "," "\\;" components "${COMPONENTS}")
run("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build" "-DCMAKE_PREFIX_PATH=${prefix}"
    "-DSTRATA_COMPONENTS=${components}")
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build" -j 2)
run("${WORK_DIR}/build/consumer")

execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build-too-new"
                        "-DCMAKE_PREFIX_PATH=${prefix}" -DSTRATA_WANT_VERSION=99
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(strata 99) succeeded; the version check does not work")
endif()
if(NOT err MATCHES "strata")
  message(FATAL_ERROR "find_package(strata 99) failed without naming strata:\n${err}")
endif()
message(STATUS "find_package(strata 99) was refused, as it should be")
