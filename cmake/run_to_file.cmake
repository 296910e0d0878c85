# run_to_file.cmake -- run EXE ARG and write its standard output to OUT (build-time generators).
# Inputs: EXE, ARG, OUT. Fails the build when the program fails or prints nothing.
execute_process(COMMAND ${EXE} ${ARG} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} ${ARG} failed (${rc})")
endif()
file(SIZE ${OUT}.tmp size)
if(size EQUAL 0)
    message(FATAL_ERROR "${EXE} ${ARG} printed nothing")
endif()
file(RENAME ${OUT}.tmp ${OUT})
