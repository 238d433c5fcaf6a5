# A lesson's claim, checked on an example's final `key: value` lines (cmake -P): runs the
# example as run_example.cmake does (a fresh --out folder, exit code 0, the given keys and
# files), then checks every comparison in CHECKS, each "left op right" where left and
# right are keys of the output or numbers, and op is one of < <= > >=. An optional "+ number" or "- number"
# after right shifts it: "adam_accuracy >= gd_accuracy + 0.10".
#
#   cmake -DEXE=path -DOUT=dir -DARGS="--epochs|50" -DKEYS="he_test_accuracy"
#         -DCHECKS="he_test_accuracy >= 0.95|zeros_test_accuracy <= 0.6" -P lesson.cmake
# Lists are separated by | (a ; would be split by add_test).
include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)  # runs it; checks status, keys, files
string(REPLACE "|" ";" checks "${CHECKS}")

# The value of a key (its last line in the output) or the number itself, as text.
function(lesson_value operand out)
  if(operand MATCHES "^[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?$")
    set(text "${operand}")
  else()
    string(REGEX MATCHALL "(^|\n)${operand}: [^\n]+" found "${stdout}")
    if(NOT found)
      message(FATAL_ERROR "check '${check}': no '${operand}: ...' line in the output")
    endif()
    list(GET found -1 line)
    string(REGEX REPLACE "^\n?${operand}: ([^ \n]+).*$" "\\1" text "${line}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# cmake's math has integers only: the comparison of two decimals is awk's (always there).
foreach(check IN LISTS checks)
  if(NOT check MATCHES "^ *([A-Za-z0-9_.+-]+) *(<=|>=|<|>) *([A-Za-z0-9_.]+) *(([-+]) *([0-9.eE-]+))? *$")
    message(FATAL_ERROR "lesson.cmake: cannot read the check '${check}'")
  endif()
  set(left "${CMAKE_MATCH_1}")
  set(op "${CMAKE_MATCH_2}")
  set(right "${CMAKE_MATCH_3}")
  set(shift_sign "${CMAKE_MATCH_5}")
  set(shift "${CMAKE_MATCH_6}")
  if(shift STREQUAL "")
    set(shift 0)
    set(shift_sign "+")
  endif()
  lesson_value("${left}" a)
  lesson_value("${right}" b)
  execute_process(COMMAND awk "BEGIN { a = ${a}; b = ${b} ${shift_sign} ${shift}; exit !(a ${op} b) }"
                  RESULT_VARIABLE holds)
  if(NOT holds STREQUAL "0")
    message(FATAL_ERROR "the lesson does not hold: ${check} (${left} = ${a}, ${right} = ${b}${shift_sign}${shift})")
  endif()
  message("holds: ${check} (${a} ${op} ${b} ${shift_sign} ${shift})")
endforeach()
