# Install layout (GNUInstallDirs; the Debian package installs with prefix /usr):
#   sbin/hiegated, bin/hiegatectl, bin/hiegate-secretariat.
# The config, the unit, sysusers/tmpfiles entries and man pages are installed
# by the packaging (packaging/*.install), which owns their paths and modes.
include(GNUInstallDirs)
install(TARGETS hiegated RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS hiegatectl hiegate-secretariat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
