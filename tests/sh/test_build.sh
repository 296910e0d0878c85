#!/usr/bin/env bash
# test_build.sh -- the build as a packager or a new user meets it, on a copy of the source tree:
#   1 the default configure and build see only the runtime libraries (pkg-config is given
#     the .pc files of libpq, libyaml and cJSON, and of what libpq's own file requires)
#     and succeed: no cmocka, no test built;
#   2 with -DBUILD_TESTING=ON the same configure fails, naming cmocka;
#   3 a test listed in tests/CMakeLists.txt whose source is missing is a configure error;
#   4 the binary needs libpq, libyaml, cJSON and libc, nothing more (readelf NEEDED), and
#     links nothing it does not use (ldd -u);
#   5 `cmake --install` with a prefix puts each file in its FHS place, and the unit's
#     ExecStart= names the binary where it was installed.
#
# Needs cmake, a C compiler, pkg-config and readelf; no database.
set -uo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
failures=0
oks=0
ok() { oks=$((oks + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

WORK=$(mktemp -d /tmp/co-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A copy of the source tree without build output (so that case 3 can edit it).
mkdir "$WORK/src"
tar -C "$SRC" --exclude='./build*' --exclude=./.local --exclude=./outputs --exclude=./.git \
    -cf - . | tar -C "$WORK/src" -xf -

# Only the runtime libraries' pkg-config files.
PC=$WORK/pkgconfig
mkdir "$PC"
for mod in libpq yaml-0.1 libcjson $(pkg-config --print-requires-private libpq | awk '{print $1}'); do
    dir=$(pkg-config --variable pcfiledir "$mod") || { fail "pkg-config knows no $mod"; continue; }
    cp "$dir/$mod.pc" "$PC/"
done
export PKG_CONFIG_LIBDIR=$PC PKG_CONFIG_PATH=
if pkg-config --exists cmocka; then
    fail "the restricted pkg-config still finds cmocka"
fi
echo "pkg-config sees: $(cd "$PC" && ls | tr '\n' ' ')"

# ---- 1. default configure and build ---------------------------------------------------------
B=$WORK/build
if cmake -S "$WORK/src" -B "$B" -DCO_WERROR=ON >"$WORK/configure.log" 2>&1; then
    ok "default configure with the runtime libraries only"
else
    tail -20 "$WORK/configure.log" >&2
    fail "default configure failed with the runtime libraries only"
fi
if nice cmake --build "$B" -j"$(nproc)" >"$WORK/build.log" 2>&1; then
    ok "default build"
else
    tail -30 "$WORK/build.log" >&2
    fail "default build failed"
fi
[[ -x $B/creatoros-agent ]] || fail "no binary built"
if ls "$B"/tests/test_* >/dev/null 2>&1; then
    fail "the default build built tests: $(ls "$B"/tests)"
else
    ok "no test built by default"
fi
grep -q 'cmocka' "$B/CMakeCache.txt" && fail "the default configure looked for cmocka"

# ---- 2. tests need cmocka ---------------------------------------------------------------------
if cmake -S "$WORK/src" -B "$WORK/build-tests" -DBUILD_TESTING=ON >"$WORK/tests.log" 2>&1; then
    fail "-DBUILD_TESTING=ON configured without cmocka"
elif grep -q cmocka "$WORK/tests.log"; then
    ok "-DBUILD_TESTING=ON without cmocka fails, naming cmocka"
else
    fail "-DBUILD_TESTING=ON failed without naming cmocka: $(tail -5 "$WORK/tests.log")"
fi
unset PKG_CONFIG_LIBDIR PKG_CONFIG_PATH

# ---- 3. a listed test without a source --------------------------------------------------------
echo 'co_add_test(test_nowhere co_agent)' >>"$WORK/src/tests/CMakeLists.txt"
if cmake -S "$WORK/src" -B "$WORK/build-missing" -DBUILD_TESTING=ON >"$WORK/missing.log" 2>&1; then
    fail "a listed test without its source configured"
elif tr -s ' \n' ' ' <"$WORK/missing.log" | grep -q 'tests/test_nowhere.c is missing'; then
    ok "a listed test without its source is a configure error naming it"
else
    fail "configure failed, but not naming tests/test_nowhere.c: $(grep -A3 'Error' "$WORK/missing.log" | head -5)"
fi

# ---- 4. what the binary links ------------------------------------------------------------------
needed=$(readelf -d "$B/creatoros-agent" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
extra=$(tr ' ' '\n' <<<"$needed" | grep -Ev '^(libpq\.so\.5|libyaml-0\.so\.2|libcjson\.so\.1|libc\.so\.6|)$')
if [[ -z $extra ]]; then
    ok "NEEDED: $needed"
else
    fail "the binary links more than libpq, libyaml, cJSON and libc: $extra"
fi
unused=$(ldd -u -r "$B/creatoros-agent" 2>&1 | grep -v '^Unused direct dependencies:' | sed '/^[[:space:]]*$/d')
if [[ -z $unused ]]; then
    ok "no unused direct dependency (ldd -u)"
else
    fail "linked but unused: $unused"
fi

# ---- 5. cmake --install ------------------------------------------------------------------------
P=$WORK/prefix
if cmake --install "$B" --prefix "$P" >"$WORK/install.log" 2>&1; then
    ok "cmake --install --prefix"
else
    cat "$WORK/install.log" >&2
    fail "cmake --install failed"
fi
for f in bin/creatoros-agent lib/systemd/system/creatoros-agent.service \
    lib/sysusers.d/creatoros-agent.conf share/man/man1/creatoros-agent.1.gz \
    share/bash-completion/completions/creatoros-agent \
    share/doc/creatoros-agent/examples/agent.env.example share/doc/creatoros-agent/CONTRACT.md; do
    if [[ -f $P/$f ]]; then ok "installed $f"; else fail "not installed: $f"; fi
done
exec_line=$(grep '^ExecStart=' "$P/lib/systemd/system/creatoros-agent.service")
if [[ $exec_line == "ExecStart=$P/bin/creatoros-agent watch "* ]]; then
    ok "the installed unit's $exec_line"
else
    fail "the installed unit's ExecStart= does not name $P/bin/creatoros-agent: $exec_line"
fi
if zcat "$P/share/man/man1/creatoros-agent.1.gz" | grep -q -- 'rescan\\-interval'; then
    ok "the installed man page is the generated one"
else
    fail "the installed man page lacks --rescan-interval"
fi

# shellcheck source=tests/sh/skip_lib.sh
. "$SRC/tests/sh/skip_lib.sh"
summary_line test_build "$oks" "$failures"
