#!/usr/bin/env bash
# test_build.sh -- the build as a packager or a new user meets it, on a copy of the source tree:
#
#   build_default_sees_runtime_libraries_only  the default configure and build see only the
#       runtime libraries (pkg-config is given the .pc files of libpq, libyaml and cJSON, and
#       of what libpq's own file requires) and succeed: no cmocka, no test built
#   build_tests_need_cmocka  with -DBUILD_TESTING=ON the same configure fails, naming cmocka
#   build_missing_test_source_refused  a test listed in tests/CMakeLists.txt whose source is
#       missing is a configure error
#   build_binary_links_runtime_libraries_only  the binary needs libpq, libyaml, cJSON and
#       libc, nothing more (readelf NEEDED), and links nothing it does not use (ldd -u)
#   build_install_puts_files_in_place  `cmake --install` with a prefix puts each file in its
#       FHS place, and the unit's ExecStart= names the binary where it was installed
#
# Needs cmake, a C compiler, pkg-config and readelf; no database.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_build cmake pkg-config readelf

SRCCOPY=$WORK/src
B=$WORK/build
PC=$WORK/pkgconfig

# A copy of the source tree without build output (so that a scenario can edit it).
mkdir "$SRCCOPY"
tar -C "$CO_SOURCE_DIR" --exclude='./build*' --exclude=./.local --exclude=./outputs --exclude=./.git \
    -cf - . | tar -C "$SRCCOPY" -xf -

# Only the runtime libraries' pkg-config files.
mkdir "$PC"
for mod in libpq yaml-0.1 libcjson $(pkg-config --print-requires-private libpq | awk '{print $1}'); do
    dir=$(pkg-config --variable pcfiledir "$mod") || { fail "pkg-config knows no $mod"; continue; }
    cp "$dir/$mod.pc" "$PC/"
done
echo "pkg-config sees: $(cd "$PC" && ls | tr '\n' ' ')"
# runtime_only CMD...: CMD with only the runtime libraries' .pc files
runtime_only() { PKG_CONFIG_LIBDIR=$PC PKG_CONFIG_PATH="" "$@"; }

# default_build: the default configure and build of the copy, with the runtime libraries
# only; once (the scenarios that look at the binary need it).
BUILT=
default_build() {
    [[ -z $BUILT ]] || return "$BUILT"
    BUILT=1
    if ! runtime_only cmake -S "$SRCCOPY" -B "$B" -DCO_WERROR=ON >"$WORK/configure.log" 2>&1; then
        fail "default configure failed with the runtime libraries only:
$(tail -20 "$WORK/configure.log")"
        return 1
    fi
    pass "default configure with the runtime libraries only"
    if ! runtime_only nice cmake --build "$B" -j"$(nproc)" >"$WORK/build.log" 2>&1; then
        fail "default build failed:
$(tail -30 "$WORK/build.log")"
        return 1
    fi
    pass "default build"
    BUILT=0
}

build_default_sees_runtime_libraries_only() {
    test_begin "the default configure and build, with the runtime libraries only"
    check "the restricted pkg-config does not find cmocka" bash -c '! PKG_CONFIG_LIBDIR=$1 PKG_CONFIG_PATH= pkg-config --exists cmocka' _ "$PC"
    default_build || return
    check "a binary was built" test -x "$B/creatoros-agent"
    assert_eq "no test built by default" "" "$(ls "$B"/tests/test_* 2>/dev/null)"
    check "the default configure did not look for cmocka" bash -c '! grep -q cmocka "$1"' _ "$B/CMakeCache.txt"
}

build_tests_need_cmocka() {
    test_begin "-DBUILD_TESTING=ON without cmocka fails, naming cmocka"
    if runtime_only cmake -S "$SRCCOPY" -B "$WORK/build-tests" -DBUILD_TESTING=ON >"$WORK/tests.log" 2>&1; then
        fail "-DBUILD_TESTING=ON configured without cmocka"
    else
        assert_contains "the configure error names cmocka" cmocka "$(cat "$WORK/tests.log")"
    fi
}

build_missing_test_source_refused() {
    test_begin "a listed test without a source is a configure error naming it"
    local S=$WORK/src-missing
    cp -a "$SRCCOPY" "$S"
    echo 'co_add_test(test_nowhere co_agent)' >>"$S/tests/CMakeLists.txt"
    if cmake -S "$S" -B "$WORK/build-missing" -DBUILD_TESTING=ON >"$WORK/missing.log" 2>&1; then
        fail "a listed test without its source configured"
    else
        assert_contains "the error names tests/test_nowhere.c" 'tests/test_nowhere.c is missing' \
            "$(tr -s ' \n' ' ' <"$WORK/missing.log")"
    fi
}

build_binary_links_runtime_libraries_only() {
    test_begin "what the binary links"
    default_build || return
    local needed extra
    needed=$(readelf -d "$B/creatoros-agent" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
    extra=$(tr ' ' '\n' <<<"$needed" | grep -Ev '^(libpq\.so\.5|libyaml-0\.so\.2|libcjson\.so\.1|libc\.so\.6|)$')
    assert_eq "NEEDED is libpq, libyaml, cJSON and libc ($needed)" "" "$extra"
    assert_eq "no unused direct dependency (ldd -u)" "" \
        "$(ldd -u -r "$B/creatoros-agent" 2>&1 | grep -v '^Unused direct dependencies:' | sed '/^[[:space:]]*$/d')"
}

build_install_puts_files_in_place() {
    test_begin "cmake --install"
    default_build || return
    local P=$WORK/prefix f exec_line
    if ! cmake --install "$B" --prefix "$P" >"$WORK/install.log" 2>&1; then
        fail "cmake --install failed: $(cat "$WORK/install.log")"
        return
    fi
    pass "cmake --install --prefix"
    for f in bin/creatoros-agent lib/systemd/system/creatoros-agent.service \
        lib/sysusers.d/creatoros-agent.conf share/man/man1/creatoros-agent.1.gz \
        share/bash-completion/completions/creatoros-agent \
        share/doc/creatoros-agent/examples/agent.env.example share/doc/creatoros-agent/CONTRACT.md; do
        check "installed $f" test -f "$P/$f"
    done
    exec_line=$(grep '^ExecStart=' "$P/lib/systemd/system/creatoros-agent.service")
    assert_match "the installed unit's ExecStart= names $P/bin/creatoros-agent" \
        "^ExecStart=$P/bin/creatoros-agent watch " "$exec_line"
    assert_contains "the installed man page is the generated one" 'rescan\-interval' \
        "$(zcat "$P/share/man/man1/creatoros-agent.1.gz")"
}

lib_run build_default_sees_runtime_libraries_only build_tests_need_cmocka \
    build_missing_test_source_refused build_binary_links_runtime_libraries_only \
    build_install_puts_files_in_place
lib_finish
