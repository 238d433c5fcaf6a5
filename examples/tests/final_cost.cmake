# final_cost is the cost of the last iteration (cmake -P), not the last one logged (the
# log has every 100th). Runs EXE with ARGS, where --iterations is below 100, and checks
# that final_cost equals the cost on the progress bar's last line "N/N 100% cost C"
# (stderr, printed after the last iteration) and differs from iteration 0's logged cost.
#
#   cmake -DEXE=path -DWORK=dir -DARGS="--iterations|50|--limit|20000" -P final_cost.cmake
foreach(var EXE WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "final_cost.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" args "${ARGS}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${EXE}" ${args}
                WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE status
                OUTPUT_VARIABLE stdout
                ERROR_VARIABLE stderr)
message("${stdout}")
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "${EXE} ${args} exited with ${status}\n${stderr}")
endif()

if(NOT stdout MATCHES "\nfinal_cost: ([0-9.]+)")
  message(FATAL_ERROR "no 'final_cost: ...' line")
endif()
set(final "${CMAKE_MATCH_1}")
if(NOT stdout MATCHES "Cost after iteration 0: ([0-9.]+)")
  message(FATAL_ERROR "no 'Cost after iteration 0: ...' line")
endif()
set(first "${CMAKE_MATCH_1}")
# The bar of the model whose final_cost is printed: the first bar that reaches 100%.
if(NOT stderr MATCHES " ([0-9]+)/([0-9]+) 100% cost ([0-9.]+)")
  message(FATAL_ERROR "no progress bar line at 100% with a cost on stderr:\n${stderr}")
endif()
set(last "${CMAKE_MATCH_3}")
if(NOT CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
  message(FATAL_ERROR "the bar's line at 100% is at ${CMAKE_MATCH_1}/${CMAKE_MATCH_2}")
endif()

if(NOT final STREQUAL last)
  message(FATAL_ERROR "final_cost is ${final}, the last iteration's cost is ${last}")
endif()
if(final STREQUAL first)
  message(FATAL_ERROR "final_cost ${final} is iteration 0's cost, not the last iteration's")
endif()
message("final_cost ${final} = the last iteration's cost ${last} (iteration 0: ${first})")
