# The API reference: `cmake --build <build> --target docs` (or `make docs`) runs
# Doxygen over the public headers into <build>/docs/html, prints every warning and
# fails if there is one (an undocumented public symbol is a warning). Not part of
# the default build: `make test` needs no Doxygen. Under add_subdirectory() the target
# is tapegrad_docs only, so that it cannot clash with the parent's own docs target.
find_package(Doxygen QUIET)
set(TAPEGRAD_DOCS_DIR ${CMAKE_CURRENT_BINARY_DIR}/docs)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/Doxyfile.in ${TAPEGRAD_DOCS_DIR}/Doxyfile @ONLY)
if(DOXYGEN_FOUND)
  add_custom_target(tapegrad_docs
    COMMAND ${CMAKE_COMMAND} -DDOXYGEN=${DOXYGEN_EXECUTABLE} -DDOCS_DIR=${TAPEGRAD_DOCS_DIR}
      -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/run_doxygen.cmake
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    COMMENT "API reference -> ${TAPEGRAD_DOCS_DIR}/html"
    VERBATIM)
else()
  add_custom_target(tapegrad_docs
    COMMAND ${CMAKE_COMMAND} -E echo "docs: doxygen not found (make docs installs it)"
    COMMAND ${CMAKE_COMMAND} -E false
    VERBATIM)
endif()
if(PROJECT_IS_TOP_LEVEL)
  add_custom_target(docs DEPENDS tapegrad_docs)
endif()
