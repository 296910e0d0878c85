#!/usr/bin/env bash
# test_package.sh -- the Debian package, as an operator meets it: built with `cpack -G DEB` from a
# Release build, installed with dpkg, run, then purged leaving nothing of it behind.
#
#   package_built_hardened_with_depends  the Release binary's hardening
#       (tests/sh/check_hardening.sh --fortify); Depends derived from the linked libraries
#       (libpq5, libyaml-0-2, libcjson1, libc6), no test-only library
#   package_installed_works  `dpkg -i`; `creatoros-agent --version` and a `parse` from PATH;
#       `man -w creatoros-agent` and the page listing every option of the table; the bash
#       completion completing an option; `systemd-analyze verify` on the installed unit, whose
#       ExecStart= is the installed binary; the service user created
#   package_purge_leaves_nothing  `dpkg --purge`, after which no path of `dpkg -L` remains
#       (directories shared with other packages aside)
# (The build and the installation are made once, by the first scenario that needs them.)
#
# Needs root (dpkg) and the packages deploy/test.sh installs (dpkg-dev and file for the
# dependencies, man-db, systemd). Refuses to run when creatoros-agent is already installed:
# the machine's own installation is never replaced. Runs on the same machine are serialized
# with a lock, since both would install the same package.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_package root cpack dpkg-shlibdeps file man systemd-analyze readelf flock

PKG=creatoros-agent
exec 9>/run/lock/creatoros-agent-test-package.lock
flock -w 900 9 || lib_abort "another test_package.sh held the lock for 15 minutes"
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'installed'; then
    lib_abort "$PKG is already installed on this machine; this test installs and purges it, so it stops here"
fi

INSTALLED=0
USER_BEFORE=0
getent passwd creatoros-agent >/dev/null && USER_BEFORE=1
package_cleanup() {
    if [[ $INSTALLED -eq 1 ]]; then
        dpkg --purge "$PKG" >/dev/null 2>&1 || true
    fi
    # the package keeps its system user on purge (Debian's practice); a user this test
    # brought in goes with it
    if [[ $USER_BEFORE -eq 0 ]] && getent passwd creatoros-agent >/dev/null; then
        userdel creatoros-agent >/dev/null 2>&1 || true
    fi
}
lib_on_exit package_cleanup

B=$WORK/build
DEB=
# package_build: a Release build and its .deb (DEB); once.
package_build() {
    [[ -z $DEB ]] || return 0
    echo "building a Release package in $B"
    if ! { cmake -S "$CO_SOURCE_DIR" -B "$B" -DCMAKE_BUILD_TYPE=Release -DCO_WERROR=ON &&
        nice cmake --build "$B" -j"$(nproc)" &&
        (cd "$B" && cpack -G DEB); } >"$WORK/build.log" 2>&1; then
        lib_abort "the Release build or cpack failed:
$(tail -40 "$WORK/build.log")"
    fi
    DEB=$(ls "$B"/"$PKG"_*.deb 2>/dev/null | head -1)
    [[ -f $DEB ]] || lib_abort "cpack made no .deb: $(ls "$B")"
    pass "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"
}

# package_install: dpkg -i of the .deb; once.
package_install() {
    [[ $INSTALLED -eq 0 ]] || return 0
    package_build
    if ! dpkg -i "$DEB" >"$WORK/install.log" 2>&1; then
        lib_abort "dpkg -i failed: $(cat "$WORK/install.log")"
    fi
    INSTALLED=1
    pass "dpkg -i $(basename "$DEB")"
    dpkg -L "$PKG" | sed '/^\/\.$/d' >"$WORK/files"
}

package_built_hardened_with_depends() {
    test_begin "the package: a hardened Release binary, Depends from the linked libraries"
    package_build
    local depends lib
    check "the Release binary is hardened" "$CO_SOURCE_DIR/tests/sh/check_hardening.sh" "$B/creatoros-agent" --fortify
    depends=$(dpkg-deb -f "$DEB" Depends)
    for lib in libc6 libpq5 libyaml-0-2 libcjson1; do
        check "Depends: $lib ($depends)" bash -c '[[ ", $1," == *", $2"[\ ,]* ]]' _ "$depends" "$lib"
    done
    assert_not_contains "Depends names no test-only library" cmocka "$depends"
}

package_installed_works() {
    test_begin "installed: the binary, its man page, the completion, the unit, the user"
    package_install
    local bin out page text missing=() opt got unit exec_bin
    bin=$(command -v creatoros-agent)
    assert_eq "creatoros-agent on PATH" /usr/bin/creatoros-agent "$bin"
    out=$(creatoros-agent --version)
    assert_match "creatoros-agent --version names itself and libpq" '^creatoros-agent .*' "$out"
    assert_contains "--version names libpq" libpq "$out"
    out=$(cd "$CO_SOURCE_DIR/tests/fixtures/backfill" && creatoros-agent parse --root . atendimento/lessons/aula-1.1-oi.md 2>&1)
    assert_contains "the installed binary parses a lesson" '"slug"' "$out"

    page=$(man -w creatoros-agent 2>&1)
    check "man -w creatoros-agent: $page" bash -c '[[ $1 == /usr/share/man/man1/creatoros-agent.1* && -f $1 ]]' _ "$page"
    text=$(MANWIDTH=200 man creatoros-agent 2>/dev/null | col -b)
    while read -r opt; do
        grep -q -- "$opt" <<<"$text" || missing+=("$opt")
    done < <(creatoros-agent --help-markdown | grep -oE '^\| `--[a-z-]+' | sed 's/^| `//')
    check "the man page is there" test -n "$text"
    assert_eq "the man page describes every option of the table" "" "${missing[*]}"

    got=$(bash -c 'source "$1"; COMP_WORDS=(creatoros-agent watch --metrics); COMP_CWORD=2
                   _creatoros_agent; echo "${COMPREPLY[*]}"' _ /usr/share/bash-completion/completions/creatoros-agent 2>&1)
    assert_eq "bash completion: watch --metrics<TAB>" --metrics-file "$got"

    unit=$(grep -E '/creatoros-agent\.service$' "$WORK/files" | head -1)
    if [[ -z $unit ]]; then
        fail "the package installs no creatoros-agent.service"
    else
        exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
        assert_eq "ExecStart= names the installed binary" "$bin" "$exec_bin"
        check "systemd-analyze verify $unit" systemd-analyze verify "$unit"
    fi
    check "postinst created the user creatoros-agent" getent passwd creatoros-agent
}

package_purge_leaves_nothing() {
    test_begin "dpkg --purge leaves none of the package's paths"
    package_install
    local path left=()
    check "dpkg --purge" bash -c 'dpkg --purge "$1" >"$2" 2>&1' _ "$PKG" "$WORK/purge.log"
    INSTALLED=0
    check "dpkg no longer knows $PKG" bash -c '! dpkg-query -W -f="\${Status}" "$1" 2>/dev/null | grep -q "installed\|config-files"' _ "$PKG"
    while read -r path; do
        [[ -e $path || -L $path ]] || continue
        # a directory that another package also owns (/usr/share/man/man1...) stays, rightly
        if [[ -d $path ]] && dpkg-query -S "$path" >/dev/null 2>&1; then
            continue
        fi
        left+=("$path")
    done <"$WORK/files"
    assert_eq "none of the $(wc -l <"$WORK/files") paths of dpkg -L is left after the purge" "" "${left[*]}"
}

lib_run package_built_hardened_with_depends package_installed_works package_purge_leaves_nothing
lib_finish
