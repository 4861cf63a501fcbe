# strata_add_component(NAME HEADERS h... LINK t...)
# One INTERFACE target per component, strata::NAME, its headers installed as a
# FILE_SET and checked to compile on their own (VERIFY_INTERFACE_HEADER_SETS).
set(STRATA_BUILT_COMPONENTS "")
set(STRATA_BUILT_COMPONENT_TARGETS "")

function(strata_add_component name)
  cmake_parse_arguments(arg "" "" "HEADERS;LINK" ${ARGN})
  set(target strata_${name})
  add_library(${target} INTERFACE)
  add_library(strata::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_sources(${target} INTERFACE FILE_SET HEADERS BASE_DIRS "${PROJECT_SOURCE_DIR}/include" FILES ${arg_HEADERS})
  target_compile_features(${target} INTERFACE cxx_std_20)
  target_link_libraries(${target} INTERFACE ${arg_LINK})
  if(NOT name STREQUAL "core")
    target_link_libraries(${target} INTERFACE strata_core)
  endif()
  set(STRATA_BUILT_COMPONENTS ${STRATA_BUILT_COMPONENTS} ${name} PARENT_SCOPE)
  set(STRATA_BUILT_COMPONENT_TARGETS ${STRATA_BUILT_COMPONENT_TARGETS} ${target} PARENT_SCOPE)
endfunction()

# strata_add_backend(NAME FOUND_VAR var LINK t...): a tier whose headers are
# include/strata/tiers/NAME.hpp and include/strata/tiers/NAME/*, built when its
# library was found (or required through STRATA_COMPONENTS_REQUIRED).
macro(strata_add_backend name)
  strata_add_optional_component(${name} DIR include/strata/tiers ${ARGN})
endmacro()

# strata_add_bridge(NAME FOUND_VAR var LINK t...): the same for a bridge to
# another library, whose headers are include/strata/NAME.hpp and
# include/strata/NAME/*.
macro(strata_add_bridge name)
  strata_add_optional_component(${name} DIR include/strata ${ARGN})
endmacro()

macro(strata_add_optional_component name)
  cmake_parse_arguments(backend "" "FOUND_VAR;DIR" "LINK" ${ARGN})
  set(_headers "")
  if(EXISTS "${PROJECT_SOURCE_DIR}/${backend_DIR}/${name}.hpp")
    file(GLOB_RECURSE _headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${backend_DIR}/${name}/*.hpp")
    list(APPEND _headers "${PROJECT_SOURCE_DIR}/${backend_DIR}/${name}.hpp")
  endif()
  if(_headers AND ${backend_FOUND_VAR})
    strata_add_component(${name} HEADERS ${_headers} LINK ${backend_LINK})
    set(STRATA_HAVE_${name} ON)
  else()
    set(STRATA_HAVE_${name} OFF)
    if(name IN_LIST STRATA_COMPONENTS_REQUIRED)
      message(FATAL_ERROR "strata: component '${name}' was required but its library or headers were not found")
    endif()
    message(STATUS "strata: component '${name}' not built (library or headers missing)")
  endif()
endmacro()

# strata_add_stack(NAME NEEDS backend...): the named stack whose header is
# include/strata/tiers/stacks/NAME.hpp, a component linking the backends it
# needs, built when they all are. STRATA_STACKS and STRATA_STACK_PARTS tell
# the package configuration which components each stack needs.
set(STRATA_STACKS "")
set(STRATA_STACK_PARTS "")
macro(strata_add_stack name)
  cmake_parse_arguments(stack "" "" "NEEDS" ${ARGN})
  list(APPEND STRATA_STACKS ${name})
  string(APPEND STRATA_STACK_PARTS "set(_strata_parts_${name} ${stack_NEEDS})\n")
  set(_missing "")
  foreach(_part IN LISTS stack_NEEDS)
    if(NOT STRATA_HAVE_${_part})
      list(APPEND _missing ${_part})
    endif()
  endforeach()
  if(_missing)
    message(STATUS "strata: stack '${name}' not built (needs ${_missing})")
  else()
    list(TRANSFORM stack_NEEDS PREPEND strata_ OUTPUT_VARIABLE _links)
    strata_add_component(${name} HEADERS "${PROJECT_SOURCE_DIR}/include/strata/tiers/stacks/${name}.hpp" LINK ${_links})
  endif()
endmacro()
