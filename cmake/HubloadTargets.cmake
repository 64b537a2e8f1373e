# hubload_add_test(NAME sources... [LABELS l...]): one GoogleTest executable whose
# cases ctest discovers individually, so `ctest -j` spreads them over cores and
# `ctest -L label` runs a subset.
function(hubload_add_test name)
  cmake_parse_arguments(ARG "" "" "LABELS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE hubload_options hubload_internal hubload_testsupport GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
endfunction()
