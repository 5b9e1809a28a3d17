# cmake/Packaging.cmake: install rules, the hvabs::hvabs CMake package and hvabs.pc for pkg-config.
include(CMakePackageConfigHelpers)

set(HVABS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hvabs)

install(TARGETS hvabs EXPORT hvabsTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/hvabs.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hvabs
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development
  FILES_MATCHING PATTERN "*.h")

# Installed programs find an installed shared libhvabs relative to themselves.
if(TARGET hvabs-run AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  file(RELATIVE_PATH _hvabs_bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
  set_property(TARGET hvabs-run APPEND PROPERTY INSTALL_RPATH "$ORIGIN/${_hvabs_bin_to_lib}")
  unset(_hvabs_bin_to_lib)
endif()

# A static libhvabs carries its private dependencies into consumers.
get_target_property(_hvabs_type hvabs TYPE)
if(_hvabs_type STREQUAL "STATIC_LIBRARY")
  set(HVABS_STATIC ON)
else()
  set(HVABS_STATIC OFF)
endif()
if(HVABS_BACKEND_SIM AND HVABS_SIM_UNICORN)
  set(HVABS_USES_UNICORN ON)
else()
  set(HVABS_USES_UNICORN OFF)
endif()

# CMake package: find_package(hvabs CONFIG) -> hvabs::hvabs.
install(EXPORT hvabsTargets NAMESPACE hvabs:: DESTINATION ${HVABS_CMAKE_DIR}
  COMPONENT Development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hvabsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hvabsConfig.cmake
  INSTALL_DESTINATION ${HVABS_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hvabsConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hvabsConfig.cmake ${PROJECT_BINARY_DIR}/hvabsConfigVersion.cmake
  DESTINATION ${HVABS_CMAKE_DIR} COMPONENT Development)

# pkg-config. The prefix is substituted at install time, so that
# `cmake --install BUILD --prefix DIR` yields a correct file; absolute
# CMAKE_INSTALL_{LIB,INCLUDE}DIR values are used as they are.
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(HVABS_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(HVABS_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
set(HVABS_PC_REQUIRES_PRIVATE "")
if(HVABS_USES_UNICORN)
  set(HVABS_PC_REQUIRES_PRIVATE "unicorn")
endif()
set(HVABS_PC_LIBS_PRIVATE "-pthread")
if(HVABS_BACKEND_GUNYAH AND HVABS_GUNYAH_FDT)
  string(APPEND HVABS_PC_LIBS_PRIVATE " -lfdt") # Debian's libfdt-dev has no libfdt.pc
endif()
foreach(_lib ${CMAKE_DL_LIBS})
  string(APPEND HVABS_PC_LIBS_PRIVATE " -l${_lib}")
endforeach()
set(HVABS_PC_PREFIX "@HVABS_PC_PREFIX@") # kept for the install-time pass
configure_file(${PROJECT_SOURCE_DIR}/cmake/hvabs.pc.in ${PROJECT_BINARY_DIR}/hvabs.pc.in @ONLY)

# Build-tree copy with the configured prefix, for inspection and uninstalled use.
set(HVABS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
configure_file(${PROJECT_BINARY_DIR}/hvabs.pc.in ${PROJECT_BINARY_DIR}/hvabs.pc @ONLY)

if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(_hvabs_pc_dest "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(_hvabs_pc_dest "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
install(CODE "
  set(HVABS_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/hvabs.pc.in\"
                 \"${PROJECT_BINARY_DIR}/pc-install/hvabs.pc\" @ONLY)
  file(INSTALL DESTINATION \"${_hvabs_pc_dest}\" TYPE FILE
       FILES \"${PROJECT_BINARY_DIR}/pc-install/hvabs.pc\")
" COMPONENT Development)

unset(_hvabs_type)
unset(_hvabs_pc_dest)
