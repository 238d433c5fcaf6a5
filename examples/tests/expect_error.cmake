# An example given bad input must fail as a tool does (cmake -P): exit with CODE, and
# print exactly one line "error: ..." on stderr, which matches MESSAGE (a regex). With
# FORBID (a regex), nothing it prints may match it: "Cost after" says training ran
# where the check had to come first.
#
#   cmake -DEXE=path -DWORK=dir -DARGS="--lr|nan" -DCODE=2 -DMESSAGE="--lr: .*nan"
#         [-DFORBID="Cost after"] [-DWRITE_FILE=name -DWRITE_TEXT=text] -P expect_error.cmake
# It runs in a fresh folder WORK (so --out's default, out/, is under it), where
# WRITE_FILE, if given, is first written with WRITE_TEXT. Lists are separated by |.
foreach(var EXE WORK CODE MESSAGE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_error.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" args "${ARGS}")

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
if(DEFINED WRITE_FILE)
  file(WRITE "${WORK}/${WRITE_FILE}" "${WRITE_TEXT}")
endif()
execute_process(COMMAND "${EXE}" ${args}
                WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE status
                OUTPUT_VARIABLE stdout
                ERROR_VARIABLE stderr)
message("stdout:\n${stdout}\nstderr:\n${stderr}")

if(NOT status STREQUAL "${CODE}")
  message(FATAL_ERROR "${EXE} ${args} exited with ${status}, expected ${CODE}")
endif()
string(REGEX MATCHALL "(^|\n)error: [^\n]*" error_lines "${stderr}")
list(LENGTH error_lines count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "stderr has ${count} 'error: ' lines, expected exactly 1")
endif()
string(STRIP "${error_lines}" error_line)
if(NOT error_line MATCHES "${MESSAGE}")
  message(FATAL_ERROR "the error line does not match '${MESSAGE}':\n${error_line}")
endif()
if(DEFINED FORBID AND NOT FORBID STREQUAL "" AND "${stdout}${stderr}" MATCHES "${FORBID}")
  message(FATAL_ERROR "the output has '${CMAKE_MATCH_0}': it ran what the check had to stop")
endif()
