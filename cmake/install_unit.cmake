# install_unit.cmake -- install deploy/creatoros-agent.service with ExecStart= naming the binary
# where this installation puts it. Included by the install script (cmake --install, cpack), so
# CMAKE_INSTALL_PREFIX and DESTDIR are the ones in force at install time.
# Inputs: CO_UNIT_SRC, CO_UNIT_TMP (a scratch path), CO_UNIT_DIR, CO_BINDIR (relative to the
# prefix, or absolute).
if(IS_ABSOLUTE "${CO_BINDIR}")
    set(bindir "${CO_BINDIR}")
else()
    set(bindir "${CMAKE_INSTALL_PREFIX}/${CO_BINDIR}")
endif()
if(IS_ABSOLUTE "${CO_UNIT_DIR}")
    set(unitdir "${CO_UNIT_DIR}")
else()
    set(unitdir "${CMAKE_INSTALL_PREFIX}/${CO_UNIT_DIR}")
endif()
file(READ "${CO_UNIT_SRC}" unit)
# The committed unit names /usr/local/bin (a manual install); exactly one ExecStart= line.
string(REGEX MATCHALL "\nExecStart=/usr/local/bin/creatoros-agent " found "${unit}")
list(LENGTH found n)
if(NOT n EQUAL 1)
    message(FATAL_ERROR "${CO_UNIT_SRC}: expected one line 'ExecStart=/usr/local/bin/creatoros-agent ...'")
endif()
string(REPLACE "\nExecStart=/usr/local/bin/creatoros-agent "
               "\nExecStart=${bindir}/creatoros-agent " unit "${unit}")
get_filename_component(tmpdir "${CO_UNIT_TMP}" DIRECTORY)
file(MAKE_DIRECTORY "${tmpdir}")
file(WRITE "${CO_UNIT_TMP}" "${unit}")
file(INSTALL DESTINATION "${unitdir}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
     WORLD_READ FILES "${CO_UNIT_TMP}")
