# Debian package of shadowmeter (CPack DEB): `cpack -G DEB` in the build directory, after building
# shadowmeter-agent and shadowmeter-collector. Included from the top CMakeLists.txt right after
# project(), because the prefix below is compiled into the agent (where it finds catalog.yaml).
#
# Layout: binaries in /usr/bin, data in /usr/share/shadowmeter, units in /lib/systemd/system,
# conffiles /etc/shadowmeter/{agent,collector}.yaml; the postinst creates the system user
# `shadowmeter`, /var/lib/shadowmeter (agent, root 0700), /var/lib/shadowmeter-collector
# (collector, shadowmeter 0750) and a first token pair. tests/packaging/test_deb.py installs the
# package into a fresh Debian 12 and runs lintian on it.

# A package installs under /usr, and so does a plain `cmake --install` of a fresh build directory
# unless CMAKE_INSTALL_PREFIX is given.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "Install prefix" FORCE)
endif()

# cpack installs what is built; it must not rebuild the whole tree (tests, benchmarks) first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(SM_DEB_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SM_DEB_OUT ${CMAKE_BINARY_DIR}/packaging/deb)
file(MAKE_DIRECTORY ${SM_DEB_OUT})

# Debian wants changelog and man pages compressed with gzip -9n (no name or time stamp), so the
# package is reproducible.
find_program(SM_GZIP gzip REQUIRED)
function(sm_deb_gzip src dst)
  execute_process(COMMAND ${SM_GZIP} -9nc ${src} OUTPUT_FILE ${dst} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${src} failed")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
endfunction()
sm_deb_gzip(${SM_DEB_DIR}/changelog ${SM_DEB_OUT}/changelog.gz)
sm_deb_gzip(${SM_DEB_DIR}/man/shadowmeter-agent.1 ${SM_DEB_OUT}/shadowmeter-agent.1.gz)
sm_deb_gzip(${SM_DEB_DIR}/man/shadowmeter-collector.1 ${SM_DEB_OUT}/shadowmeter-collector.1.gz)

file(STRINGS ${SM_DEB_DIR}/changelog sm_changelog_head LIMIT_COUNT 1)
if(NOT sm_changelog_head MATCHES "^shadowmeter \\(${PROJECT_VERSION}\\) ")
  message(WARNING "packaging/deb/changelog: its first entry is not version ${PROJECT_VERSION}; add one")
endif()

# Units come from systemd/ (OPTIONAL: the tree builds before they exist; the package test checks
# they are in the package).
install(FILES ${CMAKE_SOURCE_DIR}/systemd/shadowmeter-agent.service ${CMAKE_SOURCE_DIR}/systemd/shadowmeter-collector.service
  DESTINATION /lib/systemd/system PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ OPTIONAL)
install(FILES ${SM_DEB_DIR}/etc/agent.yaml ${SM_DEB_DIR}/etc/collector.yaml
  DESTINATION /etc/shadowmeter PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${SM_DEB_DIR}/copyright ${SM_DEB_OUT}/changelog.gz DESTINATION share/doc/shadowmeter)
install(FILES ${CMAKE_SOURCE_DIR}/agent/config/agent.example.yaml ${CMAKE_SOURCE_DIR}/collectors/config/collector.example.yaml
  DESTINATION share/doc/shadowmeter/examples)
install(FILES ${SM_DEB_OUT}/shadowmeter-agent.1.gz ${SM_DEB_OUT}/shadowmeter-collector.1.gz DESTINATION share/man/man1)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shadowmeter)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Shadowmeter maintainers <maintainers@shadowmeter.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "AI API usage metering with eBPF (agent and collector)")
set(CPACK_PACKAGE_DESCRIPTION "shadowmeter-agent reads the plaintext of outbound HTTPS calls with
eBPF uprobes on TLS libraries, recognises calls to AI providers (OpenAI,
Anthropic, Gemini, Bedrock, Azure OpenAI and others) and reports one usage
event per call with tokens, estimated cost and the process, container or pod
that made it, without changes to the applications. API keys are recorded
only as keyed fingerprints; prompts and completions are not stored.
shadowmeter-collector receives these events over OTLP/HTTP and stores them
in SQLite or PostgreSQL behind a query API.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/shadowmeter/shadowmeter")
# Shared-library dependencies come from dpkg-shlibdeps; adduser is for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${SM_DEB_DIR}/control/conffiles ${SM_DEB_DIR}/control/postinst ${SM_DEB_DIR}/control/prerm ${SM_DEB_DIR}/control/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
