# ctest driver (cmake -P): installs the MLE build at MLE_BUILD_DIR into a
# scratch prefix, then configures, builds and runs the consumer project
# against it. Expects MLE_BUILD_DIR, MLE_SOURCE_DIR, WORK_DIR, C_COMPILER
# and EXPECTED_VERSION.
set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

run("${CMAKE_COMMAND}" --install "${MLE_BUILD_DIR}" --prefix "${prefix}")
run("${CMAKE_COMMAND}" -S "${MLE_SOURCE_DIR}/tests/cmake_consumer" -B "${build}"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_C_COMPILER=${C_COMPILER}")
run("${CMAKE_COMMAND}" --build "${build}")
run("${build}/consumer")
string(STRIP "${out}" out)
if(NOT out STREQUAL EXPECTED_VERSION)
  message(FATAL_ERROR "consumer printed '${out}', want '${EXPECTED_VERSION}'")
endif()
message(STATUS "find_package(mle) consumer works: libmle ${out}")
file(REMOVE_RECURSE "${WORK_DIR}")
