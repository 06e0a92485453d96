# Compiler settings shared by every target of the project.
add_library(hiegate_options INTERFACE)
target_compile_options(hiegate_options INTERFACE -Wall -Wextra -Wpedantic
  -Wnon-virtual-dtor -Wcast-qual -Wformat=2)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(hiegate_options INTERFACE -Wshadow=local)
endif()
if(HIEGATE_WERROR)
  target_compile_options(hiegate_options INTERFACE -Werror)
endif()
target_compile_definitions(hiegate_options INTERFACE
  HIEGATE_VERSION="${PROJECT_VERSION}" _FILE_OFFSET_BITS=64)
# Hardening of the binaries themselves (Debian's dpkg-buildflags adds the same).
target_compile_options(hiegate_options INTERFACE -fstack-protector-strong -fno-plt)
target_link_options(hiegate_options INTERFACE -Wl,-z,relro -Wl,-z,now)

if(HIEGATE_SANITIZE)
  target_compile_options(hiegate_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # GCC 12 reports false maybe-uninitialized positives inside libstdc++
  # (std::regex, std::function) when instrumented.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(hiegate_options INTERFACE -Wno-maybe-uninitialized)
  endif()
  target_link_options(hiegate_options INTERFACE -fsanitize=address,undefined)
endif()

# libFuzzer builds (scripts/fuzz, clang only): coverage instrumentation everywhere.
if(HIEGATE_FUZZ)
  target_compile_options(hiegate_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(hiegate_options INTERFACE -fsanitize=address,undefined)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

# hiegate_library(NAME <name> DEPS <targets...>)
# One static library per top-level folder: public headers under include/,
# sources (and private headers) under src/. Sources are globbed so that a new
# file in src/ needs no edit here.
function(hiegate_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(hiegate_${name} STATIC ${srcs})
  add_library(hiegate::${name} ALIAS hiegate_${name})
  target_include_directories(hiegate_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(hiegate_${name} PUBLIC ${ARG_DEPS} PRIVATE hiegate_options ${ARG_PRIVATE_DEPS})
endfunction()
