# junction_add_library(NAME SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# Creates junction_<NAME> with alias junction::<NAME>, public headers in include/.
function(junction_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(junction_${name} STATIC ${ARG_SOURCES})
  add_library(junction::${name} ALIAS junction_${name})
  target_include_directories(junction_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(junction_${name} PUBLIC ${ARG_DEPS} PRIVATE junction_warnings ${ARG_PRIVATE_DEPS})
endfunction()

# junction_add_test(NAME SOURCES ... [DEPS ...])
# One GoogleTest executable registered as one ctest test, run from the source tree.
function(junction_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    # A module whose tests are not written yet (globbed lists may be empty).
    message(STATUS "junction: ${name} has no test sources yet; skipped")
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main junction_warnings)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "JUNCTION_SOURCE_DIR=${PROJECT_SOURCE_DIR};JUNCTION_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# junction_use_tcmalloc(target): links the executable with tcmalloc_minimal
# (gperftools) when JUNCTION_TCMALLOC is on and no sanitizer or fuzzer brings
# its own allocator. The junction binary and the benchmarks of code it runs
# use it, so they measure the allocator the engine uses.
function(junction_use_tcmalloc target)
  if(JUNCTION_TCMALLOC AND NOT JUNCTION_SANITIZE AND NOT JUNCTION_FUZZ)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
    target_link_libraries(${target} PRIVATE PkgConfig::TCMALLOC)
  endif()
endfunction()
