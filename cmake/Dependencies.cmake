# Every dependency comes from Debian 12 packages installed by scripts/setup.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(BOTAN REQUIRED IMPORTED_TARGET botan-2)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
# The daemon's allocator (docs/architecture.md, "Dependencies"). The
# sanitizers bring their own.
if(HIEGATE_JEMALLOC AND NOT HIEGATE_SANITIZE AND NOT HIEGATE_FUZZ)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
  add_library(hiegate_allocator INTERFACE)
  target_link_libraries(hiegate_allocator INTERFACE PkgConfig::JEMALLOC)
else()
  add_library(hiegate_allocator INTERFACE)
endif()
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
if(HIEGATE_TESTS)
  find_package(GTest REQUIRED)
endif()

# Boost.Asio/Beast are header-only; one interface target carries their settings.
add_library(hiegate_asio INTERFACE)
target_link_libraries(hiegate_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(hiegate_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_DISABLE_CO_AWAIT)
