# check_data_skip.cmake: the ctest data_skip. Every test that needs the genuine data, run with
# DC_SHARED_DATA naming a folder that does not exist, must run its other cases, print why the
# data cases are left out (naming the missing folder) and exit 77 (ctest's SKIP_RETURN_CODE);
# with DC_REQUIRE_DATA=1 it must fail instead. It does not check the data cases themselves.
#
# cmake -DTESTS=<bin|bin...> -DMISSING=<folder that does not exist> -DENV=<VAR=value|...> -P check_data_skip.cmake
string(REPLACE "|" ";" TESTS "${TESTS}")
string(REPLACE "|" ";" ENV "${ENV}")
if(EXISTS "${MISSING}")
  message(FATAL_ERROR "data_skip: ${MISSING} exists; it must name a missing folder")
endif()
set(fails 0)
foreach(bin IN LISTS TESTS)
  get_filename_component(name "${bin}" NAME)
  foreach(require 0 1)
    execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=DC_REQUIRE_DATA ${ENV}
                            DC_SHARED_DATA=${MISSING} DC_REQUIRE_DATA=${require} ${bin}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
    string(FIND "${out}" "${name}: " at_name)
    string(FIND "${out}" "skipped: the genuine data folder ${MISSING}/" at_reason)
    string(FIND "${out}" "DC_REQUIRE_DATA is set, so this is a failure" at_required)
    if(require EQUAL 0)
      set(want 77)
    else()
      set(want 1)
    endif()
    if(NOT rc STREQUAL "${want}" OR at_name EQUAL -1 OR at_reason EQUAL -1
       OR (require EQUAL 1 AND at_required EQUAL -1))
      message(SEND_ERROR "data_skip: ${name} with DC_REQUIRE_DATA=${require}: exit ${rc} (want ${want}) "
                         "or no line naming the missing folder:\n${out}${err}")
      math(EXPR fails "${fails} + 1")
    else()
      message(STATUS "data_skip: ${name} DC_REQUIRE_DATA=${require}: exit ${rc}, reason printed")
    endif()
  endforeach()
endforeach()
if(fails GREATER 0)
  message(FATAL_ERROR "data_skip: ${fails} failure(s)")
endif()
