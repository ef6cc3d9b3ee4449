# check_install.cmake: the install test. Installs the build tree into a scratch prefix, then
# builds and runs tests/install/consumer.c against it twice: with the flags pkg-config reads
# from dynacl.pc, and as a CMake project that calls find_package(dynacl). Also runs the
# installed `dynacl` program. Everything happens under SCRATCH; nothing outside it is touched.
#   cmake -DBUILD=<build dir> -DSRC=<tests/install> -DSCRATCH=<dir> -DCC=<C compiler>
#         -DPKG_CONFIG=<pkg-config> -DGENERATOR=<generator> [-DFLAGS=<compile and link flags>]
#         -P check_install.cmake
# FLAGS: what every program linked with this libdynacl needs (the sanitizer build's
# -fsanitize=..., whose runtime must come first), given to both consumers.
cmake_minimum_required(VERSION 3.21)
foreach(v BUILD SRC SCRATCH CC PKG_CONFIG GENERATOR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_install: -D${v}=... is required")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(RUN_OUT "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${SCRATCH})
set(prefix ${SCRATCH}/prefix)
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix})

# what must be there: the library, the program, headers of every layer, both package files
file(GLOB_RECURSE pcs ${prefix}/*/dynacl.pc)
file(GLOB_RECURSE cfgs ${prefix}/*/dynaclConfig.cmake)
file(GLOB_RECURSE libs ${prefix}/*/libdynacl.so)
foreach(f dc/dc.h dc/dc_backend_impl.h data/dc_dataset.h train/dc_train.h encoder/dc_encoder.h eval/dc_eval.h)
  if(NOT EXISTS ${prefix}/include/dynacl/${f})
    message(FATAL_ERROR "install test: include/dynacl/${f} was not installed")
  endif()
endforeach()
if(NOT pcs OR NOT cfgs OR NOT libs OR NOT EXISTS ${prefix}/bin/dynacl)
  message(FATAL_ERROR "install test: missing dynacl.pc (${pcs}), dynaclConfig.cmake (${cfgs}), "
                      "libdynacl.so (${libs}) or bin/dynacl")
endif()
if(EXISTS ${prefix}/include/dynacl/train/run_state.h OR EXISTS ${prefix}/include/dynacl/data/data_file.h)
  message(FATAL_ERROR "install test: a private header was installed")
endif()

# the installed program runs from its prefix (its RUNPATH finds the installed library)
run("bin/dynacl --version" ${prefix}/bin/dynacl --version)
message(STATUS "installed program: ${RUN_OUT}")

# 1. pkg-config
get_filename_component(pcdir ${pcs} DIRECTORY)
run("pkg-config" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} ${PKG_CONFIG} --cflags --libs dynacl)
string(STRIP "${RUN_OUT}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
get_filename_component(libdir ${libs} DIRECTORY)
separate_arguments(extra UNIX_COMMAND "${FLAGS}")
run("building consumer.c with pkg-config's flags"
    ${CC} -std=c11 ${extra} -o ${SCRATCH}/consumer_pc ${SRC}/consumer.c ${flags} -lm -Wl,-rpath,${libdir})
run("the pkg-config consumer" ${SCRATCH}/consumer_pc)
message(STATUS "pkg-config: ${RUN_OUT}")

# 2. find_package
run("configuring the find_package consumer" ${CMAKE_COMMAND} -S ${SRC} -B ${SCRATCH}/fp -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=${FLAGS}")
run("building the find_package consumer" ${CMAKE_COMMAND} --build ${SCRATCH}/fp)
run("the find_package consumer" ${SCRATCH}/fp/consumer)
message(STATUS "find_package: ${RUN_OUT}")
file(REMOVE_RECURSE ${SCRATCH})
