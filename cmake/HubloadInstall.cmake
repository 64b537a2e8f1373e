# `cmake --install`: headers (with the generated version.h), the shared and
# static libraries, the CLI, a CMake package (hubloadConfig.cmake, components
# core, hub, serve) and hubload.pc. `make package` turns the same into a .deb.
include(CMakePackageConfigHelpers)
# Installing (and CPack) needs the installed targets only, not the tests and
# benchmarks that `all` holds; scripts/check-install.sh builds what it installs.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(HUBLOAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hubload)
set(HUBLOAD_INSTALLED_TARGETS hubload)
foreach(target IN LISTS HUBLOAD_TARGETS)
  list(APPEND HUBLOAD_INSTALLED_TARGETS hubload_${target} hubload_${target}_static)
endforeach()
set_target_properties(hubload PROPERTIES EXPORT_NAME hubload)

install(TARGETS ${HUBLOAD_INSTALLED_TARGETS} EXPORT hubloadTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
# mpi.h stays out: its library (hubload_mpi, -DHUBLOAD_MPI=ON) is not installed.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hubload ${PROJECT_BINARY_DIR}/include/hubload
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development PATTERN mpi.h EXCLUDE)
if(HUBLOAD_BUILD_CLI)
  install(TARGETS hubload_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

install(EXPORT hubloadTargets NAMESPACE hubload:: DESTINATION ${HUBLOAD_CMAKE_DIR} COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hubloadConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/hubloadConfig.cmake INSTALL_DESTINATION ${HUBLOAD_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hubloadConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hubloadConfig.cmake ${PROJECT_BINARY_DIR}/hubloadConfigVersion.cmake
        DESTINATION ${HUBLOAD_CMAKE_DIR} COMPONENT development)

# pkg-config: hubload.pc links all three shared libraries; the static ones'
# dependencies are listed for `pkg-config --static`.
# Relative to the .pc file, so the same file works under any prefix (a .deb's /usr,
# a test's temporary folder).
file(RELATIVE_PATH HUBLOAD_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/hubload.pc.in ${PROJECT_BINARY_DIR}/hubload.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hubload.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT development)

include(HubloadPackage)
