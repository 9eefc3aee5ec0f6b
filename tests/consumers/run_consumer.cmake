# Builds and runs one consumer project against ism, the way a user would.
# Run with: cmake -DCONSUMER=<find_package|add_subdirectory|fetchcontent>
#   -DISM_SOURCE_DIR=... -DISM_BINARY_DIR=... -DWORK_DIR=... -DGENERATOR=...
#   [-DMAKE_PROGRAM=...] [-DCXX_COMPILER=...] [-DCONFIG=...] -P run_consumer.cmake
cmake_minimum_required(VERSION 3.21)

foreach(_required IN ITEMS CONSUMER ISM_SOURCE_DIR ISM_BINARY_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${_required} OR "${${_required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${_required}=... is required")
  endif()
endforeach()

function(run_step)
  string(REPLACE ";" " " _shown "${ARGN}")
  message(STATUS "run_consumer: ${_shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _result)
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "run_consumer: '${_shown}' failed (${_result})")
  endif()
endfunction()

# Start clean so a stale cache or install cannot hide a packaging bug.
file(REMOVE_RECURSE ${WORK_DIR})

set(_config_args "")
set(_build_type_args "")
if(CONFIG)
  set(_config_args --config ${CONFIG})
  set(_build_type_args -DCMAKE_BUILD_TYPE=${CONFIG})
endif()

set(_configure_args -G ${GENERATOR} ${_build_type_args})
if(MAKE_PROGRAM)
  list(APPEND _configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER)
  list(APPEND _configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

if(CONSUMER STREQUAL "find_package")
  set(_prefix ${WORK_DIR}/prefix)
  run_step(${CMAKE_COMMAND} --install ${ISM_BINARY_DIR} --prefix ${_prefix} ${_config_args})
  foreach(_installed IN ITEMS
      include/ism/config.hpp
      share/cmake/ism/ismConfig.cmake
      share/cmake/ism/ismConfigVersion.cmake
      share/cmake/ism/ismTargets.cmake)
    if(NOT EXISTS ${_prefix}/${_installed})
      message(FATAL_ERROR "run_consumer: install did not produce ${_prefix}/${_installed}")
    endif()
  endforeach()
  # Only the fresh prefix may satisfy find_package(ism), not a registry entry.
  list(APPEND _configure_args
    -DCMAKE_PREFIX_PATH=${_prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
elseif(CONSUMER STREQUAL "add_subdirectory" OR CONSUMER STREQUAL "fetchcontent")
  list(APPEND _configure_args -DISM_SOURCE_DIR=${ISM_SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumer: unknown CONSUMER '${CONSUMER}'")
endif()

set(_build ${WORK_DIR}/build)
run_step(${CMAKE_COMMAND} -S ${ISM_SOURCE_DIR}/tests/consumers/${CONSUMER} -B ${_build}
  ${_configure_args})

if(CONSUMER STREQUAL "find_package")
  # Guard against picking up some other ism installed on the machine.
  file(STRINGS ${_build}/CMakeCache.txt _ism_dir REGEX "^ism_DIR:")
  string(REGEX REPLACE "^ism_DIR:[A-Z]+=" "" _ism_dir "${_ism_dir}")
  if(NOT _ism_dir STREQUAL "${_prefix}/share/cmake/ism")
    message(FATAL_ERROR "run_consumer: found ism in '${_ism_dir}', expected ${_prefix}/share/cmake/ism")
  endif()
endif()

run_step(${CMAKE_COMMAND} --build ${_build} ${_config_args})
run_step(${CMAKE_CTEST_COMMAND} --test-dir ${_build} --output-on-failure --no-tests=error ${_config_args})
