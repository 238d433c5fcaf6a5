# Compiles SOURCE with -DCOMPILE_FAIL_ARGUMENT=<ARGUMENT> and the include flags INCLUDES
# (|-separated), and passes only if the compiler refuses it with EXPECT in its message.
string(REPLACE "|" ";" includes "${INCLUDES}")
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only ${includes}
                        "-DCOMPILE_FAIL_ARGUMENT=${ARGUMENT}" ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "compile_fail: ${SOURCE} compiled with ${ARGUMENT}, but must not")
endif()
string(FIND "${err}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "compile_fail: refused, but without \"${EXPECT}\":\n${err}")
endif()
message(STATUS "compile_fail: refused with \"${EXPECT}\"")
