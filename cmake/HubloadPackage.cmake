# `make package`: one Debian package, hubload_<version>_amd64.deb, with the CLI,
# the shared and static libraries and the development files. Its runtime
# dependencies come from dpkg-shlibdeps (the libraries the binaries link); the
# development files add the -dev packages that hubloadConfig.cmake and
# hubload.pc ask for.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hubload)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hubload maintainers <hubload@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Hugging Face Hub downloads, safetensors and tensor-parallel loading")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcurl4-openssl-dev, libssl-dev, libfmt-dev, libcpp-httplib-dev, liburing-dev, libre2-dev, pkg-config")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
