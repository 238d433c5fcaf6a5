# Smoke test of one example program (cmake -P): runs it with a fresh --out folder and
# checks that it exits with 0, ends with the expected `key: value` lines, and wrote the
# expected files (each .svg one a complete <svg> document). tests/lesson.cmake includes it
# and then checks a lesson's claims on the output (left in `stdout`).
#
#   cmake -DEXE=path -DOUT=dir -DARGS="--iterations|50" -DKEYS="train_accuracy|seconds"
#         -DFILES="logistic_regression_cost.svg" -P run_example.cmake
# Lists are separated by | (a ; would be split by add_test). -DLAUNCHER="mpiexec|-np|2"
# runs the program under a launcher; then every key must come exactly once (only rank 0
# prints).
foreach(var EXE OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_example.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" keys "${KEYS}")
string(REPLACE "|" ";" files "${FILES}")
string(REPLACE "|" ";" launcher "${LAUNCHER}")

file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
execute_process(COMMAND ${launcher} "${EXE}" ${args} --out "${OUT}"
                WORKING_DIRECTORY "${OUT}"
                RESULT_VARIABLE status
                OUTPUT_VARIABLE stdout
                ERROR_VARIABLE stderr)
message("${stdout}")
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "${EXE} exited with ${status}\n${stderr}")
endif()

foreach(key IN LISTS keys)
  # A final line "key: <number>" (or, for paths, any text).
  if(NOT stdout MATCHES "(^|\n)${key}: [^\n]+")
    message(FATAL_ERROR "no '${key}: ...' line in the output")
  endif()
  if(launcher)
    string(REGEX MATCHALL "(^|\n)${key}: " found "${stdout}")
    list(LENGTH found times)
    if(NOT times EQUAL 1)
      message(FATAL_ERROR "'${key}: ...' printed ${times} times (only rank 0 should print)")
    endif()
  endif()
endforeach()
foreach(name IN LISTS files)
  if(NOT EXISTS "${OUT}/${name}")
    message(FATAL_ERROR "${name} was not written to ${OUT}")
  endif()
  if(name MATCHES "\\.svg$")
    file(READ "${OUT}/${name}" svg)
    if(NOT svg MATCHES "^<\\?xml|^<svg" OR NOT svg MATCHES "</svg>[ \n]*$")
      message(FATAL_ERROR "${name} is not a complete SVG document")
    endif()
  endif()
endforeach()
