# Saving and loading parameters (cmake -P): trains with ARGS and --save FILE, runs again
# with LOAD_ARGS and --load FILE (no training), and checks that the loaded model gives
# exactly the same test_accuracy line.
#
#   cmake -DEXE=path -DFILE=model.tg -DARGS="--iterations|50" -DLOAD_ARGS="" -P save_load.cmake
foreach(var EXE FILE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "save_load.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" load_args "${LOAD_ARGS}")
get_filename_component(dir "${FILE}" DIRECTORY)
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")

function(run_and_get_accuracy result)
  execute_process(COMMAND "${EXE}" ${ARGN} --out "${dir}/out"
                  WORKING_DIRECTORY "${dir}"
                  RESULT_VARIABLE status
                  OUTPUT_VARIABLE stdout
                  ERROR_VARIABLE stderr)
  message("${stdout}")
  if(NOT status STREQUAL "0")
    message(FATAL_ERROR "${EXE} ${ARGN} exited with ${status}\n${stderr}")
  endif()
  if(NOT stdout MATCHES "\ntest_accuracy: ([0-9.]+)")
    message(FATAL_ERROR "no 'test_accuracy: ...' line in the output of ${EXE} ${ARGN}")
  endif()
  set(${result} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

run_and_get_accuracy(trained ${args} --save "${FILE}")
if(NOT EXISTS "${FILE}")
  message(FATAL_ERROR "--save did not write ${FILE}")
endif()
run_and_get_accuracy(loaded ${load_args} --load "${FILE}")
if(NOT trained STREQUAL loaded)
  message(FATAL_ERROR "test_accuracy after --load is ${loaded}, after training ${trained}")
endif()
message("test_accuracy ${trained} trained, ${loaded} loaded: same")
