# cmake --install: headers under <prefix>/include/tapegrad/, the library, and a CMake
# package (find_package(tapegrad) -> tapegrad::tapegrad). Built with MPI, also
# tapegrad::distributed, its headers and the package's component `distributed`
# (find_package(tapegrad COMPONENTS distributed)).
include(CMakePackageConfigHelpers)

set(TAPEGRAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)

install(TARGETS tapegrad EXPORT tapegradTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/tapegrad/tapegrad.hpp
  ${CMAKE_CURRENT_BINARY_DIR}/include/tapegrad/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad)
# Whatever headers the rooms hold at install time.
foreach(dir IN LISTS TAPEGRAD_ROOMS)
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad/${dir}
    FILES_MATCHING PATTERN "*.hpp")
endforeach()

if(TARGET tapegrad_distributed)
  set(TAPEGRAD_HAS_DISTRIBUTED ON)
  # tapegrad::distributed, not tapegrad::tapegrad_distributed, for the users.
  set_target_properties(tapegrad_distributed PROPERTIES EXPORT_NAME distributed)
  install(TARGETS tapegrad_distributed EXPORT tapegradTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/tapegrad/distributed.hpp
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad)
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/distributed/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad/distributed
    FILES_MATCHING PATTERN "*.hpp")
else()
  set(TAPEGRAD_HAS_DISTRIBUTED OFF)
endif()

install(EXPORT tapegradTargets
  NAMESPACE tapegrad::
  DESTINATION ${TAPEGRAD_CMAKE_DIR})

# The config finds BLAS only for a static library, whose users link it themselves.
if(TAPEGRAD_LIBRARY_TYPE STREQUAL "STATIC_LIBRARY")
  set(TAPEGRAD_NEEDS_BLAS ON)
else()
  set(TAPEGRAD_NEEDS_BLAS OFF)
endif()
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/tapegradConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tapegradConfig.cmake
  INSTALL_DESTINATION ${TAPEGRAD_CMAKE_DIR})
# 0.x: a new minor version may break the API.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tapegradConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/tapegradConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/tapegradConfigVersion.cmake
  DESTINATION ${TAPEGRAD_CMAKE_DIR})
