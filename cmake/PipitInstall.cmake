# What `cmake --install` puts where (included last by the top-level CMakeLists.txt).
#
#   lib/libpipit.a, lib/libpipit_client.a     Pipit::pipit (the core), Pipit::client (when built)
#   lib/libpipit_http.a                        Pipit::http, the client's libcurl transport
#   include/pipit/*.hpp                        the public headers
#   lib/cmake/Pipit/                           find_package(Pipit): PipitConfig.cmake, targets
#   lib/pkgconfig/pipit.pc                     pkg-config --cflags --libs pipit
#   bin/pipit                                  the command line
#   lib/pipit/pipit_gdal_output.so             its GDAL output (GeoTIFF, PNG), loaded on demand
#   lib/gdalplugins/gdal_JPIP.so               the GDAL driver (PIPIT_GDAL_PLUGIN_DIR); never a
#                                              gdalplugins/<version>/ folder, which hides the rest
#   share/man/man1/pipit*.1                    man pages (docs/man)
#   share/doc/pipit/examples/pipit.toml        an example configuration (packaging/, if present)
#   lib/systemd/system/pipit-serve.service     the systemd unit (packaging/, if present)
#   share/doc/pipit/examples/nginx-balancer.conf, haproxy.cfg   load balancers (packaging/)
include(CMakePackageConfigHelpers)

set(PIPIT_GDAL_PLUGIN_DIR "${CMAKE_INSTALL_LIBDIR}/gdalplugins" CACHE STRING
    "Where gdal_JPIP.so is installed (relative to the prefix, or absolute)")
set(PIPIT_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit is installed (relative to the prefix, or absolute)")
set(PIPIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Pipit")

# The core is the library `pipit` (Pipit::pipit). Our compile warnings (pipit_warnings) are
# linked as a build-only interface and are not exported.
set_target_properties(pipit_core PROPERTIES EXPORT_NAME pipit)
set(pipit_export_targets pipit_core)
if(TARGET pipit_client)
  set_target_properties(pipit_client PROPERTIES EXPORT_NAME client)
  set_target_properties(pipit_http PROPERTIES EXPORT_NAME http)
  list(APPEND pipit_export_targets pipit_http pipit_client)
  set(PIPIT_HAS_CLIENT ON)
else()
  set(PIPIT_HAS_CLIENT OFF)
endif()
install(TARGETS ${pipit_export_targets} EXPORT PipitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pipit
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT PipitTargets NAMESPACE Pipit:: FILE PipitTargets.cmake DESTINATION ${PIPIT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/PipitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/PipitConfig.cmake INSTALL_DESTINATION ${PIPIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/PipitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/PipitConfig.cmake ${PROJECT_BINARY_DIR}/PipitConfigVersion.cmake
  DESTINATION ${PIPIT_CMAKE_DIR})

# pkg-config: the core (standard library only; tl::expected is header-only). The prefix is found
# from the .pc file's own place, so `cmake --install --prefix ANYWHERE` gives a working file.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PIPIT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH pipit_pc_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" pipit_pc_up "${pipit_pc_up}")
  set(PIPIT_PC_PREFIX "\${pcfiledir}/${pipit_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PIPIT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(PIPIT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(PIPIT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(PIPIT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/pipit.pc.in ${PROJECT_BINARY_DIR}/pipit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pipit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS pipit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS pipit_gdal_output LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/pipit)
if(TARGET gdal_JPIP)
  install(TARGETS gdal_JPIP LIBRARY DESTINATION ${PIPIT_GDAL_PLUGIN_DIR})
endif()

file(GLOB pipit_man_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/*.1)
install(FILES ${pipit_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# Written by the server's packaging work; installed when present.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/pipit.toml OPTIONAL
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pipit/examples)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/nginx-balancer.conf
  ${PROJECT_SOURCE_DIR}/packaging/haproxy.cfg OPTIONAL
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pipit/examples)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/pipit-serve.service OPTIONAL
  DESTINATION ${PIPIT_SYSTEMD_UNIT_DIR})
