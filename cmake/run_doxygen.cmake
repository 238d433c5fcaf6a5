# Runs Doxygen with the configured Doxyfile, prints its warnings, fails if any.
# Called by the docs target: cmake -DDOXYGEN=... -DDOCS_DIR=... -P run_doxygen.cmake
set(log ${DOCS_DIR}/warnings.log)
file(REMOVE ${log})
execute_process(COMMAND ${DOXYGEN} ${DOCS_DIR}/Doxyfile
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "docs: doxygen failed (exit code ${rc})")
endif()
file(STRINGS ${log} warnings REGEX "warning:")
list(REMOVE_DUPLICATES warnings)  # Doxygen repeats some: once per file, once per namespace
list(LENGTH warnings count)
if(count GREATER 0)
  list(JOIN warnings "\n" text)
  message("${text}")
  message(FATAL_ERROR "docs: ${count} Doxygen warning(s) above; every public symbol needs a doc comment")
endif()
message(STATUS "docs: no warnings; open ${DOCS_DIR}/html/index.html")
