# ctest driver (cmake -P): installs the MLE build at MLE_BUILD_DIR into a
# scratch prefix, then uses the install as a user would: a CMake project
# through find_package, a plain Makefile-style build through pkg-config, the
# installed mle command, and MLE as a subproject (add_subdirectory: no tests,
# no -Werror). Expects MLE_BUILD_DIR, MLE_SOURCE_DIR, WORK_DIR, C_COMPILER,
# EXPECTED_VERSION, SONAME and MLE_LIB (the built library).
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

function(expect_version what)
  string(STRIP "${out}" got)
  if(NOT got STREQUAL EXPECTED_VERSION)
    message(FATAL_ERROR "${what} printed '${got}', want '${EXPECTED_VERSION}'")
  endif()
endfunction()

run("${CMAKE_COMMAND}" --install "${MLE_BUILD_DIR}" --prefix "${prefix}")
include(GNUInstallDirs)
set(libdir "${prefix}/${CMAKE_INSTALL_LIBDIR}")

# The library under its SONAME, with the -lmle link beside it.
if(NOT EXISTS "${libdir}/${SONAME}" OR NOT IS_SYMLINK "${libdir}/libmle.so")
  message(FATAL_ERROR "the install lacks ${libdir}/${SONAME} or the libmle.so link to it")
endif()
file(READ_SYMLINK "${libdir}/libmle.so" target)
if(NOT target STREQUAL SONAME)
  message(FATAL_ERROR "libmle.so points to ${target}, want ${SONAME}")
endif()
run(readelf -d "${libdir}/${SONAME}")
if(NOT out MATCHES "Library soname: \\[${SONAME}\\]")
  message(FATAL_ERROR "${SONAME} does not carry its SONAME:\n${out}")
endif()

# find_package(mle)
run("${CMAKE_COMMAND}" -S "${MLE_SOURCE_DIR}/tests/cmake_consumer" -B "${build}"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_C_COMPILER=${C_COMPILER}")
run("${CMAKE_COMMAND}" --build "${build}")
run("${build}/consumer")
expect_version("the find_package consumer")
run(readelf -d "${build}/consumer")
if(NOT out MATCHES "Shared library: \\[${SONAME}\\]")
  message(FATAL_ERROR "the consumer does not depend on ${SONAME}:\n${out}")
endif()

# pkg-config, as a Makefile would use it (the rpath: the prefix is not a system one).
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
run(pkg-config --modversion mle)
expect_version("pkg-config --modversion mle")
run(pkg-config --cflags --libs mle)
separate_arguments(pc_flags UNIX_COMMAND "${out}")
run(pkg-config --variable=libdir mle)
string(STRIP "${out}" pc_libdir)
run("${C_COMPILER}" "${MLE_SOURCE_DIR}/tests/cmake_consumer/main.c" ${pc_flags} "-Wl,-rpath,${pc_libdir}"
    -o "${WORK_DIR}/pc_consumer")
run("${WORK_DIR}/pc_consumer")
expect_version("the pkg-config consumer")

# The installed CLI.
if(EXISTS "${prefix}/${CMAKE_INSTALL_BINDIR}/mle")
  run("${prefix}/${CMAKE_INSTALL_BINDIR}/mle" --version)
  if(NOT out MATCHES "^mle ${EXPECTED_VERSION} ")
    message(FATAL_ERROR "the installed mle --version printed '${out}'")
  endif()
else()
  message(FATAL_ERROR "cmake --install did not install the mle command")
endif()

# As a subproject: only the library target, no tests, no -Werror.
file(MAKE_DIRECTORY "${WORK_DIR}/sub")
file(WRITE "${WORK_DIR}/sub/CMakeLists.txt" "cmake_minimum_required(VERSION 3.16)
project(uses_mle LANGUAGES C CXX)
add_subdirectory(\"${MLE_SOURCE_DIR}\" mle)
add_executable(consumer \"${MLE_SOURCE_DIR}/tests/cmake_consumer/main.c\")
target_link_libraries(consumer PRIVATE mle::mle)
if(TARGET test_api OR MLE_BUILD_TESTS OR MLE_BUILD_CLI)
  message(FATAL_ERROR \"MLE built its tests or its CLI as a subproject\")
endif()
")
run("${CMAKE_COMMAND}" -S "${WORK_DIR}/sub" -B "${WORK_DIR}/sub/build" "-DCMAKE_C_COMPILER=${C_COMPILER}"
    "-DMLE_PREBUILT_LIB=${MLE_LIB}")
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/sub/build")
run("${WORK_DIR}/sub/build/consumer")
expect_version("the add_subdirectory consumer")

message(STATUS "installed MLE works through find_package, pkg-config, the CLI and add_subdirectory: libmle ${EXPECTED_VERSION}")
file(REMOVE_RECURSE "${WORK_DIR}")
