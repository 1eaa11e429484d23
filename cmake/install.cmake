# Install rules and packaging for codelay (included by the top-level CMakeLists.txt).
#
# Installs the public shared library (libcodelay.so -> .so.0 -> .so.X.Y.Z) and include/codelay.h,
# a pkg-config file (codelay.pc) and a CMake package so that, from an installed prefix,
#   find_package(codelay 0.1 REQUIRED)  +  target_link_libraries(app PRIVATE codelay::codelay)
# and
#   cc app.c $(pkg-config --cflags --libs codelay)
# both work. codelay_internal (the static archive for tests, benchmarks and fuzzers) and the
# internal headers are never installed: they are not part of the ABI.
#
# Components: "runtime" is the versioned shared object only (what a binary needs at run time);
# "dev" is the header, the libcodelay.so namelink, codelay.pc and the CMake package files.

include(CMakePackageConfigHelpers)

set(CODELAY_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/codelay"
    CACHE STRING "Where codelayConfig.cmake is installed (relative to the prefix)")
set(CODELAY_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where codelay.pc is installed (relative to the prefix)")

# The same name in-tree as from an installed package, so a parent project can add_subdirectory()
# codelay and link codelay::codelay without caring which way it came in.
if(NOT TARGET codelay::codelay)
  add_library(codelay::codelay ALIAS codelay)
endif()

# Installed executables (the codelay CLI from tools/) find the library next to them without
# LD_LIBRARY_PATH, whatever the prefix. Only a default: a packager's own value wins.
if(NOT DEFINED CMAKE_INSTALL_RPATH AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  file(RELATIVE_PATH _codelay_bin_to_lib "/p/${CMAKE_INSTALL_BINDIR}" "/p/${CMAKE_INSTALL_LIBDIR}")
  set(CMAKE_INSTALL_RPATH "$ORIGIN/${_codelay_bin_to_lib}")
endif()

# The target carries INSTALL_INTERFACE include dirs (top-level CMakeLists.txt) and PUBLIC_HEADER.
install(TARGETS codelay
  EXPORT codelayTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
          COMPONENT runtime
          NAMELINK_COMPONENT dev
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime
  PUBLIC_HEADER DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT dev)

install(EXPORT codelayTargets
  NAMESPACE codelay::
  FILE codelayTargets.cmake
  DESTINATION "${CODELAY_INSTALL_CMAKEDIR}"
  COMPONENT dev)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/codelayConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/codelayConfig.cmake"
  INSTALL_DESTINATION "${CODELAY_INSTALL_CMAKEDIR}")
# The SONAME only changes on an ABI break, and CODELAY_ABI_VERSION is the major version of the
# ABI, so any installed 0.x satisfies find_package(codelay 0.1).
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/codelayConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/codelayConfig.cmake"
  "${PROJECT_BINARY_DIR}/codelayConfigVersion.cmake"
  DESTINATION "${CODELAY_INSTALL_CMAKEDIR}"
  COMPONENT dev)

# codelay.pc is generated at install time, not at configure time, so that its prefix is the one
# actually installed to (`cmake --install build --prefix /opt/x` is common and would otherwise
# leave the configure-time prefix in the file). DESTDIR is honoured by file(INSTALL).
# Relative install dirs become ${prefix}/... in the .pc file, absolute ones stay as they are.
foreach(_v LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_v}}")
    set(_codelay_pc_${_v} "${CMAKE_INSTALL_${_v}}")
  else()
    set(_codelay_pc_${_v} "\${prefix}/${CMAKE_INSTALL_${_v}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${CODELAY_INSTALL_PKGCONFIGDIR}")
  set(_codelay_pc_dest "${CODELAY_INSTALL_PKGCONFIGDIR}")
else()
  set(_codelay_pc_dest "\${CMAKE_INSTALL_PREFIX}/${CODELAY_INSTALL_PKGCONFIGDIR}")
endif()
install(CODE "
  set(PROJECT_VERSION [[${PROJECT_VERSION}]])
  set(CODELAY_PC_LIBDIR [[${_codelay_pc_LIBDIR}]])
  set(CODELAY_PC_INCLUDEDIR [[${_codelay_pc_INCLUDEDIR}]])
  set(CODELAY_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file([[${PROJECT_SOURCE_DIR}/cmake/codelay.pc.in]]
                 [[${PROJECT_BINARY_DIR}/pkgconfig/codelay.pc]] @ONLY)
  file(INSTALL DESTINATION \"${_codelay_pc_dest}\" TYPE FILE
       FILES [[${PROJECT_BINARY_DIR}/pkgconfig/codelay.pc]])
" COMPONENT dev)
